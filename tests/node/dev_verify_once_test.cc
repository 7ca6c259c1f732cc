// In --dev, a transaction posted over HTTP has its signatures verified once:
// the API's CheckTx, the block producer's admission, FinalizeBlock and the
// recheck all share the one cached result. Counted with the ledger's Ed25519
// verification counter, through a real node (HTTP on a free port, LevelDB in
// a temporary directory).
#include <gtest/gtest.h>

#include "api_test_util.h"
#include "ledger/crypto.h"
#include "ledger_test_util.h"
#include "node/node.h"

namespace node {
namespace {

using ledger::testing::Create;
using ledger::testing::IdOf;
using ledger::testing::TempDir;
using ledger::testing::TestKey;
using ledger::testing::Transfer;

class DevVerifyOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.dev = true;
    config.data_dir = dir_.path();
    config.http_addr = "127.0.0.1:0";
    config.ws_addr = "127.0.0.1:0";
    config.block_interval = std::chrono::milliseconds(5);
    config.log_level = LogLevel::kError;
    SetLogLevel(config.log_level);
    std::string error;
    node_ = Node::Start(config, &error);
    ASSERT_NE(node_, nullptr) << error;
  }

  TempDir dir_;
  std::unique_ptr<Node> node_;
};

TEST_F(DevVerifyOnceTest, PostedTransactionsVerifyOnceEachUntilCommitted) {
  ledger::KeyPair a = TestKey(1), b = TestKey(2);
  std::vector<std::string> creates;
  for (int i = 0; i < 10; ++i) creates.push_back(Create(a, 1, i));

  api::testing::HttpClient client(node_->http_port());
  const uint64_t before = ledger::VerifyCount();
  // async: answered at admission; the block commits them afterwards.
  for (const std::string& tx : creates) {
    EXPECT_EQ(client.Post("/api/v1/transactions?mode=async", tx).result_int(), 202u);
  }
  // commit: answered once durable, so every CREATE before it is too (the
  // producer takes the mempool in order).
  std::string last = Create(a, 1, 99);
  EXPECT_EQ(client.Post("/api/v1/transactions?mode=commit", last).result_int(), 202u);
  std::vector<std::string> transfers;
  for (const std::string& create : creates) {
    transfers.push_back(Transfer(create, 0, a, IdOf(create), b));
  }
  for (const std::string& tx : transfers) {
    EXPECT_EQ(client.Post("/api/v1/transactions?mode=commit", tx).result_int(), 202u);
  }
  EXPECT_EQ(ledger::VerifyCount() - before, creates.size() + 1 + transfers.size());
  for (const std::string& tx : transfers) {
    EXPECT_EQ(client.Get("/api/v1/transactions/" + IdOf(tx)).result_int(), 200u);
  }
}

}  // namespace
}  // namespace node
