#include "ledger/block_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ledger/application.h"
#include "ledger_test_util.h"

namespace ledger {
namespace {

using testing::Create;
using testing::IdOf;
using testing::Pub;
using testing::TempDir;
using testing::TestKey;
using testing::Transfer;

std::shared_ptr<const Transaction> Checked(const std::string& raw) {
  auto checked = CheckStateless(raw);
  EXPECT_TRUE(checked->status.ok()) << checked->status.ToString();
  return checked->transaction;
}

std::unique_ptr<BlockStore> OpenStore(const TempDir& dir) {
  std::string error;
  auto store = BlockStore::Open(dir.path(), &error);
  EXPECT_NE(store, nullptr) << error;
  return store;
}

TEST(BlockStoreTest, EmptyStore) {
  TempDir dir;
  auto store = OpenStore(dir);
  EXPECT_EQ(store->LastHeight(), 0);
  EXPECT_EQ(store->LoadChainState().last_app_hash, "");
  EXPECT_FALSE(store->BlockAt(1).has_value());
  EXPECT_FALSE(store->GetTransaction(std::string(64, '0')).has_value());
}

TEST(BlockStoreTest, EveryIndexAnswersAfterReopen) {
  TempDir dir;
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a, 3);
  std::string asset = IdOf(create);
  std::string transfer = Transfer(create, 0, a, asset, b, 3);
  {
    auto store = OpenStore(dir);
    std::string error;
    ASSERT_TRUE(store->WriteBlock({1, std::string(32, 'h'), {Checked(create)}}, &error)) << error;
    ASSERT_TRUE(store->WriteBlock({2, std::string(32, 'i'), {Checked(transfer)}}, &error));
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(store->LastHeight(), 2);
  ChainState state = store->LoadChainState();
  EXPECT_EQ(state.last_height, 2);
  EXPECT_EQ(state.last_app_hash, std::string(32, 'i'));

  EXPECT_EQ(store->GetTransaction(IdOf(create)), create);
  ASSERT_TRUE(store->LocateTransaction(IdOf(transfer)).has_value());
  EXPECT_EQ(store->LocateTransaction(IdOf(transfer))->height, 2);
  EXPECT_EQ(store->LocateTransaction(IdOf(transfer))->index, 0u);
  EXPECT_TRUE(store->HasTransaction(IdOf(create)));
  EXPECT_EQ(store->SpentBy(IdOf(create), 0), IdOf(transfer));
  EXPECT_FALSE(store->SpentBy(IdOf(transfer), 0).has_value());

  auto output = store->GetOutput(IdOf(transfer), 0);
  ASSERT_TRUE(output.has_value());
  EXPECT_EQ(output->amount, 3u);
  EXPECT_EQ(output->asset_id, asset);
  EXPECT_FALSE(store->GetOutput(IdOf(transfer), 1).has_value());

  EXPECT_EQ(store->TransactionsOfAsset(asset),
            (std::vector<std::string>{IdOf(create), IdOf(transfer)}));
  auto of_a = store->OutputsOfPublicKey(Pub(a));
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_TRUE(of_a[0].spent);
  auto of_b = store->OutputsOfPublicKey(Pub(b));
  ASSERT_EQ(of_b.size(), 1u);
  EXPECT_EQ(of_b[0].transaction_id, IdOf(transfer));
  EXPECT_FALSE(of_b[0].spent);

  auto block = store->BlockAt(2);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->app_hash, std::string(32, 'i'));
  ASSERT_EQ(block->transactions.size(), 1u);
  EXPECT_EQ(block->transactions[0].operation, Operation::kTransfer);
  EXPECT_EQ(block->transactions[0].public_keys, (std::vector<std::string>{Pub(b), Pub(a)}));
}

TEST(BlockStoreTest, SecondOpenOfTheSameDirectoryFailsClearly) {
  TempDir dir;
  auto store = OpenStore(dir);
  std::string error;
  EXPECT_EQ(BlockStore::Open(dir.path(), &error), nullptr);
  EXPECT_NE(error.find("cannot open the ledger store"), std::string::npos) << error;
}

TEST(BlockStoreTest, ReadersSeeWholeBlocksWhileBlocksCommit) {
  TempDir dir;
  auto store = OpenStore(dir);
  Application app(store.get());
  KeyPair a = TestKey(1);
  constexpr int kBlocks = 30;
  constexpr int kTxsPerBlock = 10;
  std::vector<std::vector<std::string>> blocks(kBlocks);
  for (int h = 0; h < kBlocks; ++h) {
    for (int i = 0; i < kTxsPerBlock; ++i) blocks[h].push_back(Create(a, 1, h * 100 + i));
  }

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!done) {
      int64_t tip = store->LastHeight();
      for (int64_t h = 1; h <= tip; ++h) {
        auto block = store->BlockAt(h);
        if (!block || block->transactions.size() != kTxsPerBlock) ++failures;
      }
      // Every output the key owns belongs to a fully stored transaction.
      for (const OwnedOutput& output : store->OutputsOfPublicKey(Pub(a))) {
        if (!store->GetTransaction(output.transaction_id)) ++failures;
      }
    }
  });
  for (int h = 0; h < kBlocks; ++h) {
    app.FinalizeBlock(h + 1, blocks[h]);
    std::string error;
    ASSERT_TRUE(app.Commit(&error)) << error;
  }
  done = true;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(store->OutputsOfPublicKey(Pub(a)).size(), size_t{kBlocks * kTxsPerBlock});
}

}  // namespace
}  // namespace ledger

namespace ledger {
namespace {

TEST(BlockStoreSearchTest, FindsAssetsAndMetadataByAllWords) {
  testing::TempDir dir;
  std::string error;
  auto store = BlockStore::Open(dir.path(), &error);
  ASSERT_NE(store, nullptr) << error;
  KeyPair a = testing::TestKey(1);
  auto create = [&](const char* data_json, const char* metadata_json) {
    std::string raw = testing::Signed(
        MakeCreate({testing::Pub(a)}, testing::ParseOrDie(data_json),
                   testing::ParseOrDie(metadata_json), {{{testing::Pub(a)}, 1}}),
        {a});
    return CheckStateless(raw)->transaction;
  };
  auto bike = create(R"({"name":"Red Bicycle","tags":["fast","ünïcode"]})", R"({"note":"sold today"})");
  auto car = create(R"({"name":"red car","wheels":4})", R"({"note":"Bicycle rack"})");
  auto plain = create("null", "null");
  ASSERT_TRUE(store->WriteBlock({1, "h", {bike, car, plain}}, &error)) << error;

  EXPECT_EQ(store->SearchAssets("red", 10), (std::vector<std::string>{bike->id, car->id}));
  EXPECT_EQ(store->SearchAssets("RED bicycle", 10), (std::vector<std::string>{bike->id}));
  EXPECT_EQ(store->SearchAssets("red", 1), (std::vector<std::string>{bike->id}));
  EXPECT_EQ(store->SearchAssets("ünïCODE", 10), (std::vector<std::string>{bike->id}));
  EXPECT_TRUE(store->SearchAssets("ÜNÏCODE", 10).empty()) << "only ASCII letters fold case";
  EXPECT_TRUE(store->SearchAssets("wheels", 10).empty()) << "keys are not indexed";
  EXPECT_TRUE(store->SearchAssets("red boat", 10).empty());
  EXPECT_TRUE(store->SearchAssets("", 10).empty());
  EXPECT_EQ(store->SearchMetadata("bicycle", 10), (std::vector<std::string>{car->id}));
  EXPECT_EQ(store->SearchMetadata("sold", 10), (std::vector<std::string>{bike->id}));
}

}  // namespace
}  // namespace ledger
