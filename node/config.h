// ledgerd's settings, from command-line flags and environment variables.
//
// Every flag --some-name also reads LEDGERD_SOME_NAME from the environment
// (so docker-compose can configure the node without a config file); a flag
// given on the command line wins over the variable, an empty variable is
// ignored. To add a setting: a field here and one entry in the flag table in
// config.cc.
//
// Thread safety: pure functions of their arguments.
#ifndef NODE_CONFIG_H_
#define NODE_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "node/log.h"

namespace node {

struct Config {
  std::string data_dir = "./data";
  std::string abci_addr = "127.0.0.1:26658";
  LogLevel log_level = LogLevel::kInfo;

  // State-sync snapshots (beside an engine): one every `snapshot_interval`
  // heights (0: none), the newest `snapshot_keep` kept in <data_dir>/snapshots.
  int64_t snapshot_interval = 1000;
  size_t snapshot_keep = 2;

  // --dev: the built-in single-validator block producer instead of CometBFT.
  bool dev = false;
  std::chrono::milliseconds block_interval{200};
  size_t max_block_txs = 5000;
  size_t mempool_size = 20000;

  // HTTP API.
  std::string http_addr = "127.0.0.1:9984";
  std::string comet_rpc = "http://127.0.0.1:26657";
  size_t http_max_connections = 1024;
  std::chrono::milliseconds http_read_timeout{30000};
  size_t http_max_header_bytes = 8 * 1024;
  int http_threads = 2;

  // WebSocket event stream.
  std::string ws_addr = "127.0.0.1:9985";
  // Empty: derived from ws_addr (ws://<host>:<port>/api/v1/streams/...).
  std::string advertised_ws_url;
  size_t ws_max_queue = 10000;
  size_t ws_max_connections = 10000;
  std::chrono::milliseconds ws_idle_timeout{60000};
  std::chrono::milliseconds ws_handshake_timeout{30000};
  size_t ws_max_message_bytes = 16 * 1024;
  std::string ws_tls_cert;
  std::string ws_tls_key;
};

// The stream URL the HTTP API advertises: `advertised_ws_url`, or one made
// from `ws_addr` (a wildcard host becomes "localhost"), wss:// when the stream
// serves TLS.
std::string AdvertisedStreamUrl(const Config& config);

// What the command line asked for.
struct CommandLine {
  Config config;
  bool help = false;  // --help or -h: print HelpText() and exit successfully
  std::string error;  // non-empty: a bad flag or value, for the user
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment, for ParseCommandLine.
std::optional<std::string> ProcessEnv(const std::string& name);

// Parses `args` (without the program name): "--flag value" or "--flag=value",
// over the defaults and the environment. On an unknown flag, a missing or
// invalid value, or a positional argument, returns `error` naming it.
CommandLine ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env);

// Usage text listing every flag, its variable and its default.
std::string HelpText();

}  // namespace node

#endif  // NODE_CONFIG_H_
