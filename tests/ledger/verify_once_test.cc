// A transaction's signatures are verified once per node: whatever checked it
// first (the HTTP API, CheckTx) leaves a result that FinalizeBlock, DeliverTx
// and RECHECK reuse. Counted with the ledger's Ed25519 verification counter
// (VerifyCount), against a real LevelDB store in a temporary directory.
#include <gtest/gtest.h>

#include "ledger/application.h"
#include "ledger_test_util.h"

namespace ledger {
namespace {

using testing::Create;
using testing::IdOf;
using testing::Pub;
using testing::Signed;
using testing::TempDir;
using testing::TestKey;
using testing::Transfer;

class VerifyOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<Application>(store_.get());
  }

  // Executes and commits `txs` at `height`; every one must be valid.
  void CommitValid(int64_t height, const std::vector<std::string>& txs) {
    FinalizedBlock block = app_->FinalizeBlock(height, txs);
    for (const TxResult& result : block.results) {
      EXPECT_TRUE(result.status.ok()) << result.status.ToString();
    }
    std::string error;
    ASSERT_TRUE(app_->Commit(&error)) << error;
  }

  // Ed25519 verifications made while `action` runs.
  template <typename Action>
  static uint64_t VerificationsDuring(Action action) {
    const uint64_t before = VerifyCount();
    action();
    return VerifyCount() - before;
  }

  TempDir dir_;
  std::unique_ptr<BlockStore> store_;
  std::unique_ptr<Application> app_;
};

TEST_F(VerifyOnceTest, CheckTxVerifiesEachInputOnceAndAgainNever) {
  KeyPair a = TestKey(1);
  std::string create = Create(a, 2);
  EXPECT_EQ(VerificationsDuring([&] { ASSERT_TRUE(app_->CheckTx(create).status.ok()); }), 1u);
  EXPECT_EQ(VerificationsDuring([&] {
              EXPECT_TRUE(app_->CheckTx(create).status.ok());
              EXPECT_TRUE(app_->CheckTx(create, /*recheck=*/true).status.ok());
              EXPECT_TRUE(app_->CheckStatelessCached(create)->status.ok());
            }),
            0u);
}

TEST_F(VerifyOnceTest, PreCheckedBlockOfCreatesAndTransfersVerifiesNothing) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  std::vector<std::string> creates;
  for (int i = 0; i < 16; ++i) creates.push_back(Create(a, 2, i));
  for (const std::string& tx : creates) ASSERT_TRUE(app_->CheckTx(tx).status.ok());
  EXPECT_EQ(VerificationsDuring([&] { CommitValid(1, creates); }), 0u);

  // Next block: one TRANSFER per asset, a second one chained on it inside the
  // same block, and a two-input TRANSFER; all checked first, as a mempool
  // would, by CheckTx (the chained one passes its stateless checks only).
  std::vector<std::string> block;
  size_t signatures = 0;
  for (int i = 0; i < 8; ++i) {
    std::string asset = IdOf(creates[i]);
    std::string to_b = Transfer(creates[i], 0, a, asset, b, 2);
    std::string to_c = Transfer(to_b, 0, b, asset, c, 2);
    block.push_back(to_b);
    block.push_back(to_c);
  }
  std::string asset = IdOf(creates[8]);
  JsonValue two_inputs = MakeTransfer(
      {{IdOf(creates[8]), 0, {Pub(a)}}, {IdOf(creates[9]), 0, {Pub(a)}}}, asset,
      JsonValue::Null(), {{{Pub(b)}, 4}});
  // Inputs of different assets are refused later (AssetIdMismatch); what
  // counts here is that their two signatures are verified once.
  block.push_back(Signed(std::move(two_inputs), {a}));
  for (const std::string& tx : block) {
    signatures += VerificationsDuring([&] { app_->CheckStatelessCached(tx); });
  }
  EXPECT_EQ(signatures, 8u * 2 + 2);

  uint64_t during_block = VerificationsDuring([&] {
    FinalizedBlock finalized = app_->FinalizeBlock(2, block);
    for (size_t i = 0; i + 1 < block.size(); ++i) {
      EXPECT_TRUE(finalized.results[i].status.ok()) << i << ": "
                                                     << finalized.results[i].status.ToString();
    }
    EXPECT_EQ(finalized.results.back().status.code(), ErrorCode::kAssetIdMismatch);
    std::string error;
    ASSERT_TRUE(app_->Commit(&error)) << error;
  });
  EXPECT_EQ(during_block, 0u);
  EXPECT_EQ(store_->LastHeight(), 2);
}

TEST_F(VerifyOnceTest, UncheckedBlockVerifiesEachSignatureExactlyOnce) {
  // Enough transactions for FinalizeBlock to spread the stateless checks over
  // several threads: each signature is still verified once, not per thread.
  KeyPair a = TestKey(1);
  std::vector<std::string> txs;
  for (int i = 0; i < 64; ++i) txs.push_back(Create(a, 1, i));
  EXPECT_EQ(VerificationsDuring([&] { CommitValid(1, txs); }), txs.size());
  // After the commit the block's results leave the cache.
  EXPECT_EQ(app_->cache().size(), 0u);
}

TEST_F(VerifyOnceTest, DeliverTxReusesCheckTx) {
  KeyPair a = TestKey(1);
  std::vector<std::string> txs = {Create(a, 1, 1), Create(a, 1, 2), Create(a, 1, 3)};
  for (const std::string& tx : txs) ASSERT_TRUE(app_->CheckTx(tx).status.ok());
  EXPECT_EQ(VerificationsDuring([&] {
              app_->BeginBlock(1);
              for (const std::string& tx : txs) EXPECT_TRUE(app_->DeliverTx(tx)->status.ok());
              ASSERT_TRUE(app_->EndBlock().has_value());
              std::string error;
              ASSERT_TRUE(app_->Commit(&error)) << error;
            }),
            0u);
}

TEST_F(VerifyOnceTest, RecheckAfterCommitVerifiesNothing) {
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a, 1);
  CommitValid(1, {create});
  // Two spends of one output wait in the mempool; the first commits, the
  // second fails its recheck without a signature check.
  std::string to_b = Transfer(create, 0, a, IdOf(create), b);
  std::string to_a = Transfer(create, 0, a, IdOf(create), a);
  ASSERT_TRUE(app_->CheckTx(to_b).status.ok());
  ASSERT_TRUE(app_->CheckTx(to_a).status.ok());
  EXPECT_EQ(VerificationsDuring([&] {
              CommitValid(2, {to_b});
              EXPECT_EQ(app_->CheckTx(to_a, /*recheck=*/true).status.code(),
                        ErrorCode::kDoubleSpend);
            }),
            0u);
}

}  // namespace
}  // namespace ledger
