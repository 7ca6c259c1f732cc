#include "ledger/application.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace ledger {
namespace {

using testing::Create;
using testing::IdOf;
using testing::ParseOrDie;
using testing::Pub;
using testing::Signed;
using testing::TempDir;
using testing::TestKey;
using testing::Transfer;

class RecordingObserver : public BlockObserver {
 public:
  explicit RecordingObserver(const BlockStore* store) : store_(store) {}
  void OnBlockCommitted(const CommittedBlock& block) override {
    // The block must already be durable when observers hear of it.
    EXPECT_EQ(store_->LastHeight(), block.height);
    blocks.push_back(block);
  }
  std::vector<CommittedBlock> blocks;

 private:
  const BlockStore* store_;
};

class ApplicationTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    app_.reset();
    store_.reset();
    std::string error;
    store_ = BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<Application>(store_.get());
  }

  FinalizedBlock Commit(int64_t height, const std::vector<std::string>& txs) {
    FinalizedBlock block = app_->FinalizeBlock(height, txs);
    std::string error;
    EXPECT_TRUE(app_->Commit(&error)) << error;
    return block;
  }

  static std::vector<ErrorCode> Codes(const FinalizedBlock& block) {
    std::vector<ErrorCode> codes;
    for (const TxResult& result : block.results) codes.push_back(result.status.code());
    return codes;
  }

  TempDir dir_;
  std::unique_ptr<BlockStore> store_;
  std::unique_ptr<Application> app_;
};

TEST_F(ApplicationTest, CheckTxAcceptsValidAndNamesErrors) {
  KeyPair a = TestKey(1);
  std::string create = Create(a);
  EXPECT_TRUE(app_->CheckTx(create).status.ok());
  EXPECT_EQ(app_->CheckTx("{").status.code(), ErrorCode::kMalformedTransaction);
  Commit(1, {create});
  EXPECT_EQ(app_->CheckTx(create).status.code(), ErrorCode::kDuplicateTransaction);
  EXPECT_EQ(app_->CheckTx(create, /*recheck=*/true).status.code(),
            ErrorCode::kDuplicateTransaction);
}

TEST_F(ApplicationTest, ChainAndConflictInsideOneBlock) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  std::string create = Create(a);
  std::string asset = IdOf(create);
  std::string to_b = Transfer(create, 0, a, asset, b);
  std::string to_c = Transfer(create, 0, a, asset, c);  // conflicts with to_b
  std::string b_to_c = Transfer(to_b, 0, b, asset, c);  // chains on to_b
  FinalizedBlock block = Commit(1, {create, to_b, to_c, b_to_c});
  EXPECT_EQ(Codes(block), (std::vector<ErrorCode>{ErrorCode::kOk, ErrorCode::kOk,
                                                  ErrorCode::kDoubleSpend, ErrorCode::kOk}));
  EXPECT_EQ(store_->SpentBy(IdOf(create), 0), IdOf(to_b));
  EXPECT_FALSE(store_->HasTransaction(IdOf(to_c)));
  EXPECT_EQ(store_->TransactionsOfAsset(asset),
            (std::vector<std::string>{IdOf(create), IdOf(to_b), IdOf(b_to_c)}));
}

TEST_F(ApplicationTest, StatefulErrors) {
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a, 5);
  std::string other = Create(a, 1, /*nonce=*/1);
  Commit(1, {create, other});
  std::string asset = IdOf(create);

  // Unknown transaction and out-of-range output index.
  std::string unknown = Signed(
      MakeTransfer({{std::string(64, 'a'), 0, {Pub(a)}}}, asset, JsonValue::Null(), {{{Pub(b)}, 5}}),
      {a});
  EXPECT_EQ(app_->CheckTx(unknown).status.code(), ErrorCode::kInputDoesNotExist);
  std::string bad_index = Signed(
      MakeTransfer({{IdOf(create), 7, {Pub(a)}}}, asset, JsonValue::Null(), {{{Pub(b)}, 5}}), {a});
  EXPECT_EQ(app_->CheckTx(bad_index).status.code(), ErrorCode::kInputDoesNotExist);

  // Same output twice in one transaction.
  std::string twice = Signed(MakeTransfer({{IdOf(create), 0, {Pub(a)}}, {IdOf(create), 0, {Pub(a)}}},
                                          asset, JsonValue::Null(), {{{Pub(b)}, 10}}),
                             {a});
  EXPECT_EQ(app_->CheckTx(twice).status.code(), ErrorCode::kDoubleSpend);

  // Spending another asset's output under this asset id.
  std::string mixed = Signed(MakeTransfer({{IdOf(create), 0, {Pub(a)}}, {IdOf(other), 0, {Pub(a)}}},
                                          asset, JsonValue::Null(), {{{Pub(b)}, 6}}),
                             {a});
  EXPECT_EQ(app_->CheckTx(mixed).status.code(), ErrorCode::kAssetIdMismatch);

  // Amounts that do not add up.
  EXPECT_EQ(app_->CheckTx(Transfer(create, 0, a, asset, b, 4)).status.code(),
            ErrorCode::kAmountError);

  // Signed by someone who does not own the output.
  std::string thief = Signed(
      MakeTransfer({{IdOf(create), 0, {Pub(b)}}}, asset, JsonValue::Null(), {{{Pub(b)}, 5}}), {b});
  EXPECT_EQ(app_->CheckTx(thief).status.code(), ErrorCode::kInvalidSignature);

  // Spent in committed state.
  std::string spend = Transfer(create, 0, a, asset, b, 5);
  Commit(2, {spend});
  EXPECT_EQ(app_->CheckTx(Transfer(create, 0, a, asset, a, 5)).status.code(),
            ErrorCode::kDoubleSpend);
}

TEST_F(ApplicationTest, TwoInputTransferAndThresholds) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  // A 2-of-2 output owned by a and b, and a plain one owned by a.
  std::string shared = Signed(MakeCreate({Pub(a)}, JsonValue::Null(), JsonValue::Null(),
                                         {{{Pub(a), Pub(b)}, 3}, {{Pub(a)}, 2}}),
                              {a});
  std::string asset = IdOf(shared);
  Commit(1, {shared});

  std::string only_a = Signed(MakeTransfer({{asset, 0, {Pub(a), Pub(b)}}}, asset,
                                           JsonValue::Null(), {{{Pub(c)}, 3}}),
                              {a, b});
  JsonValue half = ParseOrDie(only_a);
  // A 2-of-2 fulfillment with only one signature does not verify.
  {
    JsonValue& input = half.FindMutable("inputs")->mutable_items()[0];
    Fulfillment full;
    ASSERT_TRUE(Fulfillment::ParseDer(*Base64UrlDecode(input.Find("fulfillment")->text()), &full).ok());
    full.subconditions.push_back(full.subfulfillments[1].ToCondition());
    full.subfulfillments.pop_back();
    input.Set("fulfillment", JsonValue::String(Base64UrlEncode(full.Der())));
    half.Set("id", JsonValue::String(ComputeId(half)));
  }
  EXPECT_EQ(app_->CheckTx(CanonicalJson(half)).status.code(), ErrorCode::kInvalidSignature);

  std::string both = Signed(MakeTransfer({{asset, 0, {Pub(a), Pub(b)}}, {asset, 1, {Pub(a)}}},
                                         asset, JsonValue::Null(), {{{Pub(c)}, 5}}),
                            {a, b});
  FinalizedBlock block = Commit(2, {both});
  EXPECT_EQ(Codes(block), (std::vector<ErrorCode>{ErrorCode::kOk}));
  EXPECT_EQ(store_->OutputsOfPublicKey(Pub(c)).size(), 1u);
}

TEST_F(ApplicationTest, OneOfTwoThresholdSpendsWithEitherKey) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  ConditionDetails one_of_two;
  one_of_two.type = ConditionType::kThresholdSha256;
  one_of_two.threshold = 1;
  for (const KeyPair* key : {&a, &b}) {
    ConditionDetails leaf;
    leaf.public_key = key->public_key;
    one_of_two.subconditions.push_back(leaf);
  }
  auto details_json = [&](const KeyPair& key) {
    return JsonValue::Object({{"type", JsonValue::String("ed25519-sha-256")},
                              {"public_key", JsonValue::String(Pub(key))}});
  };
  JsonValue create = MakeCreate({Pub(a)}, JsonValue::Null(), JsonValue::Null(),
                                {{{Pub(a), Pub(b)}, 1}});
  JsonValue& output = create.FindMutable("outputs")->mutable_items()[0];
  output.Set("condition",
             JsonValue::Object({{"details", JsonValue::Object({
                                                {"type", JsonValue::String("threshold-sha-256")},
                                                {"threshold", JsonValue::Number("1")},
                                                {"subconditions", JsonValue::Array({details_json(a),
                                                                                    details_json(b)})},
                                            })},
                                {"uri", JsonValue::String(one_of_two.ToCondition().Uri())}}));
  std::string create_raw = Signed(create, {a});
  std::string asset = IdOf(create_raw);
  Commit(1, {create_raw});

  // b alone signs: one sub-fulfillment plus a's condition left unfulfilled.
  JsonValue spend = MakeTransfer({{asset, 0, {Pub(a), Pub(b)}}}, asset, JsonValue::Null(),
                                 {{{Pub(c)}, 1}});
  Input input;
  input.fulfills = OutputLink{asset, 0};
  Digest digest = InputMessage(SigningBody(spend), input);
  Fulfillment by_b;
  by_b.public_key = b.public_key;
  by_b.signature = Sign(b, std::string_view(reinterpret_cast<const char*>(digest.data()), 32));
  Fulfillment threshold;
  threshold.type = ConditionType::kThresholdSha256;
  threshold.threshold = 1;
  threshold.subfulfillments.push_back(by_b);
  threshold.subconditions.push_back(one_of_two.subconditions[0].ToCondition());
  spend.FindMutable("inputs")->mutable_items()[0].Set(
      "fulfillment", JsonValue::String(Base64UrlEncode(threshold.Der())));
  spend.Set("id", JsonValue::String(ComputeId(spend)));
  TxResult result = app_->CheckTx(CanonicalJson(spend));
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
}

TEST_F(ApplicationTest, AppHashFollowsTheRule) {
  KeyPair a = TestKey(1);
  std::string first = Create(a, 1, 1), second = Create(a, 1, 2);
  FinalizedBlock block1 = Commit(1, {first, second});
  std::string expected = DigestBytes(Sha3_256(DigestBytes(Sha3_256(IdOf(first) + IdOf(second)))));
  EXPECT_EQ(block1.app_hash, expected);

  // A block of invalid transactions leaves the app hash unchanged.
  FinalizedBlock block2 = Commit(2, {first, "garbage", second});
  EXPECT_EQ(Codes(block2),
            (std::vector<ErrorCode>{ErrorCode::kDuplicateTransaction,
                                    ErrorCode::kMalformedTransaction,
                                    ErrorCode::kDuplicateTransaction}));
  EXPECT_EQ(block2.app_hash, block1.app_hash);
  EXPECT_EQ(app_->Info().last_height, 2);
  EXPECT_EQ(app_->Info().last_app_hash, block1.app_hash);
  ASSERT_TRUE(store_->BlockAt(2).has_value());
  EXPECT_TRUE(store_->BlockAt(2)->transactions.empty());
}

TEST_F(ApplicationTest, TwoInstancesAgreeOnAppHashes) {
  TempDir other_dir;
  std::string error;
  auto other_store = BlockStore::Open(other_dir.path(), &error);
  Application other(other_store.get());
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a, 2);
  std::vector<std::vector<std::string>> blocks = {
      {create, Create(b)},
      {Transfer(create, 0, a, IdOf(create), b, 2), "{}"},
      {},
  };
  for (size_t h = 0; h < blocks.size(); ++h) {
    FinalizedBlock mine = Commit(static_cast<int64_t>(h + 1), blocks[h]);
    FinalizedBlock theirs = other.FinalizeBlock(static_cast<int64_t>(h + 1), blocks[h]);
    ASSERT_TRUE(other.Commit(&error)) << error;
    EXPECT_EQ(mine.app_hash, theirs.app_hash) << "height " << h + 1;
    EXPECT_EQ(Codes(mine), Codes(theirs));
  }
}

TEST_F(ApplicationTest, DeliveringOneByOneEqualsFinalizeBlock) {
  TempDir other_dir;
  std::string error;
  auto other_store = BlockStore::Open(other_dir.path(), &error);
  Application one_by_one(other_store.get());
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  std::string create = Create(a);
  std::string asset = IdOf(create);
  std::string to_b = Transfer(create, 0, a, asset, b);
  std::vector<std::vector<std::string>> blocks = {
      {create, to_b, Transfer(create, 0, a, asset, c), Transfer(to_b, 0, b, asset, c), "{"},
      {create, Create(c)},
      {},
  };
  for (size_t h = 0; h < blocks.size(); ++h) {
    const int64_t height = static_cast<int64_t>(h + 1);
    FinalizedBlock whole = Commit(height, blocks[h]);
    one_by_one.BeginBlock(height);
    std::vector<ErrorCode> delivered;
    for (const std::string& tx : blocks[h]) {
      std::optional<TxResult> result = one_by_one.DeliverTx(tx);
      ASSERT_TRUE(result.has_value());
      delivered.push_back(result->status.code());
    }
    std::optional<FinalizedBlock> ended = one_by_one.EndBlock();
    ASSERT_TRUE(ended.has_value());
    ASSERT_TRUE(one_by_one.Commit(&error)) << error;
    EXPECT_EQ(delivered, Codes(whole)) << "height " << height;
    EXPECT_EQ(Codes(*ended), Codes(whole)) << "height " << height;
    EXPECT_EQ(ended->app_hash, whole.app_hash) << "height " << height;
    EXPECT_EQ(other_store->LastHeight(), height);
  }
  EXPECT_EQ(other_store->TransactionsOfAsset(asset), store_->TransactionsOfAsset(asset));
}

TEST_F(ApplicationTest, DeliverTxAndEndBlockNeedAnOpenBlock) {
  std::string error;
  EXPECT_FALSE(app_->DeliverTx(Create(TestKey(1))).has_value());
  EXPECT_FALSE(app_->EndBlock().has_value());
  EXPECT_FALSE(app_->Commit(&error));
  app_->BeginBlock(1);
  ASSERT_TRUE(app_->EndBlock().has_value());
  EXPECT_FALSE(app_->EndBlock().has_value()) << "EndBlock closes the block";
  EXPECT_TRUE(app_->Commit(&error)) << error;
  EXPECT_EQ(store_->LastHeight(), 1);
}

TEST_F(ApplicationTest, ObserversHearOfDurableBlocksOnly) {
  RecordingObserver observer(store_.get());
  app_->AddObserver(&observer);
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a);
  app_->FinalizeBlock(1, {create, "junk"});
  EXPECT_TRUE(observer.blocks.empty());
  std::string error;
  ASSERT_TRUE(app_->Commit(&error));
  ASSERT_EQ(observer.blocks.size(), 1u);
  const CommittedBlock& block = observer.blocks[0];
  EXPECT_EQ(block.height, 1);
  ASSERT_EQ(block.transactions.size(), 1u);
  EXPECT_EQ(block.transactions[0].id, IdOf(create));
  EXPECT_EQ(block.transactions[0].asset_id, IdOf(create));
  EXPECT_EQ(block.transactions[0].operation, Operation::kCreate);
  EXPECT_EQ(block.transactions[0].public_keys, (std::vector<std::string>{Pub(a)}));
  EXPECT_FALSE(app_->Commit(&error)) << "nothing staged";
}

TEST_F(ApplicationTest, ReplayAfterRestartBetweenFinalizeAndCommit) {
  KeyPair a = TestKey(1);
  Commit(1, {Create(a, 1, 1)});
  std::vector<std::string> block2 = {Create(a, 1, 2)};
  std::string hash = app_->FinalizeBlock(2, block2).app_hash;
  Reopen();  // the staged block is lost, as in a crash
  EXPECT_EQ(app_->Info().last_height, 1);
  EXPECT_EQ(app_->FinalizeBlock(2, block2).app_hash, hash);
  std::string error;
  ASSERT_TRUE(app_->Commit(&error));
  Reopen();
  EXPECT_EQ(app_->Info().last_height, 2);
  EXPECT_EQ(app_->Info().last_app_hash, hash);
}

TEST_F(ApplicationTest, PreCheckedBlockVerifiesNoSignature) {
  KeyPair a = TestKey(1);
  std::vector<std::string> txs;
  for (int i = 0; i < 20; ++i) txs.push_back(Create(a, 1, i));
  for (const std::string& tx : txs) ASSERT_TRUE(app_->CheckTx(tx).status.ok());
  uint64_t before = VerifyCount();
  FinalizedBlock block = Commit(1, txs);
  EXPECT_EQ(VerifyCount(), before);
  for (const TxResult& result : block.results) EXPECT_TRUE(result.status.ok());
}

TEST_F(ApplicationTest, FailedRecheckDropsTheCachedResult) {
  KeyPair a = TestKey(1);
  std::string create = Create(a);
  ASSERT_TRUE(app_->CheckTx(create).status.ok());
  size_t cached = app_->cache().size();
  Commit(1, {Create(a, 1, 1)});
  EXPECT_TRUE(app_->CheckTx(create, /*recheck=*/true).status.ok());
  EXPECT_EQ(app_->cache().size(), cached);
  Commit(2, {create});
  ASSERT_TRUE(app_->CheckTx(create).status.code() == ErrorCode::kDuplicateTransaction);
  size_t before = app_->cache().size();
  EXPECT_EQ(app_->CheckTx(create, /*recheck=*/true).status.code(),
            ErrorCode::kDuplicateTransaction);
  EXPECT_EQ(app_->cache().size(), before - 1);
}

// A transaction that passed against committed state is not read again while
// nothing it depends on changed; every verdict must still equal the one of an
// Application that checks everything afresh.
TEST_F(ApplicationTest, RememberedPassesFollowEachBlock) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  std::string create = Create(a);
  std::string asset = IdOf(create);
  Commit(1, {create});
  auto recheck_as_fresh = [&](const std::string& tx) {
    Application fresh(store_.get());
    Status remembered = app_->CheckTx(tx, /*recheck=*/true).status;
    EXPECT_EQ(remembered.ToString(), fresh.CheckTx(tx).status.ToString());
    return remembered.code();
  };
  std::string to_b = Transfer(create, 0, a, asset, b);
  std::string to_c = Transfer(create, 0, a, asset, c);
  std::string other = Create(a, 1, 7);
  for (const std::string& tx : {to_b, to_c, other}) ASSERT_TRUE(app_->CheckTx(tx).status.ok());

  Commit(2, {to_b});
  EXPECT_EQ(recheck_as_fresh(to_c), ErrorCode::kDoubleSpend);
  EXPECT_EQ(recheck_as_fresh(other), ErrorCode::kOk);
  EXPECT_EQ(recheck_as_fresh(to_b), ErrorCode::kDuplicateTransaction);

  // Two blocks pass with no check in between.
  Commit(3, {});
  Commit(4, {Create(a, 1, 8)});
  EXPECT_EQ(recheck_as_fresh(other), ErrorCode::kOk);

  // In a block, an earlier transaction overrides a remembered pass.
  std::string b_to_c = Transfer(to_b, 0, b, asset, c);
  std::string b_to_a = Transfer(to_b, 0, b, asset, a);
  for (const std::string& tx : {b_to_c, b_to_a}) ASSERT_TRUE(app_->CheckTx(tx).status.ok());
  FinalizedBlock block = Commit(5, {b_to_c, b_to_a, other, other});
  EXPECT_EQ(Codes(block), (std::vector<ErrorCode>{ErrorCode::kOk, ErrorCode::kDoubleSpend,
                                                  ErrorCode::kOk,
                                                  ErrorCode::kDuplicateTransaction}));
  EXPECT_NE(block.results[1].status.message().find("already spent by " + IdOf(b_to_c)),
            std::string::npos);
}

TEST_F(ApplicationTest, InitChainIsRemembered) {
  std::string error;
  ASSERT_TRUE(app_->InitChain("test-chain", 1, R"([{"power":10}])", &error)) << error;
  Reopen();
  EXPECT_EQ(app_->Info().chain_id, "test-chain");
  EXPECT_EQ(store_->LoadChainState().validators_json, R"([{"power":10}])");
}

}  // namespace
}  // namespace ledger
