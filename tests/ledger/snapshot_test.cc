#include "ledger/snapshot.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ledger/application.h"
#include "ledger/block_store.h"
#include "tests/ledger/ledger_test_util.h"

namespace ledger {
namespace {

using testing::Create;
using testing::IdOf;
using testing::TempDir;
using testing::TestKey;
using testing::Transfer;

// A small chunk size, so that a few blocks already make several chunks.
constexpr size_t kSmallChunkBytes = 2048;

// One node's store and application, fed the same blocks as every other.
struct Ledger {
  explicit Ledger(const std::string& path) {
    std::string error;
    store = BlockStore::Open(path, &error);
    EXPECT_TRUE(store) << error;
    app = std::make_unique<Application>(store.get());
    EXPECT_TRUE(app->InitChain("snapshot-chain", 1, R"([{"power":10}])", &error)) << error;
  }

  // Takes snapshots with `snapshots` from now on.
  void Observe(SnapshotStore* taker) {
    app->AddObserver(taker);
    snapshots = taker;
  }

  // Commits `txs` as block `height`. Waits for its snapshot, if one is
  // taken: a snapshot still being written when the next one is due makes
  // that one skipped.
  void Commit(int64_t height, const std::vector<std::string>& txs) {
    app->FinalizeBlock(height, txs);
    std::string error;
    ASSERT_TRUE(app->Commit(&error)) << error;
    if (snapshots) snapshots->WaitIdle();
  }

  std::unique_ptr<BlockStore> store;
  std::unique_ptr<Application> app;
  SnapshotStore* snapshots = nullptr;
};

// Blocks 1..10: CREATEs, an empty block, TRANSFERs spending earlier outputs.
std::vector<std::vector<std::string>> SampleChain() {
  const KeyPair alice = TestKey(1);
  const KeyPair bob = TestKey(2);
  std::vector<std::vector<std::string>> blocks;
  std::vector<std::string> creates;
  for (int height = 1; height <= 10; ++height) {
    std::vector<std::string> txs;
    if (height == 4) {
      blocks.push_back(txs);  // a block without transactions
      continue;
    }
    for (int i = 0; i < 3; ++i) {
      creates.push_back(Create(alice, 2, height * 10 + i));
      txs.push_back(creates.back());
    }
    if (height > 5) {
      const std::string& spent = creates[static_cast<size_t>(height - 5)];
      txs.push_back(Transfer(spent, 0, alice, IdOf(spent), bob, 2));
    }
    blocks.push_back(txs);
  }
  return blocks;
}

std::vector<std::string> Chunks(const SnapshotStore& snapshots, const SnapshotInfo& info) {
  std::vector<std::string> chunks;
  for (uint32_t i = 0; i < info.chunks; ++i) {
    std::optional<std::string> chunk = snapshots.LoadChunk(info.height, info.format, i);
    EXPECT_TRUE(chunk) << "chunk " << i;
    chunks.push_back(chunk.value_or(""));
  }
  return chunks;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = std::make_unique<Ledger>(dir_.path() + "/source");
    snapshots_ = std::make_unique<SnapshotStore>(
        source_->store.get(),
        SnapshotStore::Options{dir_.path() + "/snapshots", 5, 2, kSmallChunkBytes, {}});
    source_->Observe(snapshots_.get());
    int64_t height = 0;
    for (const auto& txs : SampleChain()) source_->Commit(++height, txs);
    snapshots_->WaitIdle();
  }

  // The newest snapshot (height 10) and its chunks.
  SnapshotInfo Newest() const { return snapshots_->List().at(0); }

  // A restore of the newest snapshot into `live`, offered and given its
  // first chunk (of `chunks`), in `*restore`.
  void BeginRestore(BlockStore* live, const std::vector<std::string>& chunks,
                    std::unique_ptr<SnapshotRestore>* restore) {
    *restore = std::make_unique<SnapshotRestore>(live);
    ASSERT_EQ((*restore)->Offer(Newest(), source_->store->LoadChainState().last_app_hash).result,
              OfferResult::kAccept);
    const ApplyAnswer answer = (*restore)->Apply(0, chunks[0], "peer");
    ASSERT_EQ(answer.result, ApplyResult::kAccept) << answer.log;
  }

  TempDir dir_;
  std::unique_ptr<Ledger> source_;
  std::unique_ptr<SnapshotStore> snapshots_;
};

TEST_F(SnapshotTest, TakenAtEveryMultipleOfTheIntervalNewestFirst) {
  const std::vector<SnapshotInfo> list = snapshots_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].height, 10);
  EXPECT_EQ(list[1].height, 5);
  const SnapshotInfo& newest = list[0];
  EXPECT_EQ(newest.format, kSnapshotFormat);
  EXPECT_GT(newest.chunks, 2u);
  EXPECT_EQ(newest.hash, DigestBytes(Sha256(newest.metadata)));
  const std::optional<SnapshotMetadata> metadata = DecodeSnapshotMetadata(newest.metadata);
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->app_hash, source_->store->LoadChainState().last_app_hash);
  const std::vector<std::string> chunks = Chunks(*snapshots_, newest);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].size(), kSmallChunkBytes);
    EXPECT_EQ(DigestBytes(Sha256(chunks[i])), metadata->chunk_hashes[i]);
  }
  EXPECT_FALSE(snapshots_->LoadChunk(10, kSnapshotFormat, newest.chunks));
  EXPECT_FALSE(snapshots_->LoadChunk(10, kSnapshotFormat + 1, 0));
  EXPECT_FALSE(snapshots_->LoadChunk(7, kSnapshotFormat, 0));
}

TEST_F(SnapshotTest, KeepsTheNewestAndServesThemAfterARestart) {
  Ledger& source = *source_;
  int64_t height = 10;
  for (int i = 0; i < 5; ++i) source.Commit(++height, {Create(TestKey(3), 1, 1000 + i)});
  snapshots_->WaitIdle();
  ASSERT_EQ(snapshots_->List().size(), 2u);
  EXPECT_EQ(snapshots_->List()[0].height, 15);
  EXPECT_EQ(snapshots_->List()[1].height, 10);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/snapshots/00000000000000000005"));

  snapshots_.reset();
  SnapshotStore again(source.store.get(),
                      SnapshotStore::Options{dir_.path() + "/snapshots", 5, 2, kSmallChunkBytes, {}});
  ASSERT_EQ(again.List().size(), 2u);
  EXPECT_EQ(again.List()[0].hash, DigestBytes(Sha256(again.List()[0].metadata)));
  EXPECT_TRUE(again.LoadChunk(15, kSnapshotFormat, 0));
}

TEST_F(SnapshotTest, TwoNodesWriteByteIdenticalSnapshots) {
  Ledger other(dir_.path() + "/other");
  SnapshotStore other_snapshots(
      other.store.get(),
      SnapshotStore::Options{dir_.path() + "/other-snapshots", 5, 2, kSmallChunkBytes, {}});
  other.Observe(&other_snapshots);
  int64_t height = 0;
  for (const auto& txs : SampleChain()) other.Commit(++height, txs);
  other_snapshots.WaitIdle();

  const SnapshotInfo mine = Newest();
  const SnapshotInfo theirs = other_snapshots.List().at(0);
  EXPECT_EQ(mine.height, theirs.height);
  EXPECT_EQ(mine.hash, theirs.hash);
  EXPECT_EQ(mine.metadata, theirs.metadata);
  EXPECT_EQ(Chunks(*snapshots_, mine), Chunks(other_snapshots, theirs));
}

// Every query of the source answers the same on `restored`.
void ExpectSameLedger(const BlockStore& source, const BlockStore& restored) {
  const ChainState a = source.LoadChainState();
  const ChainState b = restored.LoadChainState();
  EXPECT_EQ(a.last_height, b.last_height);
  EXPECT_EQ(a.last_app_hash, b.last_app_hash);
  EXPECT_EQ(a.chain_id, b.chain_id);
  EXPECT_EQ(a.initial_height, b.initial_height);
  EXPECT_EQ(a.validators_json, b.validators_json);
  EXPECT_EQ(restored.LastHeight(), a.last_height);
  for (int64_t height = 1; height <= a.last_height; ++height) {
    const std::optional<CommittedBlock> x = source.BlockAt(height);
    const std::optional<CommittedBlock> y = restored.BlockAt(height);
    ASSERT_TRUE(x && y) << height;
    EXPECT_EQ(x->app_hash, y->app_hash) << height;
    ASSERT_EQ(x->transactions.size(), y->transactions.size()) << height;
    for (size_t i = 0; i < x->transactions.size(); ++i) {
      const std::string& id = x->transactions[i].id;
      EXPECT_EQ(id, y->transactions[i].id);
      EXPECT_EQ(x->transactions[i].public_keys, y->transactions[i].public_keys);
      EXPECT_EQ(source.GetTransaction(id), restored.GetTransaction(id));
      EXPECT_EQ(source.TransactionsOfAsset(x->transactions[i].asset_id),
                restored.TransactionsOfAsset(x->transactions[i].asset_id));
    }
  }
  for (const KeyPair& key : {TestKey(1), TestKey(2)}) {
    const std::vector<OwnedOutput> x = source.OutputsOfPublicKey(testing::Pub(key));
    const std::vector<OwnedOutput> y = restored.OutputsOfPublicKey(testing::Pub(key));
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].transaction_id, y[i].transaction_id);
      EXPECT_EQ(x[i].output_index, y[i].output_index);
      EXPECT_EQ(x[i].spent, y[i].spent);
    }
  }
}

TEST_F(SnapshotTest, RestoreRebuildsTheWholeLedgerAndSurvivesAReopen) {
  const SnapshotInfo info = Newest();
  const std::vector<std::string> chunks = Chunks(*snapshots_, info);
  const std::string app_hash = source_->store->LoadChainState().last_app_hash;
  const std::string live_path = dir_.path() + "/joiner";
  {
    std::string error;
    std::unique_ptr<BlockStore> live = BlockStore::Open(live_path, &error);
    ASSERT_TRUE(live) << error;
    SnapshotRestore restore(live.get());
    const OfferAnswer offer = restore.Offer(info, app_hash);
    ASSERT_EQ(offer.result, OfferResult::kAccept) << offer.log;
    for (uint32_t i = 0; i < chunks.size(); ++i) {
      EXPECT_EQ(live->LastHeight(), 0) << "nothing is live before the last chunk";
      const ApplyAnswer answer = restore.Apply(i, chunks[i], "peer-1");
      ASSERT_EQ(answer.result, ApplyResult::kAccept) << answer.log;
    }
    ExpectSameLedger(*source_->store, *live);

    // The restored node goes on with the chain.
    Application app(live.get());
    app.FinalizeBlock(11, {Create(TestKey(4), 1, 7)});
    ASSERT_TRUE(app.Commit(&error)) << error;
    source_->snapshots = nullptr;
    source_->Commit(11, {Create(TestKey(4), 1, 7)});
    EXPECT_EQ(live->LoadChainState().last_app_hash,
              source_->store->LoadChainState().last_app_hash);
  }
  std::string error;
  std::unique_ptr<BlockStore> reopened = BlockStore::Open(live_path, &error);
  ASSERT_TRUE(reopened) << error;
  ExpectSameLedger(*source_->store, *reopened);
  size_t restore_directories = 0;
  for (const auto& entry : std::filesystem::directory_iterator(live_path)) {
    restore_directories += entry.path().filename().string().starts_with("restore-");
  }
  EXPECT_EQ(restore_directories, 1u);
}

TEST_F(SnapshotTest, OffersThatDoNotCheckOutAreRejected) {
  std::string error;
  std::unique_ptr<BlockStore> live = BlockStore::Open(dir_.path() + "/joiner", &error);
  ASSERT_TRUE(live) << error;
  SnapshotRestore restore(live.get());
  const SnapshotInfo info = Newest();
  const std::string app_hash = source_->store->LoadChainState().last_app_hash;

  SnapshotInfo other_format = info;
  other_format.format = kSnapshotFormat + 1;
  EXPECT_EQ(restore.Offer(other_format, app_hash).result, OfferResult::kRejectFormat);

  const OfferAnswer wrong_hash = restore.Offer(info, std::string(32, '\x7f'));
  EXPECT_EQ(wrong_hash.result, OfferResult::kReject);
  EXPECT_NE(wrong_hash.log.find("trusted"), std::string::npos) << wrong_hash.log;

  SnapshotInfo tampered = info;
  tampered.metadata.back() ^= 1;
  EXPECT_EQ(restore.Offer(tampered, app_hash).result, OfferResult::kReject);

  SnapshotInfo wrong_count = info;
  wrong_count.chunks += 1;
  EXPECT_EQ(restore.Offer(wrong_count, app_hash).result, OfferResult::kReject);

  const ApplyAnswer no_offer = restore.Apply(0, "chunk", "peer-1");
  EXPECT_EQ(no_offer.result, ApplyResult::kAbort);
  EXPECT_EQ(live->LastHeight(), 0);
}

TEST_F(SnapshotTest, ACorruptedChunkIsFetchedAgainFromAnotherPeer) {
  std::string error;
  std::unique_ptr<BlockStore> live = BlockStore::Open(dir_.path() + "/joiner", &error);
  ASSERT_TRUE(live) << error;
  SnapshotRestore restore(live.get());
  const SnapshotInfo info = Newest();
  const std::vector<std::string> chunks = Chunks(*snapshots_, info);
  ASSERT_EQ(restore.Offer(info, source_->store->LoadChainState().last_app_hash).result,
            OfferResult::kAccept);
  ASSERT_EQ(restore.Apply(0, chunks[0], "good-peer").result, ApplyResult::kAccept);

  std::string corrupted = chunks[1];
  corrupted[corrupted.size() / 2] ^= 0x20;
  const ApplyAnswer retry = restore.Apply(1, corrupted, "bad-peer");
  EXPECT_EQ(retry.result, ApplyResult::kRetry);
  EXPECT_EQ(retry.refetch_chunks, std::vector<uint32_t>{1});
  EXPECT_EQ(retry.reject_senders, std::vector<std::string>{"bad-peer"});
  EXPECT_NE(retry.log.find("does not match its hash"), std::string::npos) << retry.log;

  for (uint32_t i = 1; i < chunks.size(); ++i) {
    const ApplyAnswer answer = restore.Apply(i, chunks[i], "good-peer");
    ASSERT_EQ(answer.result, ApplyResult::kAccept) << answer.log;
  }
  ExpectSameLedger(*source_->store, *live);
}

TEST_F(SnapshotTest, ChunksThatMatchForgedMetadataAreRejectedByTheAppHash) {
  // A peer that forges both chunks and metadata: the chunk hashes match, but
  // the blocks do not lead to the trusted app hash.
  const std::string app_hash = source_->store->LoadChainState().last_app_hash;
  // The snapshot of a chain without the last transaction, with the header
  // and metadata claiming the trusted app hash.
  Ledger shorter(dir_.path() + "/shorter");
  SnapshotStore shorter_snapshots(
      shorter.store.get(),
      SnapshotStore::Options{dir_.path() + "/shorter-snapshots", 10, 1, kSmallChunkBytes, {}});
  shorter.Observe(&shorter_snapshots);
  std::vector<std::vector<std::string>> blocks = SampleChain();
  blocks.back().pop_back();
  int64_t height = 0;
  for (const auto& txs : blocks) shorter.Commit(++height, txs);
  shorter_snapshots.WaitIdle();
  const SnapshotInfo forged_source = shorter_snapshots.List().at(0);
  std::vector<std::string> forged_chunks = Chunks(shorter_snapshots, forged_source);
  std::optional<SnapshotMetadata> metadata = DecodeSnapshotMetadata(forged_source.metadata);
  ASSERT_TRUE(metadata);
  const size_t in_header = forged_chunks[0].find(metadata->app_hash);
  ASSERT_NE(in_header, std::string::npos);
  forged_chunks[0].replace(in_header, app_hash.size(), app_hash);
  metadata->chunk_hashes[0] = DigestBytes(Sha256(forged_chunks[0]));
  metadata->app_hash = app_hash;
  SnapshotInfo forged = forged_source;
  forged.metadata = EncodeSnapshotMetadata(*metadata);
  forged.hash = DigestBytes(Sha256(forged.metadata));

  std::string error;
  std::unique_ptr<BlockStore> live = BlockStore::Open(dir_.path() + "/joiner", &error);
  ASSERT_TRUE(live) << error;
  SnapshotRestore restore(live.get());
  ASSERT_EQ(restore.Offer(forged, app_hash).result, OfferResult::kAccept);
  ApplyAnswer answer;
  for (uint32_t i = 0; i < forged_chunks.size(); ++i) {
    answer = restore.Apply(i, forged_chunks[i], "forger");
    if (answer.result != ApplyResult::kAccept) break;
  }
  EXPECT_EQ(answer.result, ApplyResult::kRejectSnapshot);
  EXPECT_NE(answer.log.find("app hash"), std::string::npos) << answer.log;
  EXPECT_EQ(live->LastHeight(), 0);
  EXPECT_EQ(live->LoadChainState().last_height, 0);
}

TEST_F(SnapshotTest, GarbageThatMatchesForgedHashesIsRejectedAndChangesNothing) {
  // A peer that makes up metadata for chunks of its own: each matches its
  // hash, but their bytes are not a snapshot.
  const std::string app_hash = source_->store->LoadChainState().last_app_hash;
  const std::vector<std::string> garbage = {
      std::string("\x00\x00\x00\x05hello", 9),  // a record that is not a header
      std::string("\xff\xff\xff\xff", 4),       // a record longer than any allowed
      std::string(16, '\x00'),                   // records of length zero
  };
  for (const std::string& chunk : garbage) {
    SnapshotMetadata metadata{app_hash, {DigestBytes(Sha256(chunk))}};
    SnapshotInfo forged{10, kSnapshotFormat, 1, "", EncodeSnapshotMetadata(metadata)};
    forged.hash = DigestBytes(Sha256(forged.metadata));
    std::string error;
    std::unique_ptr<BlockStore> live = BlockStore::Open(dir_.path() + "/joiner", &error);
    ASSERT_TRUE(live) << error;
    SnapshotRestore restore(live.get());
    ASSERT_EQ(restore.Offer(forged, app_hash).result, OfferResult::kAccept);
    const ApplyAnswer answer = restore.Apply(0, chunk, "forger");
    EXPECT_EQ(answer.result, ApplyResult::kRejectSnapshot) << answer.log;
    EXPECT_FALSE(answer.log.empty());
    EXPECT_EQ(live->LoadChainState().last_height, 0);
  }
}

TEST_F(SnapshotTest, AnUnfinishedRestoreLeavesNothingBehindAfterARestart) {
  const SnapshotInfo info = Newest();
  const std::vector<std::string> chunks = Chunks(*snapshots_, info);
  const std::string live_path = dir_.path() + "/joiner";
  {
    std::string error;
    std::unique_ptr<BlockStore> live = BlockStore::Open(live_path, &error);
    ASSERT_TRUE(live) << error;
    // Abandoned half-way, as a killed process abandons it (the destructor's
    // clean-up is not what this relies on: the directory is recreated).
    std::unique_ptr<SnapshotRestore> restore;
    ASSERT_NO_FATAL_FAILURE(BeginRestore(live.get(), chunks, &restore));
    std::filesystem::create_directories(live_path + "/restore-123");
    std::filesystem::copy_file(live_path + "/CURRENT", live_path + "/restore-123/CURRENT");
    restore.reset();
  }
  std::string error;
  std::unique_ptr<BlockStore> reopened = BlockStore::Open(live_path, &error);
  ASSERT_TRUE(reopened) << error;
  EXPECT_EQ(reopened->LoadChainState().last_height, 0);
  for (const auto& entry : std::filesystem::directory_iterator(live_path)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("restore-")) << entry.path();
  }
  // Reported for the node's log.
  const std::vector<std::string>& removed = reopened->removed_restores();
  EXPECT_NE(std::find(removed.begin(), removed.end(), live_path + "/restore-123"), removed.end());
}

TEST_F(SnapshotTest, ASecondOpenOfAStoreInUseLeavesItsRestoreAlone) {
  const SnapshotInfo info = Newest();
  const std::vector<std::string> chunks = Chunks(*snapshots_, info);
  const std::string live_path = dir_.path() + "/joiner";
  std::string error;
  std::unique_ptr<BlockStore> live = BlockStore::Open(live_path, &error);
  ASSERT_TRUE(live) << error;
  std::unique_ptr<SnapshotRestore> restore;
  ASSERT_NO_FATAL_FAILURE(BeginRestore(live.get(), chunks, &restore));
  auto restore_directories = [&] {
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(live_path)) {
      count += entry.path().filename().string().starts_with("restore-");
    }
    return count;
  };
  ASSERT_EQ(restore_directories(), 1u);

  // As a second process started on the same directory would: refused by the
  // lock, and the running restore keeps its directory.
  EXPECT_FALSE(BlockStore::Open(live_path, &error));
  EXPECT_NE(error.find("LOCK"), std::string::npos) << error;
  EXPECT_EQ(restore_directories(), 1u);
  for (uint32_t i = 1; i < chunks.size(); ++i) {
    const ApplyAnswer answer = restore->Apply(i, chunks[i], "peer");
    ASSERT_EQ(answer.result, ApplyResult::kAccept) << answer.log;
  }
  EXPECT_EQ(live->LoadChainState().last_app_hash, source_->store->LoadChainState().last_app_hash);
}

}  // namespace
}  // namespace ledger
