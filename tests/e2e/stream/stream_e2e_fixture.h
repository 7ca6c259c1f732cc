// What the event stream's end-to-end tests share: a fresh `ledgerd --dev`
// per test, signed transactions with what the stream must say about them, and
// the expected messages spelled out independently of the implementation.
#ifndef TESTS_E2E_STREAM_STREAM_E2E_FIXTURE_H_
#define TESTS_E2E_STREAM_STREAM_E2E_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/transaction_builder.h"
#include "tests/abci/test_ledger.h"
#include "tests/e2e/stream/dev_node.h"
#include "tests/stream/websocket_test_client.h"

namespace ledgerd_e2e {

inline constexpr char kStreamPath[] = "/api/v1/streams/valid_transactions";

// A signed transaction and what filters and messages know of it.
struct Tx {
  std::string id;
  std::string json;
  std::string asset_id;
  bool is_create = true;
  std::vector<std::string> public_keys;  // outputs' keys and inputs' owners
};

inline std::string KeyOf(const ledger::KeyPair& key) { return ledger::PublicKeyBase58(key); }

// A CREATE of one unit by and to `owner`; `nonce` makes it unique.
inline Tx NewCreate(const ledger::KeyPair& owner, const std::string& nonce) {
  const ledger_test::SignedTx signed_tx = ledger_test::SignedCreate(owner, 1, nonce);
  return Tx{signed_tx.id, signed_tx.json, signed_tx.id, true, {KeyOf(owner)}};
}

// A TRANSFER of output 0 of `spent`, owned by `owner`, to `to`.
inline Tx NewTransfer(const Tx& spent, const ledger::KeyPair& owner, const ledger::KeyPair& to) {
  const ledger_test::SignedTx signed_tx = ledger_test::SignedTransfer(
      owner, ledger_test::SignedTx{spent.id, spent.json}, 0, spent.asset_id, 1, to);
  return Tx{signed_tx.id, signed_tx.json, spent.asset_id, false, {KeyOf(owner), KeyOf(to)}};
}

// The stream's message for `tx` committed at `height`, byte for byte.
inline std::string Message(const Tx& tx, int64_t height) {
  return "{\"transaction_id\":\"" + tx.id + "\",\"asset_id\":\"" + tx.asset_id +
         "\",\"height\":" + std::to_string(height) + "}";
}

// The height a stream message names.
inline int64_t HeightIn(const std::string& message) {
  const size_t at = message.rfind("\"height\":");
  return at == std::string::npos ? -1 : std::stoll(message.substr(at + 9));
}

// The transaction id a stream message names.
inline std::string IdIn(const std::string& message) {
  const std::string key = "\"transaction_id\":\"";
  const size_t at = message.find(key);
  return at == std::string::npos ? "" : message.substr(at + key.size(), 64);
}

// A close frame's reason as a string.
template <class Client>
std::string CloseReasonOf(const Client& client) {
  const auto reason = client.close_reason().reason;
  return std::string(reason.data(), reason.size());
}

class StreamE2eTest : public ::testing::Test {
 protected:
  StreamE2eTest() : log_path_(dir_.path() + "/ledgerd.log") {}

  void TearDown() override {
    if (HasFailure() && node_) {
      std::cerr << "--- ledgerd log ---\n" << node_->LogText() << "--- end of log ---\n";
    }
    node_.reset();
  }

  // Starts `ledgerd --dev` with `flags` (see DevNode) on this test's data
  // directory. Call with ASSERT_NO_FATAL_FAILURE.
  void StartNode(std::vector<std::string> flags = {}) {
    node_ = std::make_unique<DevNode>(dir_.path() + "/data", log_path_, std::move(flags));
    ASSERT_TRUE(node_->Start()) << "ledgerd did not answer on its HTTP port";
  }

  // The stream path with `query` ("" or "?...").
  static std::string Target(const std::string& query = "") { return kStreamPath + query; }

  // Submits `tx` with `mode` and expects 202.
  void Submit(const Tx& tx, const std::string& mode = "async") {
    const HttpClient::Response response = node_->Submit(tx.json, mode);
    ASSERT_EQ(response.result_int(), 202u) << response.body();
  }

  // The messages of `txs`, with the heights the HTTP API gives for them.
  std::vector<std::string> MessagesOf(const std::vector<Tx>& txs) const {
    std::vector<std::string> messages;
    for (const Tx& tx : txs) {
      const int64_t height = node_->HeightOfTransaction(tx.id);
      EXPECT_GT(height, 0) << tx.id << " is not committed";
      messages.push_back(Message(tx, height));
    }
    return messages;
  }

  // Waits until the stream reports `count` subscribers (metrics).
  bool WaitForSubscribers(double count) const {
    return stream::testing::WaitFor(
        [&] { return node_->Metric("ledgerd_stream_subscribers").value_or(-1) == count; });
  }

  const ledger::KeyPair alice_ = ledger_test::TestKeys('a');
  const ledger::KeyPair bob_ = ledger_test::TestKeys('b');
  const ledger::KeyPair carol_ = ledger_test::TestKeys('c');
  ledger_test::TempDir dir_;
  const std::string log_path_;
  std::unique_ptr<DevNode> node_;
};

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_STREAM_STREAM_E2E_FIXTURE_H_
