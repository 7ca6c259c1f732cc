// The real ledgerd binary driven with CometBFT v1.0's calls
// (cometbft.abci.v1.ABCIService) on one connection: the handshake, blocks
// through PrepareProposal, ProcessProposal, FinalizeBlock and Commit, first
// checks and rechecks, and a crash followed by the engine's restart
// handshake.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cometbft/abci/v1/types.grpc.pb.h"
#include "ledger/status.h"
#include "tests/abci/test_ledger.h"
#include "tests/e2e/engine_calls.h"
#include "tests/e2e/ledgerd_process.h"

namespace {

namespace v1 = cometbft::abci::v1;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;
using ledgerd_e2e::EngineCallContext;
using ledgerd_e2e::ExpectOk;

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

class CometBft1EngineE2eTest : public ::testing::Test {
 protected:
  CometBft1EngineE2eTest()
      : port_(ledgerd_e2e::FreeLoopbackPort()), log_path_(dir_.path() + "/ledgerd.log") {}

  void TearDown() override {
    process_.reset();
    if (HasFailure()) std::cerr << "--- ledgerd log ---\n" << LogText() << "--- end of log ---\n";
  }

  // Starts ledgerd on this test's store and port and connects as the engine.
  void StartNode() {
    process_ = std::make_unique<ledgerd_e2e::LedgerdProcess>(
        LEDGERD_BINARY,
        std::vector<std::string>{
            "--data-dir", dir_.path() + "/data", "--abci-addr",
            "127.0.0.1:" + std::to_string(port_), "--http-addr",
            "127.0.0.1:" + std::to_string(ledgerd_e2e::FreeLoopbackPort()), "--ws-addr",
            "127.0.0.1:" + std::to_string(ledgerd_e2e::FreeLoopbackPort()), "--log-level", "info"},
        log_path_);
    process_->Start();
    stub_ = v1::ABCIService::NewStub(ledgerd_e2e::DialEngineConnection(port_));
    v1::EchoRequest echo;
    echo.set_message("hello");
    v1::EchoResponse echoed;
    ExpectOk(stub_->Echo(EngineCallContext().get(), echo, &echoed), "Echo");
    EXPECT_EQ(echoed.message(), "hello");
  }

  v1::InfoResponse Info() {
    v1::InfoRequest request;
    request.set_version("1.0.1");
    request.set_block_version(11);
    request.set_p2p_version(9);
    request.set_abci_version("2.1.0");
    v1::InfoResponse response;
    ExpectOk(stub_->Info(EngineCallContext().get(), request, &response), "Info");
    return response;
  }

  // PrepareProposal, ProcessProposal, FinalizeBlock and Commit of `txs` at
  // `height`, as the proposer's engine calls them.
  v1::FinalizeBlockResponse CommitBlock(int64_t height, const std::vector<std::string>& txs) {
    v1::PrepareProposalRequest prepare;
    prepare.set_height(height);
    prepare.set_max_tx_bytes(22020096);
    ledgerd_e2e::SetBlockTime(height, prepare.mutable_time());
    for (const std::string& tx : txs) prepare.add_txs(tx);
    v1::PrepareProposalResponse prepared;
    ExpectOk(stub_->PrepareProposal(EngineCallContext().get(), prepare, &prepared),
             "PrepareProposal");
    v1::ProcessProposalRequest process;
    process.set_height(height);
    process.set_hash(ledgerd_e2e::FakeHash(height));
    *process.mutable_txs() = prepared.txs();
    v1::ProcessProposalResponse processed;
    ExpectOk(stub_->ProcessProposal(EngineCallContext().get(), process, &processed),
             "ProcessProposal");
    EXPECT_EQ(processed.status(), v1::PROCESS_PROPOSAL_STATUS_ACCEPT);
    v1::FinalizeBlockRequest finalize;
    finalize.set_height(height);
    finalize.set_hash(ledgerd_e2e::FakeHash(height));
    finalize.set_proposer_address(ledgerd_e2e::FakeProposerAddress());
    ledgerd_e2e::SetBlockTime(height, finalize.mutable_time());
    *finalize.mutable_txs() = prepared.txs();
    v1::FinalizeBlockResponse finalized;
    ExpectOk(stub_->FinalizeBlock(EngineCallContext().get(), finalize, &finalized),
             "FinalizeBlock");
    v1::FlushResponse flushed;
    ExpectOk(stub_->Flush(EngineCallContext().get(), v1::FlushRequest(), &flushed), "Flush");
    v1::CommitResponse committed;
    ExpectOk(stub_->Commit(EngineCallContext().get(), v1::CommitRequest(), &committed), "Commit");
    EXPECT_EQ(committed.retain_height(), 0);
    return finalized;
  }

  v1::CheckTxResponse CheckTx(const std::string& tx, v1::CheckTxType type) {
    v1::CheckTxRequest request;
    request.set_tx(tx);
    request.set_type(type);
    v1::CheckTxResponse response;
    ExpectOk(stub_->CheckTx(EngineCallContext().get(), request, &response), "CheckTx");
    return response;
  }

  std::string LogText() const {
    std::ifstream log(log_path_);
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  }

  ledger_test::TempDir dir_;
  const int port_;
  const std::string log_path_;
  std::unique_ptr<ledgerd_e2e::LedgerdProcess> process_;
  std::unique_ptr<v1::ABCIService::Stub> stub_;
};

TEST_F(CometBft1EngineE2eTest, BlocksRechecksAndACrashReplayThroughTheV1Service) {
  const ledger::KeyPair alice = TestKeys('a');
  const SignedTx create = SignedCreate(alice, 2, "v1");
  const SignedTx to_bob = SignedTransfer(alice, create, 0, create.id, 2, TestKeys('b'));
  const SignedTx to_carol = SignedTransfer(alice, create, 0, create.id, 2, TestKeys('c'));
  StartNode();
  ASSERT_EQ(Info().last_block_height(), 0);
  v1::InitChainRequest init;
  init.set_chain_id("v1-e2e");
  init.set_initial_height(1);
  v1::ValidatorUpdate* validator = init.add_validators();
  validator->set_pub_key_type("ed25519");
  validator->set_pub_key_bytes(std::string(32, '\x05'));
  validator->set_power(10);
  v1::InitChainResponse initialized;
  ExpectOk(stub_->InitChain(EngineCallContext().get(), init, &initialized), "InitChain");

  const v1::FinalizeBlockResponse first = CommitBlock(1, {create.json, "garbage"});
  ASSERT_EQ(first.tx_results_size(), 2);
  EXPECT_EQ(first.tx_results(0).code(), 0u) << first.tx_results(0).log();
  EXPECT_EQ(first.tx_results(1).code(), CodeOf(ledger::ErrorCode::kMalformedTransaction));
  EXPECT_EQ(CheckTx(to_carol.json, v1::CHECK_TX_TYPE_CHECK).code(), 0u);

  const v1::FinalizeBlockResponse second = CommitBlock(2, {to_bob.json});
  EXPECT_EQ(second.tx_results(0).code(), 0u) << second.tx_results(0).log();
  EXPECT_EQ(CheckTx(to_carol.json, v1::CHECK_TX_TYPE_RECHECK).code(),
            CodeOf(ledger::ErrorCode::kDoubleSpend));

  process_->Kill();
  StartNode();
  const v1::InfoResponse info = Info();
  EXPECT_EQ(info.last_block_height(), 2);
  EXPECT_EQ(info.last_block_app_hash(), second.app_hash());
  EXPECT_EQ(CommitBlock(3, {}).app_hash(), second.app_hash());
  EXPECT_NE(LogText().find("via cometbft.abci.v1.ABCIService"), std::string::npos);
}

}  // namespace
