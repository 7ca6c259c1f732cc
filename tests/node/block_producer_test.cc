#include "node/block_producer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>

#include "ledger/transaction_builder.h"

namespace node {
namespace {

using ledger::JsonValue;
using ledger::KeyPair;

std::string SignedCreate(const KeyPair& key, int nonce) {
  std::string pub = ledger::PublicKeyBase58(key);
  JsonValue tx = ledger::MakeCreate(
      {pub}, JsonValue::Object({{"n", JsonValue::Number(std::to_string(nonce))}}),
      JsonValue::Null(), {{{pub}, 1}});
  std::string error;
  EXPECT_TRUE(ledger::SignTransaction(&tx, {key}, &error)) << error;
  return ledger::CanonicalJson(tx);
}

class BlockProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ledgerd-producer-" + std::to_string(std::random_device{}()));
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.string(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
  }
  void TearDown() override {
    app_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  KeyPair key_ = ledger::KeyPairFromSeed(std::string(32, '\x05'));
};

TEST_F(BlockProducerTest, CommitsSubmittedTransactionsAndReportsTheirHeight) {
  BlockProducer producer(app_.get(), {std::chrono::milliseconds(10), 100, 1000});
  producer.Start();
  std::vector<std::future<std::pair<bool, int64_t>>> outcomes;
  for (int i = 0; i < 20; ++i) {
    auto promise = std::make_shared<std::promise<std::pair<bool, int64_t>>>();
    outcomes.push_back(promise->get_future());
    ledger::Status status;
    ASSERT_EQ(producer.Submit(SignedCreate(key_, i),
                              [promise](const ledger::Status& s, int64_t height) {
                                promise->set_value({s.ok(), height});
                              },
                              &status),
              BlockProducer::Admission::kAccepted)
        << status.ToString();
  }
  for (auto& outcome : outcomes) {
    auto [ok, height] = outcome.get();
    EXPECT_TRUE(ok);
    EXPECT_GE(height, 1);
  }
  producer.Stop();
  EXPECT_GE(store_->LastHeight(), 1);
  EXPECT_EQ(app_->Info().chain_id, "ledgerd-dev");
  // No empty blocks: every stored block holds at least one transaction.
  for (int64_t h = 1; h <= store_->LastHeight(); ++h) {
    EXPECT_FALSE(store_->BlockAt(h)->transactions.empty()) << "height " << h;
  }
}

TEST_F(BlockProducerTest, RejectsInvalidAndDuplicateSubmissions) {
  BlockProducer producer(app_.get(), {std::chrono::hours(1), 100, 1000});
  ledger::Status status;
  EXPECT_EQ(producer.Submit("{", nullptr, &status), BlockProducer::Admission::kRejected);
  EXPECT_EQ(status.code(), ledger::ErrorCode::kMalformedTransaction);
  std::string tx = SignedCreate(key_, 1);
  EXPECT_EQ(producer.Submit(tx, nullptr, &status), BlockProducer::Admission::kAccepted);
  EXPECT_EQ(producer.Submit(tx, nullptr, &status), BlockProducer::Admission::kAlreadyPending);
  EXPECT_EQ(status.code(), ledger::ErrorCode::kDuplicateTransaction);
}

TEST_F(BlockProducerTest, FullMempoolRefusesMore) {
  BlockProducer producer(app_.get(), {std::chrono::hours(1), 100, 2});
  ledger::Status status;
  EXPECT_EQ(producer.Submit(SignedCreate(key_, 1), nullptr, &status),
            BlockProducer::Admission::kAccepted);
  EXPECT_EQ(producer.Submit(SignedCreate(key_, 2), nullptr, &status),
            BlockProducer::Admission::kAccepted);
  EXPECT_EQ(producer.Submit(SignedCreate(key_, 3), nullptr, &status),
            BlockProducer::Admission::kMempoolFull);
  EXPECT_EQ(producer.mempool_size(), 2u);
}

TEST_F(BlockProducerTest, StopTellsWaitingTransactions) {
  BlockProducer producer(app_.get(), {std::chrono::hours(1), 100, 10});
  bool told = false;
  ledger::Status status;
  producer.Submit(SignedCreate(key_, 1),
                  [&told](const ledger::Status& s, int64_t height) {
                    told = !s.ok() && height == 0;
                  },
                  &status);
  producer.Stop();
  EXPECT_TRUE(told);
}

TEST_F(BlockProducerTest, RespectsMaxBlockTxsAndContinuesAfterRestart) {
  {
    BlockProducer producer(app_.get(), {std::chrono::milliseconds(1), 3, 100});
    std::vector<std::future<int64_t>> heights;
    for (int i = 0; i < 7; ++i) {
      auto promise = std::make_shared<std::promise<int64_t>>();
      heights.push_back(promise->get_future());
      ledger::Status status;
      producer.Submit(SignedCreate(key_, i),
                      [promise](const ledger::Status&, int64_t h) { promise->set_value(h); },
                      &status);
    }
    producer.Start();
    for (auto& height : heights) EXPECT_GE(height.get(), 1);
  }
  for (int64_t h = 1; h <= store_->LastHeight(); ++h) {
    EXPECT_LE(store_->BlockAt(h)->transactions.size(), 3u);
  }
  EXPECT_GE(store_->LastHeight(), 3);
  int64_t before = store_->LastHeight();
  BlockProducer again(app_.get(), {std::chrono::milliseconds(1), 3, 100});
  again.Start();
  std::promise<int64_t> next;
  ledger::Status status;
  again.Submit(SignedCreate(key_, 100),
               [&next](const ledger::Status&, int64_t h) { next.set_value(h); }, &status);
  EXPECT_EQ(next.get_future().get(), before + 1);
}

}  // namespace
}  // namespace node
