#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ledger/json.h"

namespace {

struct CommandResult {
  int exit_code;
  std::string out;
};

// Runs ledgerctl with `args` (a shell fragment) and captures stdout.
CommandResult Ledgerctl(const std::string& args) {
  std::string command = std::string(LEDGERCTL_PATH) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

nlohmann::json Vectors() {
  std::ifstream in(std::string(LEDGERD_TEST_DATA_DIR) + "/js-driver-vectors.json");
  return nlohmann::json::parse(in);
}

std::string CanonicalOf(const nlohmann::json& value) {
  ledger::JsonValue parsed;
  EXPECT_TRUE(ledger::ParseJson(value.dump(), &parsed).ok());
  return ledger::CanonicalJson(parsed) + "\n";
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << content;
  return path;
}

const char* kSeedA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(LedgerctlTest, KeygenWithSeedMatchesTheDriver) {
  nlohmann::json vectors = Vectors();
  CommandResult run = Ledgerctl(std::string("keygen --seed ") + kSeedA);
  ASSERT_EQ(run.exit_code, 0);
  nlohmann::json key = nlohmann::json::parse(run.out);
  EXPECT_EQ(key["public_key"], vectors["keypair_A"]["publicKey_b58"]);
  EXPECT_EQ(key["private_key"], vectors["keypair_A"]["privateKey_b58"]);
}

TEST(LedgerctlTest, KeygenMakesFreshKeys) {
  CommandResult first = Ledgerctl("keygen");
  CommandResult second = Ledgerctl("keygen");
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_NE(first.out, second.out);
}

TEST(LedgerctlTest, CreateAndTransferMatchTheDriverByteForByte) {
  nlohmann::json vectors = Vectors();
  CommandResult create = Ledgerctl(std::string("create --seed ") + kSeedA +
                         R"( --asset '{"msg":"hello bigchaindb"}' --metadata '{"n":1}')");
  ASSERT_EQ(create.exit_code, 0);
  EXPECT_EQ(create.out, CanonicalOf(vectors["create"]["signed"]));

  std::string create_file = WriteTemp("create.json", create.out);
  CommandResult transfer = Ledgerctl(std::string("transfer --private-key ") +
                           vectors["keypair_A"]["privateKey_b58"].get<std::string>() +
                           " --spend " + create_file + ":0 --output " +
                           vectors["keypair_B"]["publicKey_b58"].get<std::string>());
  ASSERT_EQ(transfer.exit_code, 0);
  EXPECT_EQ(transfer.out, CanonicalOf(vectors["transfer"]["signed"]));
}

TEST(LedgerctlTest, KeyFileTakesWhatKeygenPrinted) {
  std::string key_file =
      WriteTemp("alice.json", Ledgerctl(std::string("keygen --seed ") + kSeedA).out);
  CommandResult by_file = Ledgerctl("create --key-file " + key_file);
  CommandResult by_seed = Ledgerctl(std::string("create --seed ") + kSeedA);
  ASSERT_EQ(by_file.exit_code, 0);
  EXPECT_EQ(by_file.out, by_seed.out);
  EXPECT_EQ(Ledgerctl("create --key-file " + WriteTemp("junk.json", "{}")).exit_code, 2);
}

TEST(LedgerctlTest, ValidateAcceptsAndNamesErrors) {
  nlohmann::json vectors = Vectors();
  std::string good = WriteTemp("good.json", vectors["transfer"]["signed"].dump());
  CommandResult valid = Ledgerctl("validate " + good);
  EXPECT_EQ(valid.exit_code, 0);
  EXPECT_EQ(valid.out, "valid " + vectors["transfer"]["id"].get<std::string>() + "\n");

  nlohmann::json tampered = vectors["transfer"]["signed"];
  tampered["outputs"][0]["amount"] = "2";
  CommandResult invalid = Ledgerctl("validate " + WriteTemp("bad.json", tampered.dump()));
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.out.rfind("InvalidHash: ", 0), 0u) << invalid.out;

  CommandResult garbage = Ledgerctl("validate " + WriteTemp("garbage.json", "{\"id\":"));
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_EQ(garbage.out.rfind("MalformedTransaction: ", 0), 0u) << garbage.out;
}

TEST(LedgerctlTest, MultiKeyOutputsBecomeThresholds) {
  nlohmann::json vectors = Vectors();
  std::string keys = vectors["keypair_A"]["publicKey_b58"].get<std::string>() + "," +
                     vectors["keypair_B"]["publicKey_b58"].get<std::string>();
  CommandResult create = Ledgerctl(std::string("create --seed ") + kSeedA + " --output " + keys + ":5");
  ASSERT_EQ(create.exit_code, 0);
  nlohmann::json tx = nlohmann::json::parse(create.out);
  EXPECT_EQ(tx["outputs"][0]["amount"], "5");
  EXPECT_EQ(tx["outputs"][0]["condition"]["uri"], vectors["threshold_2_of_2"]["condition_uri"]);
  EXPECT_EQ(tx["outputs"][0]["condition"]["details"], vectors["threshold_2_of_2"]["details"]);
  EXPECT_EQ(Ledgerctl("validate " + WriteTemp("threshold.json", create.out)).exit_code, 0);
}

TEST(LedgerctlTest, BadArgumentsExitWithUsageError) {
  EXPECT_EQ(Ledgerctl("create").exit_code, 2);
  EXPECT_EQ(Ledgerctl("create --seed 00").exit_code, 2);
  EXPECT_EQ(Ledgerctl(std::string("create --seed ") + kSeedA + " --output nope").exit_code, 2);
  EXPECT_EQ(Ledgerctl(std::string("create --seed ") + kSeedA + " --metadata '[1]'").exit_code, 2);
  EXPECT_EQ(Ledgerctl("frobnicate").exit_code, 2);
  EXPECT_EQ(Ledgerctl("validate /nonexistent/file").exit_code, 2);
}

}  // namespace
