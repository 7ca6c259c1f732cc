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
};

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
