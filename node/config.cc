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
      "A BigchainDB 2.0-compatible ledger node: serves CometBFT v0.38 over gRPC ABCI.\n"
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
