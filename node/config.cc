#include "node/config.h"

#include <cctype>
#include <cstdlib>
#include <string_view>

namespace node {
namespace {

// One setting: how it is named, documented, shown and applied.
struct Flag {
  std::string_view name;        // without the leading "--"
  std::string_view value_name;  // shown in the help text
  std::string_view help;
  std::string (*current)(const Config& config);
  // Sets the value; returns an error message, or "" when it was accepted.
  std::string (*apply)(const std::string& value, Config* config);
  // A switch takes no value on the command line ("--dev" means true).
  bool is_switch = false;
};

bool IsPort(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return std::stoi(std::string(text)) <= 65535;
}

// "host:port" (IPv6 hosts in brackets) or a "unix:" socket path, as both
// gRPC and CometBFT's client accept.
std::string CheckListenAddress(const std::string& value) {
  if (value.starts_with("unix:") && value.size() > 5) return "";
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || !IsPort(value.substr(colon + 1))) {
    return "expected host:port (e.g. 127.0.0.1:26658), got \"" + value + "\"";
  }
  return "";
}

std::string CheckHostPort(const std::string& value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || !IsPort(value.substr(colon + 1))) {
    return "expected host:port (e.g. 127.0.0.1:9984), got \"" + value + "\"";
  }
  return "";
}

// "250ms", "2s", "5m" or a bare number of milliseconds.
std::string ParseDuration(const std::string& value, std::chrono::milliseconds* out) {
  size_t digits = 0;
  while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) {
    ++digits;
  }
  const std::string unit = value.substr(digits);
  if (digits == 0 || digits > 9) return "expected a duration like 200ms, 2s or 5m";
  const long long number = std::stoll(value.substr(0, digits));
  if (unit.empty() || unit == "ms") {
    *out = std::chrono::milliseconds(number);
  } else if (unit == "s") {
    *out = std::chrono::seconds(number);
  } else if (unit == "m") {
    *out = std::chrono::minutes(number);
  } else {
    return "expected a duration like 200ms, 2s or 5m, got \"" + value + "\"";
  }
  return "";
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

// A positive integer no larger than `max`.
std::string ParseCount(const std::string& value, size_t max, size_t* out) {
  if (value.empty() || value.size() > 9 ||
      value.find_first_not_of("0123456789") != std::string::npos) {
    return "expected a positive integer, got \"" + value + "\"";
  }
  const size_t number = std::stoul(value);
  if (number == 0 || number > max) {
    return "expected an integer from 1 to " + std::to_string(max);
  }
  *out = number;
  return "";
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      {"data-dir", "DIR", "directory of the LevelDB ledger store (created if missing)",
       [](const Config& c) { return c.data_dir; },
       [](const std::string& v, Config* c) -> std::string {
         if (v.empty()) return "must not be empty";
         c->data_dir = v;
         return "";
       }},
      {"abci-addr", "HOST:PORT",
       "where the gRPC ABCI server listens for CometBFT (whoever reaches it drives consensus)",
       [](const Config& c) { return c.abci_addr; },
       [](const std::string& v, Config* c) -> std::string {
         std::string error = CheckListenAddress(v);
         if (error.empty()) c->abci_addr = v;
         return error;
       }},
      {"snapshot-interval", "N",
       "take a state-sync snapshot every N heights, beside an engine (0: never); new nodes "
       "restore one instead of replaying the chain (docs/network.md)",
       [](const Config& c) { return std::to_string(c.snapshot_interval); },
       [](const std::string& v, Config* c) -> std::string {
         if (v == "0") {
           c->snapshot_interval = 0;
           return "";
         }
         size_t interval = 0;
         std::string error = ParseCount(v, 100000000, &interval);
         if (!error.empty()) return error + " (or 0 for no snapshots)";
         c->snapshot_interval = static_cast<int64_t>(interval);
         return "";
       }},
      {"snapshot-keep", "K", "state-sync snapshots kept on disk, newest first",
       [](const Config& c) { return std::to_string(c.snapshot_keep); },
       [](const std::string& v, Config* c) { return ParseCount(v, 1000, &c->snapshot_keep); }},
      {"log-level", "LEVEL", "debug | info | warn | error",
       [](const Config& c) -> std::string {
         switch (c.log_level) {
           case LogLevel::kDebug:
             return "debug";
           case LogLevel::kInfo:
             return "info";
           case LogLevel::kWarn:
             return "warn";
           case LogLevel::kError:
             return "error";
         }
         return "";
       },
       [](const std::string& v, Config* c) -> std::string {
         std::optional<LogLevel> level = ParseLogLevel(v);
         if (!level) return "expected debug, info, warn or error, got \"" + v + "\"";
         c->log_level = *level;
         return "";
       }},
      {"dev", "",
       "run alone: a built-in single-validator block producer takes CometBFT's place "
       "(no consensus, no Byzantine fault tolerance); the ABCI server is not started",
       [](const Config& c) -> std::string { return c.dev ? "true" : "false"; },
       [](const std::string& v, Config* c) -> std::string {
         if (v == "true" || v == "1") {
           c->dev = true;
         } else if (v == "false" || v == "0") {
           c->dev = false;
         } else {
           return "expected true or false, got \"" + v + "\"";
         }
         return "";
       },
       /*is_switch=*/true},
      {"block-interval", "DURATION", "--dev: at most one block per interval",
       [](const Config& c) { return FormatDuration(c.block_interval); },
       [](const std::string& v, Config* c) { return ParseDuration(v, &c->block_interval); }},
      {"max-block-txs", "N", "--dev: at most N transactions per block",
       [](const Config& c) { return std::to_string(c.max_block_txs); },
       [](const std::string& v, Config* c) { return ParseCount(v, 100000, &c->max_block_txs); }},
      {"mempool-size", "N", "--dev: transactions waiting at most; more are answered 503",
       [](const Config& c) { return std::to_string(c.mempool_size); },
       [](const std::string& v, Config* c) { return ParseCount(v, 10000000, &c->mempool_size); }},
      {"http-addr", "HOST:PORT", "where the BigchainDB-compatible HTTP API listens",
       [](const Config& c) { return c.http_addr; },
       [](const std::string& v, Config* c) -> std::string {
         std::string error = CheckHostPort(v);
         if (error.empty()) c->http_addr = v;
         return error;
       }},
      {"comet-rpc", "URL", "CometBFT's RPC, where POSTed transactions are broadcast (not --dev)",
       [](const Config& c) { return c.comet_rpc; },
       [](const std::string& v, Config* c) -> std::string {
         if (!v.starts_with("http://")) return "expected http://HOST:PORT, got \"" + v + "\"";
         c->comet_rpc = v;
         return "";
       }},
      {"http-max-connections", "N", "HTTP connections served at once; more are answered 503",
       [](const Config& c) { return std::to_string(c.http_max_connections); },
       [](const std::string& v, Config* c) {
         return ParseCount(v, 1000000, &c->http_max_connections);
       }},
      {"http-read-timeout", "DURATION",
       "a request must arrive whole within this; slow or idle connections are closed",
       [](const Config& c) { return FormatDuration(c.http_read_timeout); },
       [](const std::string& v, Config* c) { return ParseDuration(v, &c->http_read_timeout); }},
      {"http-max-header-bytes", "N",
       "request line plus headers at most; a larger request head is answered 431",
       [](const Config& c) { return std::to_string(c.http_max_header_bytes); },
       [](const std::string& v, Config* c) {
         return ParseCount(v, 1 << 20, &c->http_max_header_bytes);
       }},
      {"http-threads", "N", "threads serving the HTTP API",
       [](const Config& c) { return std::to_string(c.http_threads); },
       [](const std::string& v, Config* c) -> std::string {
         size_t threads = 0;
         std::string error = ParseCount(v, 256, &threads);
         if (error.empty()) c->http_threads = static_cast<int>(threads);
         return error;
       }},
      {"ws-addr", "HOST:PORT", "where the WebSocket event stream listens",
       [](const Config& c) { return c.ws_addr; },
       [](const std::string& v, Config* c) -> std::string {
         std::string error = CheckHostPort(v);
         if (error.empty()) c->ws_addr = v;
         return error;
       }},
      {"advertised-ws-url", "URL",
       "the stream URL the HTTP API advertises (e.g. wss://ledger.example.com/api/v1/streams/"
       "valid_transactions behind a TLS proxy); empty: made from --ws-addr",
       [](const Config& c) { return c.advertised_ws_url.empty() ? "\"\"" : c.advertised_ws_url; },
       [](const std::string& v, Config* c) -> std::string {
         if (!v.starts_with("ws://") && !v.starts_with("wss://")) {
           return "expected a ws:// or wss:// URL, got \"" + v + "\"";
         }
         c->advertised_ws_url = v;
         return "";
       }},
      {"ws-max-queue", "N",
       "messages a subscriber may fall behind before it is closed with 1008 (the close "
       "reason names the after_transaction_id to resume with)",
       [](const Config& c) { return std::to_string(c.ws_max_queue); },
       [](const std::string& v, Config* c) { return ParseCount(v, 10000000, &c->ws_max_queue); }},
      {"ws-max-connections", "N", "stream subscribers at once; more are answered 503",
       [](const Config& c) { return std::to_string(c.ws_max_connections); },
       [](const std::string& v, Config* c) {
         return ParseCount(v, 1000000, &c->ws_max_connections);
       }},
      {"ws-idle-timeout", "DURATION",
       "silent subscribers are pinged after half of this and closed after all of it",
       [](const Config& c) { return FormatDuration(c.ws_idle_timeout); },
       [](const std::string& v, Config* c) { return ParseDuration(v, &c->ws_idle_timeout); }},
      {"ws-handshake-timeout", "DURATION",
       "the upgrade request (and the TLS handshake) must arrive within this, and a closing "
       "handshake finish within it; otherwise the connection is dropped",
       [](const Config& c) { return FormatDuration(c.ws_handshake_timeout); },
       [](const std::string& v, Config* c) { return ParseDuration(v, &c->ws_handshake_timeout); }},
      {"ws-max-message-bytes", "N",
       "largest message a subscriber may send; a larger one closes it with 1009",
       [](const Config& c) { return std::to_string(c.ws_max_message_bytes); },
       [](const std::string& v, Config* c) {
         return ParseCount(v, 64 << 20, &c->ws_max_message_bytes);
       }},
      {"ws-tls-cert", "FILE", "PEM certificate chain: serve wss:// (needs --ws-tls-key)",
       [](const Config& c) { return c.ws_tls_cert.empty() ? "\"\"" : c.ws_tls_cert; },
       [](const std::string& v, Config* c) -> std::string {
         c->ws_tls_cert = v;
         return "";
       }},
      {"ws-tls-key", "FILE", "PEM private key for --ws-tls-cert",
       [](const Config& c) { return c.ws_tls_key.empty() ? "\"\"" : c.ws_tls_key; },
       [](const std::string& v, Config* c) -> std::string {
         c->ws_tls_key = v;
         return "";
       }},
  };
  return flags;
}

const Flag* FindFlag(std::string_view name) {
  for (const Flag& flag : Flags()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// "data-dir" -> "LEDGERD_DATA_DIR"
std::string EnvName(std::string_view flag_name) {
  std::string env = "LEDGERD_";
  for (char c : flag_name) {
    env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

}  // namespace

std::string AdvertisedStreamUrl(const Config& config) {
  if (!config.advertised_ws_url.empty()) return config.advertised_ws_url;
  const size_t colon = config.ws_addr.rfind(':');
  std::string host = config.ws_addr.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") host = "localhost";
  const std::string scheme = config.ws_tls_cert.empty() ? "ws://" : "wss://";
  return scheme + host + config.ws_addr.substr(colon) + "/api/v1/streams/valid_transactions";
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

CommandLine ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env) {
  CommandLine result;
  for (const Flag& flag : Flags()) {
    const std::string env_name = EnvName(flag.name);
    std::optional<std::string> value = env(env_name);
    if (!value || value->empty()) continue;
    std::string error = flag.apply(*value, &result.config);
    if (!error.empty()) {
      result.error = env_name + ": " + error;
      return result;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      return result;
    }
    if (!arg.starts_with("--")) {
      result.error = "unexpected argument \"" + arg + "\" (see --help)";
      return result;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? equals : equals - 2);
    const Flag* flag = FindFlag(name);
    if (flag == nullptr) {
      result.error = "unknown flag --" + name + " (see --help)";
      return result;
    }
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (flag->is_switch) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      result.error = "--" + name + " needs a value";
      return result;
    }
    std::string error = flag->apply(value, &result.config);
    if (!error.empty()) {
      result.error = "--" + name + ": " + error;
      return result;
    }
  }
  return result;
}

std::string HelpText() {
  const Config defaults;
  std::string text =
      "Usage: ledgerd [flags]\n"
      "\n"
      "A BigchainDB 2.0-compatible ledger node. Beside CometBFT (v1.0, v0.38, v0.37)\n"
      "or Tendermint v0.34 it serves ABCI over gRPC, every line on the same port;\n"
      "with --dev it makes its own blocks as a single node. Either way it serves the\n"
      "BigchainDB HTTP API and the WebSocket event stream.\n"
      "Every flag can also be set through the environment variable shown; the\n"
      "command line wins.\n"
      "\n"
      "Flags:\n";
  for (const Flag& flag : Flags()) {
    text += "  --" + std::string(flag.name) + " " + std::string(flag.value_name) + "\n";
    text += "      " + std::string(flag.help) + "\n";
    text += "      env " + EnvName(flag.name) + ", default " + flag.current(defaults) + "\n";
  }
  text += "  --help, -h\n      print this text\n";
  return text;
}

}  // namespace node
