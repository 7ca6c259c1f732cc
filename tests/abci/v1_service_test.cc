// The CometBFT v1.0 service (cometbft.abci.v1.ABCIService): every method
// called with the generated stub over a real gRPC channel, against an
// Application on a real LevelDB store in a temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "abci/responder.h"
#include "cometbft/abci/v1/types.grpc.pb.h"
#include "ledger/status.h"
#include "tests/abci/served_ledger.h"
#include "tests/abci/test_ledger.h"

namespace {

namespace v1 = cometbft::abci::v1;
using ledger_test::Call;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;
using Stub = v1::ABCIService::Stub;

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

class CometBft1ServiceTest : public ::testing::Test {
 protected:
  CometBft1ServiceTest()
      : ledger_(dir_.path()), stub_(v1::ABCIService::NewStub(ledger_.Channel())) {}

  v1::InfoResponse Info() {
    v1::InfoRequest request;
    request.set_version("1.0.1");
    request.set_block_version(11);
    request.set_p2p_version(9);
    request.set_abci_version("2.1.0");
    v1::InfoResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
    return response;
  }

  v1::CheckTxResponse CheckTx(const std::string& tx, v1::CheckTxType type) {
    v1::CheckTxRequest request;
    request.set_tx(tx);
    request.set_type(type);
    v1::CheckTxResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::CheckTx, request, &response).ok());
    return response;
  }

  v1::FinalizeBlockResponse FinalizeBlock(int64_t height, const std::vector<std::string>& txs) {
    v1::FinalizeBlockRequest request;
    request.set_height(height);
    request.set_syncing_to_height(height);
    for (const std::string& tx : txs) request.add_txs(tx);
    v1::FinalizeBlockResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::FinalizeBlock, request, &response).ok());
    return response;
  }

  grpc::Status Commit(v1::CommitResponse* response) {
    return Call(*stub_, &Stub::Commit, v1::CommitRequest(), response);
  }

  // Executes and commits one block; returns its app hash.
  std::string CommitBlock(int64_t height, const std::vector<std::string>& txs) {
    const std::string app_hash = FinalizeBlock(height, txs).app_hash();
    v1::CommitResponse response;
    EXPECT_TRUE(Commit(&response).ok());
    return app_hash;
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir dir_;
  ledger_test::ServedLedger ledger_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(CometBft1ServiceTest, EchoAndFlushAnswer) {
  v1::EchoRequest echo;
  echo.set_message("hello");
  v1::EchoResponse echoed;
  ASSERT_TRUE(Call(*stub_, &Stub::Echo, echo, &echoed).ok());
  EXPECT_EQ(echoed.message(), "hello");

  v1::FlushResponse flushed;
  EXPECT_TRUE(Call(*stub_, &Stub::Flush, v1::FlushRequest(), &flushed).ok());
}

TEST_F(CometBft1ServiceTest, InfoReportsTheAppAndLogsTheEngineOnceWithoutAWarning) {
  const v1::InfoResponse info = Info();
  EXPECT_EQ(info.data(), "ledgerd");
  EXPECT_EQ(info.version(), "9.9.9");
  EXPECT_EQ(info.app_version(), 1u);
  EXPECT_EQ(info.last_block_height(), 0);
  EXPECT_EQ(info.last_block_app_hash(), "");
  Info();

  const std::vector<std::string> lines = ledger_.LogLinesAt(abci::LogSeverity::kInfo);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("version 1.0.1, ABCI 2.1.0"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("via cometbft.abci.v1.ABCIService"), std::string::npos) << lines[0];
  EXPECT_TRUE(ledger_.LogLinesAt(abci::LogSeverity::kWarn).empty());
}

TEST_F(CometBft1ServiceTest, InfoWarnsAboutAnEngineOfAnotherAbciVersion) {
  v1::InfoRequest request;
  request.set_version("0.37.4");
  request.set_abci_version("1.0.0");
  v1::InfoResponse response;
  ASSERT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
  const std::vector<std::string> warnings = ledger_.LogLinesAt(abci::LogSeverity::kWarn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cometbft.abci.v1.ABCIService serves ABCI 2.1"), std::string::npos)
      << warnings[0];
}

TEST_F(CometBft1ServiceTest, InitChainStoresTheValidatorsKeyTypeAndKeyAsJson) {
  v1::InitChainRequest request;
  request.set_chain_id("v1-chain");
  request.set_initial_height(1);
  v1::ValidatorUpdate* validator = request.add_validators();
  validator->set_pub_key_type("ed25519");
  validator->set_pub_key_bytes(std::string(32, '\x01'));
  validator->set_power(10);
  v1::InitChainResponse response;
  ASSERT_TRUE(Call(*stub_, &Stub::InitChain, request, &response).ok());

  EXPECT_EQ(response.ByteSizeLong(), 0u);
  const ledger::ChainState chain = ledger_.store().LoadChainState();
  EXPECT_EQ(chain.chain_id, "v1-chain");
  EXPECT_EQ(chain.initial_height, 1);
  // The same JSON as the v0.38 service makes from a PublicKey message.
  EXPECT_EQ(chain.validators_json, R"([{"power":10,"pub_key":{"type":"ed25519",)"
                                   R"("value":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}}])");
}

TEST_F(CometBft1ServiceTest, CheckTxOfTypeCheckRunsEveryCheck) {
  const v1::CheckTxResponse admitted =
      CheckTx(SignedCreate(alice_, 1, "admit").json, v1::CHECK_TX_TYPE_CHECK);
  EXPECT_EQ(admitted.code(), 0u) << admitted.log();
  EXPECT_EQ(admitted.SerializeAsString(), "");

  const v1::CheckTxResponse refused = CheckTx("not a transaction", v1::CHECK_TX_TYPE_CHECK);
  EXPECT_EQ(refused.code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  EXPECT_EQ(refused.codespace(), "ledger");
  EXPECT_TRUE(refused.log().starts_with("MalformedTransaction")) << refused.log();
}

TEST_F(CometBft1ServiceTest, RecheckRefusesATransferWhoseInputWasSpentAndKeepsTheValidOnes) {
  const SignedTx create = SignedCreate(alice_, 5, "recheck");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 5, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 5, carol_);
  const SignedTx other = SignedCreate(bob_, 1, "still valid");
  CommitBlock(1, {create.json});
  ASSERT_EQ(CheckTx(to_carol.json, v1::CHECK_TX_TYPE_CHECK).code(), 0u);
  ASSERT_EQ(CheckTx(other.json, v1::CHECK_TX_TYPE_CHECK).code(), 0u);

  CommitBlock(2, {to_bob.json});

  const v1::CheckTxResponse recheck = CheckTx(to_carol.json, v1::CHECK_TX_TYPE_RECHECK);
  EXPECT_EQ(recheck.code(), CodeOf(ledger::ErrorCode::kDoubleSpend)) << recheck.log();
  EXPECT_EQ(recheck.codespace(), "ledger");
  EXPECT_EQ(CheckTx(other.json, v1::CHECK_TX_TYPE_RECHECK).code(), 0u);
}

TEST_F(CometBft1ServiceTest, ProposalCallsProposeWhatFitsAndAccept) {
  v1::PrepareProposalRequest prepare;
  prepare.set_max_tx_bytes(2 * 102 + 50);  // two 100-byte txs fit, with their prefixes
  for (char c : std::string("xyz")) prepare.add_txs(std::string(100, c));
  v1::PrepareProposalResponse prepared;
  ASSERT_TRUE(Call(*stub_, &Stub::PrepareProposal, prepare, &prepared).ok());
  ASSERT_EQ(prepared.txs_size(), 2);
  EXPECT_EQ(prepared.txs(0), std::string(100, 'x'));
  EXPECT_EQ(prepared.txs(1), std::string(100, 'y'));

  v1::ProcessProposalRequest process;
  process.add_txs("garbage is refused later, one tx at a time");
  v1::ProcessProposalResponse processed;
  ASSERT_TRUE(Call(*stub_, &Stub::ProcessProposal, process, &processed).ok());
  EXPECT_EQ(processed.status(), v1::PROCESS_PROPOSAL_STATUS_ACCEPT);
}

TEST_F(CometBft1ServiceTest, FinalizeBlockAnswersOneResultPerTxWithIndexedLedgerEvents) {
  const SignedTx create = SignedCreate(alice_, 3, "block");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 3, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 3, carol_);

  const v1::FinalizeBlockResponse response =
      FinalizeBlock(1, {create.json, to_bob.json, to_carol.json, "garbage"});

  ASSERT_EQ(response.tx_results_size(), 4);
  EXPECT_EQ(response.tx_results(0).code(), 0u) << response.tx_results(0).log();
  EXPECT_EQ(response.tx_results(1).code(), 0u) << response.tx_results(1).log();
  EXPECT_EQ(response.tx_results(2).code(), CodeOf(ledger::ErrorCode::kDoubleSpend));
  EXPECT_EQ(response.tx_results(3).code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  EXPECT_EQ(response.tx_results(2).events_size(), 0);
  EXPECT_EQ(response.app_hash().size(), 32u);
  ASSERT_EQ(response.tx_results(1).events_size(), 1);
  const v1::Event& event = response.tx_results(1).events(0);
  EXPECT_EQ(event.type(), "ledger");
  ASSERT_EQ(event.attributes_size(), 3);
  EXPECT_EQ(event.attributes(0).key(), "id");
  EXPECT_EQ(event.attributes(0).value(), to_bob.id);
  EXPECT_EQ(event.attributes(1).key(), "asset_id");
  EXPECT_EQ(event.attributes(1).value(), create.id);
  EXPECT_EQ(event.attributes(2).key(), "operation");
  EXPECT_EQ(event.attributes(2).value(), "TRANSFER");
  for (const v1::EventAttribute& attribute : event.attributes()) EXPECT_TRUE(attribute.index());
}

TEST_F(CometBft1ServiceTest, CommitKeepsEveryBlockAndInfoThenReportsTheAppHash) {
  FinalizeBlock(1, {SignedCreate(alice_, 1, "commit").json});
  v1::CommitResponse commit;
  ASSERT_TRUE(Commit(&commit).ok());
  EXPECT_EQ(commit.SerializeAsString(), "");  // retain_height 0, and no app hash here

  const std::string app_hash = CommitBlock(2, {SignedCreate(alice_, 1, "second").json});
  const v1::InfoResponse info = Info();
  EXPECT_EQ(info.last_block_height(), 2);
  EXPECT_EQ(info.last_block_app_hash(), app_hash);
}

TEST_F(CometBft1ServiceTest, CommitWithoutAFinalizedBlockIsAnInternalError) {
  v1::CommitResponse response;
  EXPECT_EQ(Commit(&response).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ledger_.LogLinesAt(abci::LogSeverity::kError).size(), 1u);
}

TEST_F(CometBft1ServiceTest, QueryFindsACommittedTransaction) {
  const SignedTx create = SignedCreate(alice_, 1, "query");
  CommitBlock(1, {create.json});

  v1::QueryRequest request;
  request.set_path("/tx");
  request.set_data(create.id);
  v1::QueryResponse found;
  ASSERT_TRUE(Call(*stub_, &Stub::Query, request, &found).ok());
  EXPECT_EQ(found.code(), 0u) << found.log();
  EXPECT_EQ(found.key(), create.id);
  EXPECT_EQ(found.value(), create.json);
  EXPECT_EQ(found.height(), 1);

  request.set_path("/store");
  v1::QueryResponse unknown;
  ASSERT_TRUE(Call(*stub_, &Stub::Query, request, &unknown).ok());
  EXPECT_EQ(unknown.code(), abci::kQueryUnknownPath);
  EXPECT_EQ(unknown.codespace(), "ledger");
}

TEST_F(CometBft1ServiceTest, VoteExtensionsAreEmptyAndAccepted) {
  v1::ExtendVoteRequest extend;
  extend.set_height(1);
  v1::ExtendVoteResponse extended;
  ASSERT_TRUE(Call(*stub_, &Stub::ExtendVote, extend, &extended).ok());
  EXPECT_EQ(extended.vote_extension(), "");

  v1::VerifyVoteExtensionRequest verify;
  verify.set_vote_extension("anything");
  v1::VerifyVoteExtensionResponse verified;
  ASSERT_TRUE(Call(*stub_, &Stub::VerifyVoteExtension, verify, &verified).ok());
  EXPECT_EQ(verified.status(), v1::VERIFY_VOTE_EXTENSION_STATUS_ACCEPT);
}

TEST_F(CometBft1ServiceTest, SnapshotCallsOnANodeWithoutSnapshots) {
  v1::ListSnapshotsResponse listed;
  ASSERT_TRUE(Call(*stub_, &Stub::ListSnapshots, v1::ListSnapshotsRequest(), &listed).ok());
  EXPECT_EQ(listed.snapshots_size(), 0);

  v1::OfferSnapshotResponse offered;
  ASSERT_TRUE(Call(*stub_, &Stub::OfferSnapshot, v1::OfferSnapshotRequest(), &offered).ok());
  EXPECT_EQ(offered.result(), v1::OFFER_SNAPSHOT_RESULT_REJECT_FORMAT);

  v1::LoadSnapshotChunkResponse loaded;
  ASSERT_TRUE(Call(*stub_, &Stub::LoadSnapshotChunk, v1::LoadSnapshotChunkRequest(), &loaded).ok());
  EXPECT_EQ(loaded.chunk(), "");

  v1::ApplySnapshotChunkResponse applied;
  ASSERT_TRUE(
      Call(*stub_, &Stub::ApplySnapshotChunk, v1::ApplySnapshotChunkRequest(), &applied).ok());
  EXPECT_EQ(applied.result(), v1::APPLY_SNAPSHOT_CHUNK_RESULT_ABORT);
}

}  // namespace
