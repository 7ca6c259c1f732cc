// ledgerd's flag and environment parsing.
#include "node/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

// An environment made of `vars` only.
node::EnvLookup Env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ConfigTest, DefaultsWithoutFlagsOrEnvironment) {
  const node::CommandLine parsed = node::ParseCommandLine({}, Env());
  ASSERT_EQ(parsed.error, "");
  EXPECT_FALSE(parsed.help);
  EXPECT_EQ(parsed.config.data_dir, "./data");
  EXPECT_EQ(parsed.config.abci_addr, "127.0.0.1:26658");
  EXPECT_EQ(parsed.config.log_level, node::LogLevel::kInfo);
}

TEST(ConfigTest, FlagsTakeSeparateOrAttachedValues) {
  const node::CommandLine parsed = node::ParseCommandLine(
      {"--data-dir", "/var/ledger", "--abci-addr=0.0.0.0:1234", "--log-level", "debug"}, Env());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.data_dir, "/var/ledger");
  EXPECT_EQ(parsed.config.abci_addr, "0.0.0.0:1234");
  EXPECT_EQ(parsed.config.log_level, node::LogLevel::kDebug);
}

TEST(ConfigTest, EveryFlagReadsItsEnvironmentVariable) {
  const node::CommandLine parsed =
      node::ParseCommandLine({}, Env({{"LEDGERD_DATA_DIR", "/data"},
                                      {"LEDGERD_ABCI_ADDR", "[::1]:26658"},
                                      {"LEDGERD_LOG_LEVEL", "warn"}}));
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.data_dir, "/data");
  EXPECT_EQ(parsed.config.abci_addr, "[::1]:26658");
  EXPECT_EQ(parsed.config.log_level, node::LogLevel::kWarn);
}

TEST(ConfigTest, CommandLineWinsOverEnvironment) {
  const node::CommandLine parsed = node::ParseCommandLine(
      {"--log-level=error"}, Env({{"LEDGERD_LOG_LEVEL", "debug"}, {"LEDGERD_DATA_DIR", "/env"}}));
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.log_level, node::LogLevel::kError);
  EXPECT_EQ(parsed.config.data_dir, "/env");
}

TEST(ConfigTest, EmptyEnvironmentVariableIsIgnored) {
  const node::CommandLine parsed = node::ParseCommandLine({}, Env({{"LEDGERD_DATA_DIR", ""}}));
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.data_dir, "./data");
}

TEST(ConfigTest, HelpIsRecognized) {
  EXPECT_TRUE(node::ParseCommandLine({"--help"}, Env()).help);
  EXPECT_TRUE(node::ParseCommandLine({"--data-dir", "x", "-h"}, Env()).help);
}

TEST(ConfigTest, HelpTextNamesEveryFlagAndVariable) {
  const std::string help = node::HelpText();
  for (const char* text : {"--data-dir", "LEDGERD_DATA_DIR", "--abci-addr", "LEDGERD_ABCI_ADDR",
                           "127.0.0.1:26658", "--log-level", "LEDGERD_LOG_LEVEL"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

TEST(ConfigTest, UnknownFlagIsAnError) {
  const node::CommandLine parsed = node::ParseCommandLine({"--data-dri", "x"}, Env());
  EXPECT_NE(parsed.error.find("unknown flag --data-dri"), std::string::npos) << parsed.error;
}

TEST(ConfigTest, PositionalArgumentIsAnError) {
  const node::CommandLine parsed = node::ParseCommandLine({"start"}, Env());
  EXPECT_NE(parsed.error.find("unexpected argument \"start\""), std::string::npos) << parsed.error;
}

TEST(ConfigTest, MissingValueIsAnError) {
  const node::CommandLine parsed = node::ParseCommandLine({"--data-dir"}, Env());
  EXPECT_EQ(parsed.error, "--data-dir needs a value");
}

TEST(ConfigTest, BadLogLevelIsAnError) {
  const node::CommandLine parsed = node::ParseCommandLine({"--log-level", "loud"}, Env());
  EXPECT_NE(parsed.error.find("--log-level"), std::string::npos) << parsed.error;
  EXPECT_NE(parsed.error.find("loud"), std::string::npos) << parsed.error;
}

TEST(ConfigTest, BadAddressIsAnError) {
  for (const char* address : {"26658", "localhost", ":26658", "host:99999", "host:port"}) {
    const node::CommandLine parsed = node::ParseCommandLine({"--abci-addr", address}, Env());
    EXPECT_NE(parsed.error.find("--abci-addr"), std::string::npos) << address;
  }
}

TEST(ConfigTest, UnixSocketAddressIsAccepted) {
  const node::CommandLine parsed =
      node::ParseCommandLine({"--abci-addr", "unix:///tmp/ledgerd.sock"}, Env());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.abci_addr, "unix:///tmp/ledgerd.sock");
}

TEST(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  const node::CommandLine parsed =
      node::ParseCommandLine({}, Env({{"LEDGERD_LOG_LEVEL", "verbose"}}));
  EXPECT_NE(parsed.error.find("LEDGERD_LOG_LEVEL"), std::string::npos) << parsed.error;
}

TEST(ConfigTest, ConnectionLimitsAreFlags) {
  const node::CommandLine defaults = node::ParseCommandLine({}, Env());
  ASSERT_EQ(defaults.error, "");
  EXPECT_EQ(defaults.config.http_max_header_bytes, 8u * 1024);
  EXPECT_EQ(defaults.config.ws_handshake_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.config.ws_max_message_bytes, 16u * 1024);

  const node::CommandLine parsed =
      node::ParseCommandLine({"--http-max-header-bytes", "2048", "--ws-handshake-timeout=2s"},
                             Env({{"LEDGERD_WS_MAX_MESSAGE_BYTES", "1024"}}));
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.config.http_max_header_bytes, 2048u);
  EXPECT_EQ(parsed.config.ws_handshake_timeout, std::chrono::seconds(2));
  EXPECT_EQ(parsed.config.ws_max_message_bytes, 1024u);

  EXPECT_NE(node::ParseCommandLine({"--ws-max-message-bytes", "0"}, Env()).error, "");
}

TEST(ConfigTest, AdvertisedStreamUrlFollowsAddressAndTls) {
  node::Config config;
  config.ws_addr = "0.0.0.0:9985";
  EXPECT_EQ(node::AdvertisedStreamUrl(config),
            "ws://localhost:9985/api/v1/streams/valid_transactions");
  config.ws_tls_cert = "/etc/ledgerd/cert.pem";
  EXPECT_EQ(node::AdvertisedStreamUrl(config),
            "wss://localhost:9985/api/v1/streams/valid_transactions");
  config.advertised_ws_url = "wss://ledger.example.com/stream";
  EXPECT_EQ(node::AdvertisedStreamUrl(config), "wss://ledger.example.com/stream");
}

TEST(ConfigTest, ParseLogLevelKnowsEveryLevel) {
  EXPECT_EQ(node::ParseLogLevel("debug"), node::LogLevel::kDebug);
  EXPECT_EQ(node::ParseLogLevel("info"), node::LogLevel::kInfo);
  EXPECT_EQ(node::ParseLogLevel("warn"), node::LogLevel::kWarn);
  EXPECT_EQ(node::ParseLogLevel("error"), node::LogLevel::kError);
  EXPECT_EQ(node::ParseLogLevel("INFO"), std::nullopt);
}

}  // namespace
