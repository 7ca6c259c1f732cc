// The Tendermint v0.34 / CometBFT v0.37 service
// (tendermint.abci.ABCIApplication): each method called with the generated
// stub over a real gRPC channel, against an Application on a real LevelDB
// store in a temporary directory. Blocks are also run through the v0.38
// service on a second store, and the two must agree byte for byte.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
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
using LegacyStub = pb::ABCIApplication::Stub;
using V038Stub = pb::ABCI::Stub;

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

// A served ledger on its own store, with a stub for each tendermint.abci
// service.
struct Node {
  explicit Node(const std::string& dir) : ledger(dir) { Connect(); }

  // Restarts the process on the same directory and reconnects.
  void Reopen() {
    ledger.Reopen();
    Connect();
  }

  void Connect() {
    const std::shared_ptr<grpc::Channel> channel = ledger.Channel();
    current = pb::ABCI::NewStub(channel);
    legacy = pb::ABCIApplication::NewStub(channel);
  }

  ledger_test::ServedLedger ledger;
  std::unique_ptr<V038Stub> current;
  std::unique_ptr<LegacyStub> legacy;
};

// What a block returned through the v0.34/v0.37 calls.
struct DeliveredBlock {
  std::vector<pb::ResponseDeliverTx> results;
  std::string app_hash;  // ResponseCommit.data
};

class LegacyAbciServiceTest : public ::testing::Test {
 protected:
  LegacyAbciServiceTest() : node_(dir_.path()) {}

  pb::ResponseInfo Info(const std::string& engine_version, const std::string& abci_version) {
    pb::RequestInfo request;
    request.set_version(engine_version);
    request.set_block_version(11);
    request.set_p2p_version(8);
    request.set_abci_version(abci_version);
    pb::ResponseInfo response;
    EXPECT_TRUE(Call(*node_.legacy, &LegacyStub::Info, request, &response).ok());
    return response;
  }

  grpc::Status BeginBlock(int64_t height) {
    pb::RequestBeginBlock request;
    request.set_hash(std::string(32, 'H'));
    request.mutable_header()->set_chain_id("test-chain");
    request.mutable_header()->set_height(height);
    pb::ResponseBeginBlock response;
    grpc::Status status = Call(*node_.legacy, &LegacyStub::BeginBlock, request, &response);
    EXPECT_EQ(response.events_size(), 0);
    return status;
  }

  pb::ResponseDeliverTx DeliverTx(const std::string& tx) {
    pb::RequestDeliverTx request;
    request.set_tx(tx);
    pb::ResponseDeliverTx response;
    EXPECT_TRUE(Call(*node_.legacy, &LegacyStub::DeliverTx, request, &response).ok());
    return response;
  }

  void EndBlock(int64_t height) {
    pb::RequestEndBlock request;
    request.set_height(height);
    pb::ResponseEndBlock response;
    EXPECT_TRUE(Call(*node_.legacy, &LegacyStub::EndBlock, request, &response).ok());
    EXPECT_EQ(response.validator_updates_size(), 0);
    EXPECT_FALSE(response.has_consensus_param_updates());
    EXPECT_EQ(response.events_size(), 0);
  }

  grpc::Status Commit(pb::ResponseCommit* response) {
    pb::RequestCommit request;
    return Call(*node_.legacy, &LegacyStub::Commit, request, response);
  }

  // BeginBlock, DeliverTx for each tx, EndBlock and Commit.
  DeliveredBlock DeliverBlock(int64_t height, const std::vector<std::string>& txs) {
    DeliveredBlock block;
    EXPECT_TRUE(BeginBlock(height).ok());
    for (const std::string& tx : txs) block.results.push_back(DeliverTx(tx));
    EndBlock(height);
    pb::ResponseCommit commit;
    EXPECT_TRUE(Commit(&commit).ok());
    EXPECT_EQ(commit.retain_height(), 0);
    block.app_hash = commit.data();
    return block;
  }

  pb::ResponseCheckTx CheckTx(const std::string& tx, pb::CheckTxType type) {
    pb::RequestCheckTx request;
    request.set_tx(tx);
    request.set_type(type);
    pb::ResponseCheckTx response;
    EXPECT_TRUE(Call(*node_.legacy, &LegacyStub::CheckTx, request, &response).ok());
    return response;
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir dir_;
  Node node_;
};

TEST_F(LegacyAbciServiceTest, EchoAndFlushAnswer) {
  pb::RequestEcho echo_request;
  echo_request.set_message("hello");
  pb::ResponseEcho echo_response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::Echo, echo_request, &echo_response).ok());
  EXPECT_EQ(echo_response.message(), "hello");

  pb::RequestFlush flush_request;
  pb::ResponseFlush flush_response;
  EXPECT_TRUE(Call(*node_.legacy, &LegacyStub::Flush, flush_request, &flush_response).ok());
}

TEST_F(LegacyAbciServiceTest, InfoLogsTheEngineVersionAndTheServiceOnce) {
  const pb::ResponseInfo info = Info("0.34.24", "");
  EXPECT_EQ(info.data(), "ledgerd");
  EXPECT_EQ(info.version(), "9.9.9");
  EXPECT_EQ(info.app_version(), 1u);
  EXPECT_EQ(info.last_block_height(), 0);
  Info("0.34.24", "");

  const std::vector<std::string> lines = node_.ledger.LogLinesAt(abci::LogSeverity::kInfo);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("consensus engine connected: version 0.34.24"), std::string::npos);
  EXPECT_NE(lines[0].find("via tendermint.abci.ABCIApplication"), std::string::npos);
  EXPECT_TRUE(node_.ledger.LogLinesAt(abci::LogSeverity::kWarn).empty());

  Info("0.37.15", "1.0.0");
  EXPECT_EQ(node_.ledger.LogLinesAt(abci::LogSeverity::kInfo).size(), 2u);
  EXPECT_TRUE(node_.ledger.LogLinesAt(abci::LogSeverity::kWarn).empty());
}

TEST_F(LegacyAbciServiceTest, SetOptionIsAnsweredAndIgnored) {
  pb::RequestSetOption request;
  request.set_key("serial");
  request.set_value("on");
  pb::ResponseSetOption response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::SetOption, request, &response).ok());
  EXPECT_EQ(response.code(), 0u);
  EXPECT_FALSE(response.log().empty());
}

TEST_F(LegacyAbciServiceTest, InitChainStoresTheChain) {
  pb::RequestInitChain request;
  request.set_chain_id("legacy-chain");
  request.set_initial_height(1);
  request.mutable_consensus_params()->mutable_block()->set_max_bytes(22020096);
  pb::ValidatorUpdate* validator = request.add_validators();
  validator->mutable_pub_key()->set_ed25519(std::string(32, '\x01'));
  validator->set_power(10);
  pb::ResponseInitChain response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::InitChain, request, &response).ok());

  EXPECT_EQ(response.ByteSizeLong(), 0u);
  EXPECT_EQ(node_.ledger.store().LoadChainState().chain_id, "legacy-chain");
}

TEST_F(LegacyAbciServiceTest, DeliverTxValidatesInBlockOrder) {
  const SignedTx create = SignedCreate(alice_, 3, "block");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 3, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 3, carol_);

  const DeliveredBlock block =
      DeliverBlock(1, {create.json, to_bob.json, to_carol.json, "garbage"});

  ASSERT_EQ(block.results.size(), 4u);
  EXPECT_EQ(block.results[0].code(), 0u) << block.results[0].log();
  EXPECT_EQ(block.results[1].code(), 0u) << block.results[1].log();
  EXPECT_EQ(block.results[2].code(), CodeOf(ledger::ErrorCode::kDoubleSpend));
  EXPECT_EQ(block.results[2].codespace(), "ledger");
  EXPECT_TRUE(block.results[2].log().starts_with("DoubleSpend")) << block.results[2].log();
  EXPECT_EQ(block.results[3].code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  ASSERT_EQ(block.results[1].events_size(), 1);
  const pb::Event& event = block.results[1].events(0);
  EXPECT_EQ(event.type(), "ledger");
  ASSERT_EQ(event.attributes_size(), 3);
  EXPECT_EQ(event.attributes(0).value(), to_bob.id);
  EXPECT_EQ(event.attributes(1).value(), create.id);
  EXPECT_EQ(event.attributes(2).value(), "TRANSFER");
  EXPECT_TRUE(event.attributes(2).index());
  EXPECT_EQ(block.results[2].events_size(), 0);
  EXPECT_EQ(block.app_hash.size(), 32u);
}

TEST_F(LegacyAbciServiceTest, BlocksMatchTheV038AdapterByteForByte) {
  ledger_test::TempDir other_dir;
  Node other(other_dir.path());
  const SignedTx create = SignedCreate(alice_, 5, "same");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 5, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 5, carol_);
  const SignedTx bob_on = SignedTransfer(bob_, to_bob, 0, create.id, 5, carol_);
  const std::vector<std::vector<std::string>> blocks = {
      {create.json, to_bob.json, to_carol.json, std::string("\xff{", 2)},
      {},
      {create.json, bob_on.json, to_carol.json, SignedCreate(bob_, 1, "b").json},
  };

  for (size_t i = 0; i < blocks.size(); ++i) {
    const int64_t height = static_cast<int64_t>(i) + 1;
    const DeliveredBlock delivered = DeliverBlock(height, blocks[i]);

    pb::RequestFinalizeBlock finalize;
    finalize.set_height(height);
    for (const std::string& tx : blocks[i]) finalize.add_txs(tx);
    pb::ResponseFinalizeBlock finalized;
    ASSERT_TRUE(Call(*other.current, &V038Stub::FinalizeBlock, finalize, &finalized).ok());
    pb::RequestCommit commit_request;
    pb::ResponseCommit commit_response;
    ASSERT_TRUE(Call(*other.current, &V038Stub::Commit, commit_request, &commit_response).ok());

    // ResponseDeliverTx and ExecTxResult have the same field numbers, so
    // equal answers serialize to the same bytes.
    ASSERT_EQ(delivered.results.size(), static_cast<size_t>(finalized.tx_results_size()));
    for (size_t k = 0; k < delivered.results.size(); ++k) {
      EXPECT_EQ(delivered.results[k].SerializeAsString(),
                finalized.tx_results(static_cast<int>(k)).SerializeAsString())
          << "height " << height << ", tx " << k;
    }
    EXPECT_EQ(delivered.app_hash, finalized.app_hash()) << "height " << height;
  }
  EXPECT_EQ(node_.ledger.app().Info().last_app_hash, other.ledger.app().Info().last_app_hash);
  EXPECT_EQ(node_.ledger.store().GetTransaction(bob_on.id),
            other.ledger.store().GetTransaction(bob_on.id));
}

TEST_F(LegacyAbciServiceTest, CommitAnswersTheAppHashThatInfoThenReports) {
  const DeliveredBlock block = DeliverBlock(1, {SignedCreate(alice_, 1, "commit").json});
  ASSERT_EQ(block.app_hash.size(), 32u);
  const pb::ResponseInfo info = Info("0.34.24", "");
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), block.app_hash);
}

TEST_F(LegacyAbciServiceTest, BlockWithoutTransactionsCommitsAndKeepsTheAppHash) {
  const std::string first = DeliverBlock(1, {SignedCreate(alice_, 1, "first").json}).app_hash;
  EXPECT_EQ(DeliverBlock(2, {}).app_hash, first);
  EXPECT_EQ(DeliverBlock(3, {"garbage"}).app_hash, first);
  EXPECT_EQ(Info("0.34.24", "").last_block_height(), 3);
}

TEST_F(LegacyAbciServiceTest, DeliverTxWithoutBeginBlockIsRefused) {
  pb::RequestDeliverTx request;
  request.set_tx(SignedCreate(alice_, 1, "orphan").json);
  pb::ResponseDeliverTx response;
  EXPECT_EQ(Call(*node_.legacy, &LegacyStub::DeliverTx, request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(node_.ledger.LogLinesAt(abci::LogSeverity::kError).size(), 1u);
}

TEST_F(LegacyAbciServiceTest, CommitWithoutABlockIsAnInternalError) {
  pb::ResponseCommit response;
  EXPECT_EQ(Commit(&response).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(response.data(), "");
}

TEST_F(LegacyAbciServiceTest, BeginBlockAgainReplacesTheUncommittedBlock) {
  const SignedTx dropped = SignedCreate(alice_, 1, "dropped");
  const SignedTx kept = SignedCreate(alice_, 1, "kept");
  ASSERT_TRUE(BeginBlock(1).ok());
  DeliverTx(dropped.json);

  // The engine restarted and sends height 1 again, with other transactions.
  const DeliveredBlock block = DeliverBlock(1, {kept.json});
  EXPECT_EQ(block.results[0].code(), 0u);
  EXPECT_TRUE(node_.ledger.store().GetTransaction(kept.id).has_value());
  EXPECT_FALSE(node_.ledger.store().GetTransaction(dropped.id).has_value());
}

TEST_F(LegacyAbciServiceTest, ReplayAfterCrashBeforeCommitYieldsTheSameAppHash) {
  const SignedTx create = SignedCreate(alice_, 1, "replay");
  const SignedTx transfer = SignedTransfer(alice_, create, 0, create.id, 1, bob_);
  const std::string first = DeliverBlock(1, {create.json}).app_hash;
  ASSERT_TRUE(BeginBlock(2).ok());
  EXPECT_EQ(DeliverTx(transfer.json).code(), 0u);
  EndBlock(2);
  node_.Reopen();  // the process died before Commit

  const pb::ResponseInfo info = Info("0.34.24", "");
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), first);
  const DeliveredBlock replayed = DeliverBlock(2, {transfer.json});
  EXPECT_EQ(replayed.results[0].code(), 0u);
  node_.Reopen();
  EXPECT_EQ(Info("0.34.24", "").last_block_height(), 2);
  EXPECT_EQ(Info("0.34.24", "").last_block_app_hash(), replayed.app_hash);
}

TEST_F(LegacyAbciServiceTest, CheckTxAndRecheckAnswerAsTheV038Adapter) {
  const SignedTx create = SignedCreate(alice_, 2, "mempool");
  const SignedTx to_bob = SignedTransfer(alice_, create, 0, create.id, 2, bob_);
  const SignedTx to_carol = SignedTransfer(alice_, create, 0, create.id, 2, carol_);
  DeliverBlock(1, {create.json});
  const pb::ResponseCheckTx admitted = CheckTx(to_carol.json, pb::NEW);
  EXPECT_EQ(admitted.code(), 0u) << admitted.log();
  EXPECT_EQ(admitted.priority(), 0);
  EXPECT_EQ(admitted.sender(), "");

  DeliverBlock(2, {to_bob.json});

  const pb::ResponseCheckTx recheck = CheckTx(to_carol.json, pb::RECHECK);
  EXPECT_EQ(recheck.code(), CodeOf(ledger::ErrorCode::kDoubleSpend));
  EXPECT_EQ(recheck.codespace(), "ledger");
  EXPECT_EQ(CheckTx("garbage", pb::NEW).code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
}

TEST_F(LegacyAbciServiceTest, QueryFindsTransactionsDeliveredThroughTheLegacyCalls) {
  const SignedTx create = SignedCreate(alice_, 1, "query");
  DeliverBlock(1, {create.json});

  pb::RequestQuery request;
  request.set_path("/tx");
  request.set_data(create.id);
  pb::ResponseQuery response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::Query, request, &response).ok());
  EXPECT_EQ(response.code(), 0u) << response.log();
  EXPECT_EQ(response.value(), create.json);
  EXPECT_EQ(response.height(), 1);

  request.set_path("/store");
  pb::ResponseQuery unknown;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::Query, request, &unknown).ok());
  EXPECT_EQ(unknown.code(), abci::kQueryUnknownPath);
}

TEST_F(LegacyAbciServiceTest, ProposalCallsOfV037AnswerAsTheV038Adapter) {
  pb::RequestPrepareProposal prepare;
  prepare.set_max_tx_bytes(2 * 102 + 50);  // two 100-byte txs fit, with their prefixes
  for (char c : std::string("xyz")) prepare.add_txs(std::string(100, c));
  pb::ResponsePrepareProposal prepared;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::PrepareProposal, prepare, &prepared).ok());
  ASSERT_EQ(prepared.txs_size(), 2);
  EXPECT_EQ(prepared.txs(1), std::string(100, 'y'));

  pb::RequestProcessProposal process;
  process.add_txs("garbage is refused later, one tx at a time");
  pb::ResponseProcessProposal processed;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::ProcessProposal, process, &processed).ok());
  EXPECT_EQ(processed.status(), pb::ResponseProcessProposal::ACCEPT);
}

TEST_F(LegacyAbciServiceTest, SnapshotCallsOnANodeWithoutSnapshots) {
  pb::RequestListSnapshots list_request;
  pb::ResponseListSnapshots list_response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::ListSnapshots, list_request, &list_response).ok());
  EXPECT_EQ(list_response.snapshots_size(), 0);

  pb::RequestOfferSnapshot offer_request;
  pb::ResponseOfferSnapshot offer_response;
  ASSERT_TRUE(Call(*node_.legacy, &LegacyStub::OfferSnapshot, offer_request, &offer_response).ok());
  EXPECT_EQ(offer_response.result(), pb::ResponseOfferSnapshot::REJECT_FORMAT);

  pb::RequestLoadSnapshotChunk load_request;
  pb::ResponseLoadSnapshotChunk load_response;
  ASSERT_TRUE(
      Call(*node_.legacy, &LegacyStub::LoadSnapshotChunk, load_request, &load_response).ok());
  EXPECT_EQ(load_response.chunk(), "");

  pb::RequestApplySnapshotChunk apply_request;
  pb::ResponseApplySnapshotChunk apply_response;
  ASSERT_TRUE(
      Call(*node_.legacy, &LegacyStub::ApplySnapshotChunk, apply_request, &apply_response).ok());
  EXPECT_EQ(apply_response.result(), pb::ResponseApplySnapshotChunk::ABORT);
}

}  // namespace
