// The CometBFT v0.38 service (tendermint.abci.ABCI): each method called
// with the generated stub over a real gRPC channel, against an Application on
// a real LevelDB store in a temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "abci/responder.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/status.h"
#include "tendermint/abci/types.grpc.pb.h"
#include "tests/abci/served_ledger.h"
#include "tests/abci/test_ledger.h"

namespace {

namespace pb = tendermint::abci;
using ledger_test::Call;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;
using Stub = pb::ABCI::Stub;

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

// True when `message` survives a protobuf round trip, which in proto3
// requires every string field to be valid UTF-8 (as CometBFT's decoder does).
bool RoundTrips(const google::protobuf::Message& message) {
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  return copy->ParseFromString(message.SerializeAsString());
}

class AbciServiceTest : public ::testing::Test {
 protected:
  AbciServiceTest() : ledger_(dir_.path()) { Connect(); }

  // Restarts the process on the same directory and reconnects.
  void Open() {
    ledger_.Reopen();
    Connect();
  }

  void Connect() { stub_ = pb::ABCI::NewStub(ledger_.Channel()); }

  pb::ResponseInfo Info(const std::string& engine_version = "0.38.25") {
    pb::RequestInfo request;
    request.set_version(engine_version);
    request.set_abci_version("2.0.0");
    pb::ResponseInfo response;
    EXPECT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
    return response;
  }

  pb::ResponseCheckTx CheckTx(const std::string& tx, pb::CheckTxType type = pb::NEW) {
    pb::RequestCheckTx request;
    request.set_tx(tx);
    request.set_type(type);
    pb::ResponseCheckTx response;
    EXPECT_TRUE(Call(*stub_, &Stub::CheckTx, request, &response).ok());
    return response;
  }

  pb::ResponseFinalizeBlock FinalizeBlock(int64_t height, const std::vector<std::string>& txs) {
    pb::RequestFinalizeBlock request;
    request.set_height(height);
    for (const std::string& tx : txs) request.add_txs(tx);
    pb::ResponseFinalizeBlock response;
    EXPECT_TRUE(Call(*stub_, &Stub::FinalizeBlock, request, &response).ok());
    return response;
  }

  grpc::Status Commit() {
    pb::RequestCommit request;
    pb::ResponseCommit response;
    grpc::Status status = Call(*stub_, &Stub::Commit, request, &response);
    EXPECT_EQ(response.retain_height(), 0);
    return status;
  }

  pb::ResponseQuery Query(const std::string& path, const std::string& data) {
    pb::RequestQuery request;
    request.set_path(path);
    request.set_data(data);
    pb::ResponseQuery response;
    EXPECT_TRUE(Call(*stub_, &Stub::Query, request, &response).ok());
    return response;
  }

  // Executes and commits one block; returns its app hash.
  std::string CommitBlock(int64_t height, const std::vector<std::string>& txs) {
    const std::string app_hash = FinalizeBlock(height, txs).app_hash();
    EXPECT_TRUE(Commit().ok());
    return app_hash;
  }

  size_t LogLinesAt(abci::LogSeverity severity) { return ledger_.LogLinesAt(severity).size(); }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir dir_;
  ledger_test::ServedLedger ledger_;
  std::unique_ptr<Stub> stub_;
};

// The codes are a wire contract documented in docs/cometbft.md: clients and
// CometBFT's tx_search results keep them, so they must never be renumbered.
TEST(AbciCodesTest, CodesMatchTheDocumentedTable) {
  const std::pair<ledger::ErrorCode, uint32_t> table[] = {
      {ledger::ErrorCode::kOk, 0},
      {ledger::ErrorCode::kMalformedTransaction, 1},
      {ledger::ErrorCode::kInvalidHash, 2},
      {ledger::ErrorCode::kSchemaValidationError, 3},
      {ledger::ErrorCode::kInvalidSignature, 4},
      {ledger::ErrorCode::kDuplicateTransaction, 5},
      {ledger::ErrorCode::kInputDoesNotExist, 6},
      {ledger::ErrorCode::kDoubleSpend, 7},
      {ledger::ErrorCode::kAssetIdMismatch, 8},
      {ledger::ErrorCode::kAmountError, 9},
      {ledger::ErrorCode::kThresholdTooDeep, 10},
  };
  for (const auto& [code, number] : table) {
    EXPECT_EQ(CodeOf(code), number) << ledger::ErrorName(code);
  }
  EXPECT_EQ(abci::kQueryUnknownPath, 100u);
  EXPECT_EQ(abci::kQueryTransactionNotFound, 101u);
  EXPECT_EQ(abci::kQueryBadTransactionId, 102u);
}

TEST_F(AbciServiceTest, EchoReturnsTheMessage) {
  pb::RequestEcho request;
  request.set_message("hello");
  pb::ResponseEcho response;
  ASSERT_TRUE(Call(*stub_, &Stub::Echo, request, &response).ok());
  EXPECT_EQ(response.message(), "hello");
}

TEST_F(AbciServiceTest, FlushAnswers) {
  pb::RequestFlush request;
  pb::ResponseFlush response;
  EXPECT_TRUE(Call(*stub_, &Stub::Flush, request, &response).ok());
}

TEST_F(AbciServiceTest, InfoOnEmptyStoreReportsHeightZero) {
  const pb::ResponseInfo info = Info();
  EXPECT_EQ(info.data(), "ledgerd");
  EXPECT_EQ(info.version(), "9.9.9");
  EXPECT_EQ(info.app_version(), 1u);
  EXPECT_EQ(info.last_block_height(), 0);
  EXPECT_EQ(info.last_block_app_hash(), "");
}

TEST_F(AbciServiceTest, InfoLogsEachEngineVersionOnce) {
  Info("0.38.25");
  Info("0.38.25");
  EXPECT_EQ(LogLinesAt(abci::LogSeverity::kInfo), 1u);
  Info("0.38.26");
  EXPECT_EQ(LogLinesAt(abci::LogSeverity::kInfo), 2u);
}

TEST_F(AbciServiceTest, InfoWarnsAboutAnOlderAbciVersion) {
  pb::RequestInfo request;
  request.set_version("0.37.4");
  request.set_abci_version("1.0.0");
  pb::ResponseInfo response;
  ASSERT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
  EXPECT_EQ(LogLinesAt(abci::LogSeverity::kWarn), 1u);
}

TEST_F(AbciServiceTest, InitChainStoresChainIdAndValidatorsAsJson) {
  pb::RequestInitChain request;
  request.set_chain_id("test-chain");
  request.set_initial_height(1);
  pb::ValidatorUpdate* validator = request.add_validators();
  validator->mutable_pub_key()->set_ed25519(std::string(32, '\x01'));
  validator->set_power(10);
  pb::ResponseInitChain response;
  ASSERT_TRUE(Call(*stub_, &Stub::InitChain, request, &response).ok());

  EXPECT_EQ(response.app_hash(), "");
  EXPECT_EQ(response.validators_size(), 0);
  EXPECT_FALSE(response.has_consensus_params());
  const ledger::ChainState chain = ledger_.store().LoadChainState();
  EXPECT_EQ(chain.chain_id, "test-chain");
  EXPECT_EQ(chain.initial_height, 1);
  EXPECT_EQ(chain.validators_json, R"([{"power":10,"pub_key":{"type":"ed25519",)"
                                   R"("value":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}}])");
  EXPECT_EQ(Info().last_block_height(), 0);
}

TEST_F(AbciServiceTest, CheckTxAdmitsAValidCreate) {
  const pb::ResponseCheckTx response = CheckTx(SignedCreate(alice_, 1, "admit").json);
  EXPECT_EQ(response.code(), 0u) << response.log();
  EXPECT_EQ(response.codespace(), "");
}

TEST_F(AbciServiceTest, CheckTxRefusesGarbageAsMalformed) {
  const pb::ResponseCheckTx response = CheckTx("not a transaction");
  EXPECT_EQ(response.code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  EXPECT_EQ(response.codespace(), "ledger");
  EXPECT_TRUE(response.log().starts_with("MalformedTransaction")) << response.log();
}

TEST_F(AbciServiceTest, CheckTxLogsAreValidUtf8AndBounded) {
  const std::vector<std::string> hostile = {
      std::string("\xff\xfe\xfd", 3),
      "{\"id\": \"\xc3\x28\", \"version\": \"2.0\"}",
      "{\"" + std::string(5000, 'k') + "\xed\xa0\x80\": 1}",
      std::string(3000, '['),
  };
  for (const std::string& tx : hostile) {
    const pb::ResponseCheckTx response = CheckTx(tx);
    EXPECT_NE(response.code(), 0u);
    EXPECT_LE(response.log().size(), abci::kMaxLogBytes);
    EXPECT_TRUE(RoundTrips(response)) << response.log();
  }
}

TEST_F(AbciServiceTest, RecheckRefusesATransferWhoseInputWasSpent) {
  const SignedTx create = SignedCreate(alice_, 5, "recheck");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 5, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 5, carol_);
  CommitBlock(1, {create.json});
  ASSERT_EQ(CheckTx(to_carol.json).code(), 0u);

  CommitBlock(2, {to_bob.json});

  const pb::ResponseCheckTx recheck = CheckTx(to_carol.json, pb::RECHECK);
  EXPECT_EQ(recheck.code(), CodeOf(ledger::ErrorCode::kDoubleSpend)) << recheck.log();
  EXPECT_EQ(recheck.codespace(), "ledger");
}

TEST_F(AbciServiceTest, RecheckKeepsAStillValidTransaction) {
  const SignedTx first = SignedCreate(alice_, 1, "first");
  const SignedTx second = SignedCreate(alice_, 1, "second");
  ASSERT_EQ(CheckTx(second.json).code(), 0u);
  CommitBlock(1, {first.json});
  EXPECT_EQ(CheckTx(second.json, pb::RECHECK).code(), 0u);
}

TEST_F(AbciServiceTest, PrepareProposalReturnsEveryTxThatFitsInOrder) {
  pb::RequestPrepareProposal request;
  request.set_max_tx_bytes(1 << 20);
  for (const char* tx : {"c", "a", "b"}) request.add_txs(tx);
  pb::ResponsePrepareProposal response;
  ASSERT_TRUE(Call(*stub_, &Stub::PrepareProposal, request, &response).ok());
  ASSERT_EQ(response.txs_size(), 3);
  EXPECT_EQ(response.txs(0), "c");
  EXPECT_EQ(response.txs(1), "a");
  EXPECT_EQ(response.txs(2), "b");
}

TEST_F(AbciServiceTest, PrepareProposalStopsAtMaxTxBytes) {
  pb::RequestPrepareProposal request;
  // Each 100-byte tx takes 102 bytes in the block (tag and length prefix).
  request.set_max_tx_bytes(2 * 102 + 50);
  for (char c : std::string("xyz")) request.add_txs(std::string(100, c));
  pb::ResponsePrepareProposal response;
  ASSERT_TRUE(Call(*stub_, &Stub::PrepareProposal, request, &response).ok());
  ASSERT_EQ(response.txs_size(), 2);
  EXPECT_EQ(response.txs(0), std::string(100, 'x'));
  EXPECT_EQ(response.txs(1), std::string(100, 'y'));
}

TEST_F(AbciServiceTest, PrepareProposalStaysWithinTheEnginesFourMebibyteReceiveLimit) {
  pb::RequestPrepareProposal request;
  request.set_max_tx_bytes(22020096);  // CometBFT's default block size
  const std::string tx(1 << 20, 't');
  for (int i = 0; i < 10; ++i) request.add_txs(tx);
  pb::ResponsePrepareProposal response;
  ASSERT_TRUE(Call(*stub_, &Stub::PrepareProposal, request, &response).ok());
  EXPECT_EQ(response.txs_size(), 3);
  EXPECT_LE(response.ByteSizeLong(), size_t{4} << 20);
}

TEST_F(AbciServiceTest, PrepareProposalCapsTheNumberOfTxs) {
  pb::RequestPrepareProposal request;
  request.set_max_tx_bytes(int64_t{1} << 30);
  const std::string tx = "t";
  for (size_t i = 0; i < abci::kMaxTxsPerProposal + 10; ++i) request.add_txs(tx);
  pb::ResponsePrepareProposal response;
  ASSERT_TRUE(Call(*stub_, &Stub::PrepareProposal, request, &response).ok());
  EXPECT_EQ(static_cast<size_t>(response.txs_size()), abci::kMaxTxsPerProposal);
}

TEST_F(AbciServiceTest, ProcessProposalAccepts) {
  pb::RequestProcessProposal request;
  request.add_txs("garbage is refused later, one tx at a time");
  pb::ResponseProcessProposal response;
  ASSERT_TRUE(Call(*stub_, &Stub::ProcessProposal, request, &response).ok());
  EXPECT_EQ(response.status(), pb::ResponseProcessProposal::ACCEPT);
}

TEST_F(AbciServiceTest, FinalizeBlockAnswersOneResultPerTxInOrder) {
  const SignedTx create = SignedCreate(alice_, 3, "block");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 3, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 3, carol_);

  const pb::ResponseFinalizeBlock response =
      FinalizeBlock(1, {create.json, to_bob.json, to_carol.json, "garbage"});

  ASSERT_EQ(response.tx_results_size(), 4);
  EXPECT_EQ(response.tx_results(0).code(), 0u) << response.tx_results(0).log();
  EXPECT_EQ(response.tx_results(1).code(), 0u) << response.tx_results(1).log();
  EXPECT_EQ(response.tx_results(2).code(), CodeOf(ledger::ErrorCode::kDoubleSpend));
  EXPECT_EQ(response.tx_results(2).codespace(), "ledger");
  EXPECT_TRUE(response.tx_results(2).log().starts_with("DoubleSpend"));
  EXPECT_EQ(response.tx_results(3).code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  EXPECT_EQ(response.tx_results(2).events_size(), 0);
  EXPECT_EQ(response.tx_results(3).events_size(), 0);
  EXPECT_EQ(response.app_hash().size(), 32u);
  EXPECT_TRUE(RoundTrips(response));
}

TEST_F(AbciServiceTest, FinalizeBlockTagsValidTxsWithIndexedLedgerEvents) {
  const SignedTx create = SignedCreate(alice_, 3, "events");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 3, bob_);

  const pb::ResponseFinalizeBlock response = FinalizeBlock(1, {create.json, to_bob.json});

  ASSERT_EQ(response.tx_results_size(), 2);
  const struct {
    const SignedTx& tx;
    const char* operation;
  } expected[] = {{create, "CREATE"}, {to_bob, "TRANSFER"}};
  for (int i = 0; i < 2; ++i) {
    const pb::ExecTxResult& result = response.tx_results(i);
    ASSERT_EQ(result.events_size(), 1);
    const pb::Event& event = result.events(0);
    EXPECT_EQ(event.type(), "ledger");
    ASSERT_EQ(event.attributes_size(), 3);
    EXPECT_EQ(event.attributes(0).key(), "id");
    EXPECT_EQ(event.attributes(0).value(), expected[i].tx.id);
    EXPECT_EQ(event.attributes(1).key(), "asset_id");
    EXPECT_EQ(event.attributes(1).value(), create.id);
    EXPECT_EQ(event.attributes(2).key(), "operation");
    EXPECT_EQ(event.attributes(2).value(), expected[i].operation);
    for (const pb::EventAttribute& attribute : event.attributes()) EXPECT_TRUE(attribute.index());
  }
}

TEST_F(AbciServiceTest, BlockWithoutValidTxsKeepsTheAppHash) {
  const std::string first = CommitBlock(1, {SignedCreate(alice_, 1, "hash").json});
  ASSERT_EQ(first.size(), 32u);
  EXPECT_EQ(CommitBlock(2, {}), first);
  EXPECT_EQ(CommitBlock(3, {"garbage"}), first);
}

TEST_F(AbciServiceTest, CommitMakesInfoReportTheNewHeightAndAppHash) {
  const std::string app_hash = CommitBlock(1, {SignedCreate(alice_, 1, "commit").json});
  const pb::ResponseInfo info = Info();
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), app_hash);
}

// The v0.34/v0.37 fields share these messages; CometBFT v0.38 reserves their
// numbers, so its answers must leave them out.
TEST_F(AbciServiceTest, AnswersLeaveTheFieldsV038RetiredEmpty) {
  const pb::ResponseCheckTx check = CheckTx(SignedCreate(alice_, 1, "retired").json);
  EXPECT_EQ(check.sender(), "");
  EXPECT_EQ(check.priority(), 0);
  EXPECT_EQ(check.mempool_error(), "");
  EXPECT_EQ(check.SerializeAsString(), "");

  FinalizeBlock(1, {SignedCreate(alice_, 1, "retired").json});
  pb::RequestCommit request;
  pb::ResponseCommit response;
  ASSERT_TRUE(Call(*stub_, &Stub::Commit, request, &response).ok());
  EXPECT_EQ(response.SerializeAsString(), "");
}

TEST_F(AbciServiceTest, CommitWithoutAFinalizedBlockIsAnInternalError) {
  EXPECT_EQ(Commit().error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(LogLinesAt(abci::LogSeverity::kError), 1u);
}

TEST_F(AbciServiceTest, ReplayAfterCrashBeforeCommitYieldsTheSameAppHash) {
  const SignedTx create = SignedCreate(alice_, 1, "replay");
  const std::string before = FinalizeBlock(1, {create.json, "garbage"}).app_hash();
  Open();  // the process died before Commit

  EXPECT_EQ(Info().last_block_height(), 0);
  EXPECT_EQ(CommitBlock(1, {create.json, "garbage"}), before);
  Open();
  EXPECT_EQ(Info().last_block_height(), 1);
  EXPECT_EQ(Info().last_block_app_hash(), before);
}

TEST_F(AbciServiceTest, QueryTxReturnsTheStoredTransaction) {
  const SignedTx create = SignedCreate(alice_, 1, "query");
  CommitBlock(1, {create.json});

  const pb::ResponseQuery response = Query("/tx", create.id);
  EXPECT_EQ(response.code(), 0u) << response.log();
  EXPECT_EQ(response.value(), create.json);
  EXPECT_EQ(response.key(), create.id);
  EXPECT_EQ(response.height(), 1);
}

TEST_F(AbciServiceTest, QueryTxAcceptsTheIdAsRawBytes) {
  const SignedTx create = SignedCreate(alice_, 1, "raw id");
  CommitBlock(1, {create.json});

  const pb::ResponseQuery response = Query("/tx", *ledger::HexDecode(create.id));
  EXPECT_EQ(response.code(), 0u) << response.log();
  EXPECT_EQ(response.value(), create.json);
}

TEST_F(AbciServiceTest, QueryTxOfAnUnknownIdAnswersNotFound) {
  const pb::ResponseQuery response = Query("/tx", std::string(64, 'a'));
  EXPECT_EQ(response.code(), abci::kQueryTransactionNotFound);
  EXPECT_EQ(response.codespace(), "ledger");
  EXPECT_EQ(response.value(), "");
}

TEST_F(AbciServiceTest, QueryTxOfAMalformedIdAnswersACode) {
  EXPECT_EQ(Query("/tx", "xyz").code(), abci::kQueryBadTransactionId);
  EXPECT_EQ(Query("/tx", std::string(64, 'g')).code(), abci::kQueryBadTransactionId);
}

TEST_F(AbciServiceTest, QueryOfAnUnknownPathAnswersACode) {
  const pb::ResponseQuery response = Query("/store", "key");
  EXPECT_EQ(response.code(), abci::kQueryUnknownPath);
  EXPECT_EQ(response.codespace(), "ledger");
  EXPECT_NE(response.log().find("/store"), std::string::npos);
}

TEST_F(AbciServiceTest, VoteExtensionsAreEmptyAndAccepted) {
  pb::RequestExtendVote extend_request;
  pb::ResponseExtendVote extend_response;
  ASSERT_TRUE(Call(*stub_, &Stub::ExtendVote, extend_request, &extend_response).ok());
  EXPECT_EQ(extend_response.vote_extension(), "");

  pb::RequestVerifyVoteExtension verify_request;
  pb::ResponseVerifyVoteExtension verify_response;
  ASSERT_TRUE(Call(*stub_, &Stub::VerifyVoteExtension, verify_request, &verify_response).ok());
  EXPECT_EQ(verify_response.status(), pb::ResponseVerifyVoteExtension::ACCEPT);
}

TEST_F(AbciServiceTest, SnapshotCallsOnANodeWithoutSnapshots) {
  pb::RequestListSnapshots list_request;
  pb::ResponseListSnapshots list_response;
  ASSERT_TRUE(Call(*stub_, &Stub::ListSnapshots, list_request, &list_response).ok());
  EXPECT_EQ(list_response.snapshots_size(), 0);

  pb::RequestOfferSnapshot offer_request;
  pb::ResponseOfferSnapshot offer_response;
  ASSERT_TRUE(Call(*stub_, &Stub::OfferSnapshot, offer_request, &offer_response).ok());
  EXPECT_EQ(offer_response.result(), pb::ResponseOfferSnapshot::REJECT_FORMAT);

  pb::RequestLoadSnapshotChunk load_request;
  pb::ResponseLoadSnapshotChunk load_response;
  ASSERT_TRUE(Call(*stub_, &Stub::LoadSnapshotChunk, load_request, &load_response).ok());
  EXPECT_EQ(load_response.chunk(), "");

  pb::RequestApplySnapshotChunk apply_request;
  pb::ResponseApplySnapshotChunk apply_response;
  ASSERT_TRUE(Call(*stub_, &Stub::ApplySnapshotChunk, apply_request, &apply_response).ok());
  EXPECT_EQ(apply_response.result(), pb::ResponseApplySnapshotChunk::ABORT);
}

}  // namespace
