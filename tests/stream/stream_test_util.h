// Helpers for the event stream tests: a real ledger (Application + BlockStore
// on LevelDB in a temporary directory) with an EventStream attached and signed
// test transactions; the clients are in websocket_test_client.h.
#ifndef TESTS_STREAM_STREAM_TEST_UTIL_H_
#define TESTS_STREAM_STREAM_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction_builder.h"
#include "stream/event_stream.h"
#include "tests/stream/websocket_test_client.h"

namespace stream::testing {

// A directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("ledgerd-stream-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A key pair whose seed is 32 copies of `byte`.
inline ledger::KeyPair TestKey(uint8_t byte) {
  return ledger::KeyPairFromSeed(std::string(32, static_cast<char>(byte)));
}

inline std::string PublicKey(const ledger::KeyPair& key) { return ledger::PublicKeyBase58(key); }

// A signed transaction and what the stream says about it.
struct TestTransaction {
  std::string raw;
  std::string id;
  std::string asset_id;
};

inline TestTransaction Sign(ledger::JsonValue transaction,
                            const std::vector<ledger::KeyPair>& keys) {
  std::string error;
  EXPECT_TRUE(ledger::SignTransaction(&transaction, keys, &error)) << error;
  TestTransaction signed_transaction;
  signed_transaction.raw = ledger::CanonicalJson(transaction);
  signed_transaction.id = transaction.Find("id")->text();
  signed_transaction.asset_id = signed_transaction.id;
  return signed_transaction;
}

// A CREATE of one unit by and to `owner`, made unique by `nonce`.
inline TestTransaction Create(const ledger::KeyPair& owner, uint64_t nonce) {
  ledger::JsonValue data =
      ledger::JsonValue::Object({{"nonce", ledger::JsonValue::Number(std::to_string(nonce))}});
  return Sign(ledger::MakeCreate({PublicKey(owner)}, std::move(data), ledger::JsonValue::Null(),
                                 {{{PublicKey(owner)}, 1}}),
              {owner});
}

// A TRANSFER of output 0 of `spent` (owned by `owner`) to `to`.
inline TestTransaction Transfer(const TestTransaction& spent, const ledger::KeyPair& owner,
                                const ledger::KeyPair& to) {
  TestTransaction transfer =
      Sign(ledger::MakeTransfer({{spent.id, 0, {PublicKey(owner)}}}, spent.asset_id,
                                ledger::JsonValue::Null(), {{{PublicKey(to)}, 1}}),
           {owner});
  transfer.asset_id = spent.asset_id;
  return transfer;
}

// The stream's message for `transaction` at `height`, spelled out
// independently of the implementation.
inline std::string ExpectedMessage(const TestTransaction& transaction, int64_t height) {
  return "{\"transaction_id\":\"" + transaction.id + "\",\"asset_id\":\"" + transaction.asset_id +
         "\",\"height\":" + std::to_string(height) + "}";
}

// The height a stream message names.
inline int64_t HeightOf(const std::string& message) {
  const size_t at = message.rfind("\"height\":");
  return std::stoll(message.substr(at + 9));
}

// A real ledger on LevelDB with an EventStream observing it.
class StreamFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
    ASSERT_TRUE(app_->InitChain("stream-test", 1, "[]", &error)) << error;
  }

  void TearDown() override {
    app_.reset();  // before the stream it observes
    if (stream_) stream_->Stop();
  }

  // Starts an EventStream on an ephemeral port of 127.0.0.1.
  void StartStream(EventStreamOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    stream_ = std::make_unique<EventStream>(*store_, std::move(options));
    app_->AddObserver(stream_.get());
    std::string error;
    ASSERT_TRUE(stream_->Start(&error)) << error;
  }

  // Commits `transactions` as the next block; returns the messages of the
  // valid ones, in block order, and records them in all_messages_.
  std::vector<std::string> CommitBlock(const std::vector<TestTransaction>& transactions) {
    const int64_t height = store_->LastHeight() + 1;
    std::vector<std::string> raw;
    for (const TestTransaction& transaction : transactions) raw.push_back(transaction.raw);
    const ledger::FinalizedBlock finalized = app_->FinalizeBlock(height, raw);
    std::string error;
    EXPECT_TRUE(app_->Commit(&error)) << error;
    std::vector<std::string> messages;
    for (size_t i = 0; i < transactions.size(); ++i) {
      if (finalized.results[i].status.ok()) {
        messages.push_back(ExpectedMessage(transactions[i], height));
      }
    }
    all_messages_.insert(all_messages_.end(), messages.begin(), messages.end());
    return messages;
  }

  // `count` fresh CREATEs by `owner`.
  std::vector<TestTransaction> Creates(size_t count, const ledger::KeyPair& owner = TestKey(1)) {
    std::vector<TestTransaction> creates;
    for (size_t i = 0; i < count; ++i) creates.push_back(Create(owner, next_nonce_++));
    return creates;
  }

  // Messages of every valid transaction committed through CommitBlock with a
  // height of at least `from_height`.
  std::vector<std::string> MessagesFrom(int64_t from_height) const {
    std::vector<std::string> messages;
    for (const std::string& message : all_messages_) {
      if (HeightOf(message) >= from_height) messages.push_back(message);
    }
    return messages;
  }

  uint16_t port() const { return stream_->port(); }

  TempDir dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<EventStream> stream_;  // outlives app_, which calls it
  std::unique_ptr<ledger::Application> app_;
  std::vector<std::string> all_messages_;
  uint64_t next_nonce_ = 0;
};

}  // namespace stream::testing

#endif  // TESTS_STREAM_STREAM_TEST_UTIL_H_
