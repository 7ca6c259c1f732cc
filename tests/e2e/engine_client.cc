#include "tests/e2e/engine_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/e2e/engine_calls.h"

namespace ledgerd_e2e {
namespace {

namespace pb = tendermint::abci;

constexpr std::chrono::milliseconds kEchoAttemptDeadline(250);
constexpr std::chrono::milliseconds kEchoRetryInterval(100);

std::unique_ptr<pb::ABCI::Stub> Dial(int port) {
  return pb::ABCI::NewStub(DialEngineConnection(port));
}

}  // namespace

EngineClient::EngineClient(int port)
    : query_(Dial(port)), snapshot_(Dial(port)), mempool_(Dial(port)), consensus_(Dial(port)) {}

std::unique_ptr<grpc::ClientContext> EngineClient::CallContext() { return EngineCallContext(); }

bool EngineClient::WaitUntilConnected(std::chrono::seconds give_up) {
  const auto until = std::chrono::steady_clock::now() + give_up;
  // CometBFT starts its clients in this order: query, snapshot, mempool,
  // consensus; each retries Echo until the app answers.
  for (Stub* stub : {query_.get(), snapshot_.get(), mempool_.get(), consensus_.get()}) {
    while (true) {
      grpc::ClientContext context;
      context.set_wait_for_ready(true);
      context.set_deadline(std::chrono::system_clock::now() + kEchoAttemptDeadline);
      pb::RequestEcho request;
      request.set_message("hello");
      pb::ResponseEcho response;
      if (stub->Echo(&context, request, &response).ok()) {
        EXPECT_EQ(response.message(), "hello");
        break;
      }
      ++unanswered_echoes_;
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(kEchoRetryInterval);
    }
  }
  return true;
}

pb::ResponseInfo EngineClient::Info() {
  pb::RequestInfo request;
  request.set_version("0.38.25");
  request.set_block_version(11);
  request.set_p2p_version(8);
  request.set_abci_version("2.0.0");
  pb::ResponseInfo response;
  ExpectOk(query_->Info(CallContext().get(), request, &response), "Info");
  return response;
}

pb::ResponseQuery EngineClient::Query(const std::string& path, const std::string& data) {
  pb::RequestQuery request;
  request.set_path(path);
  request.set_data(data);
  pb::ResponseQuery response;
  ExpectOk(query_->Query(CallContext().get(), request, &response), "Query");
  return response;
}

pb::ResponseListSnapshots EngineClient::ListSnapshots() {
  pb::RequestListSnapshots request;
  pb::ResponseListSnapshots response;
  ExpectOk(snapshot_->ListSnapshots(CallContext().get(), request, &response), "ListSnapshots");
  return response;
}

pb::ResponseCheckTx EngineClient::CheckTx(const std::string& tx, pb::CheckTxType type) {
  pb::RequestCheckTx request;
  request.set_tx(tx);
  request.set_type(type);
  pb::ResponseCheckTx response;
  ExpectOk(mempool_->CheckTx(CallContext().get(), request, &response), "CheckTx");
  return response;
}

void EngineClient::FlushMempool() {
  pb::RequestFlush request;
  pb::ResponseFlush response;
  ExpectOk(mempool_->Flush(CallContext().get(), request, &response), "Flush");
}

void EngineClient::InitChain(const std::string& chain_id) {
  pb::RequestInitChain request;
  SetBlockTime(0, request.mutable_time());
  request.set_chain_id(chain_id);
  tendermint::types::ConsensusParams* params = request.mutable_consensus_params();
  params->mutable_block()->set_max_bytes(kDefaultMaxBlockBytes);
  params->mutable_block()->set_max_gas(-1);
  params->mutable_evidence()->set_max_age_num_blocks(100000);
  params->mutable_evidence()->set_max_bytes(1048576);
  params->mutable_validator()->add_pub_key_types("ed25519");
  pb::ValidatorUpdate* validator = request.add_validators();
  validator->mutable_pub_key()->set_ed25519(std::string(32, '\x42'));
  validator->set_power(10);
  request.set_initial_height(1);
  pb::ResponseInitChain response;
  ExpectOk(consensus_->InitChain(CallContext().get(), request, &response), "InitChain");
}

pb::ResponsePrepareProposal EngineClient::PrepareProposal(int64_t height,
                                                          const std::vector<std::string>& txs,
                                                          int64_t max_tx_bytes) {
  pb::RequestPrepareProposal request;
  request.set_max_tx_bytes(max_tx_bytes);
  for (const std::string& tx : txs) request.add_txs(tx);
  request.set_height(height);
  SetBlockTime(height, request.mutable_time());
  request.set_next_validators_hash(FakeHash(0));
  request.set_proposer_address(FakeProposerAddress());
  pb::ResponsePrepareProposal response;
  ExpectOk(consensus_->PrepareProposal(CallContext().get(), request, &response), "PrepareProposal");
  return response;
}

pb::ResponseProcessProposal EngineClient::ProcessProposal(int64_t height,
                                                          const std::vector<std::string>& txs) {
  pb::RequestProcessProposal request;
  for (const std::string& tx : txs) request.add_txs(tx);
  request.set_hash(FakeHash(height));
  request.set_height(height);
  SetBlockTime(height, request.mutable_time());
  request.set_next_validators_hash(FakeHash(0));
  request.set_proposer_address(FakeProposerAddress());
  pb::ResponseProcessProposal response;
  ExpectOk(consensus_->ProcessProposal(CallContext().get(), request, &response), "ProcessProposal");
  return response;
}

pb::ResponseFinalizeBlock EngineClient::FinalizeBlock(int64_t height,
                                                      const std::vector<std::string>& txs) {
  pb::RequestFinalizeBlock request;
  for (const std::string& tx : txs) request.add_txs(tx);
  request.set_hash(FakeHash(height));
  request.set_height(height);
  SetBlockTime(height, request.mutable_time());
  request.set_next_validators_hash(FakeHash(0));
  request.set_proposer_address(FakeProposerAddress());
  pb::ResponseFinalizeBlock response;
  ExpectOk(consensus_->FinalizeBlock(CallContext().get(), request, &response), "FinalizeBlock");
  return response;
}

void EngineClient::Commit() {
  pb::RequestCommit request;
  pb::ResponseCommit response;
  ExpectOk(consensus_->Commit(CallContext().get(), request, &response), "Commit");
  EXPECT_EQ(response.retain_height(), 0);
}

pb::ResponseInfo EngineClient::Handshake(const std::string& chain_id) {
  pb::ResponseInfo info = Info();
  if (info.last_block_height() == 0) InitChain(chain_id);
  return info;
}

pb::ResponseFinalizeBlock EngineClient::ProposeAndCommit(int64_t height,
                                                         const std::vector<std::string>& candidates,
                                                         std::vector<std::string>* proposed) {
  const pb::ResponsePrepareProposal prepared =
      PrepareProposal(height, candidates, kDefaultMaxBlockBytes);
  proposed->assign(prepared.txs().begin(), prepared.txs().end());
  return ExecuteDecidedBlock(height, *proposed);
}

pb::ResponseFinalizeBlock EngineClient::ExecuteDecidedBlock(int64_t height,
                                                            const std::vector<std::string>& txs) {
  EXPECT_EQ(ProcessProposal(height, txs).status(), pb::ResponseProcessProposal::ACCEPT);
  pb::ResponseFinalizeBlock finalized = FinalizeBlock(height, txs);
  EXPECT_EQ(static_cast<size_t>(finalized.tx_results_size()), txs.size());
  // The engine locks the mempool and flushes its connection before Commit.
  FlushMempool();
  Commit();
  return finalized;
}

std::vector<uint32_t> EngineClient::Recheck(const std::vector<std::string>& mempool) {
  std::vector<uint32_t> codes;
  for (const std::string& tx : mempool) codes.push_back(CheckTx(tx, pb::RECHECK).code());
  FlushMempool();
  return codes;
}

}  // namespace ledgerd_e2e
