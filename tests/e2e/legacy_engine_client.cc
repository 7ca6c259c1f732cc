#include "tests/e2e/legacy_engine_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/e2e/engine_calls.h"

namespace ledgerd_e2e {
namespace {

namespace pb = tendermint::abci;

constexpr std::chrono::milliseconds kEchoAttemptDeadline(250);
constexpr std::chrono::milliseconds kEchoRetryInterval(100);
// Tendermint v0.34 and CometBFT v0.37 both use block protocol 11 and p2p 8.
constexpr uint64_t kBlockProtocol = 11;
constexpr uint64_t kP2pProtocol = 8;
constexpr int64_t kDefaultMaxBlockBytes = 22020096;
constexpr int64_t kValidatorPower = 10;
const std::string kValidatorKey(32, '\x42');

std::unique_ptr<pb::ABCIApplication::Stub> Dial(int port) {
  return pb::ABCIApplication::NewStub(DialEngineConnection(port));
}

// The previous height's commit as the header-carried commit info shows it:
// round 0, the one validator signed.
void SetLastCommit(int64_t height, pb::CommitInfo* commit) {
  commit->set_round(0);
  if (height <= 1) return;
  pb::VoteInfo* vote = commit->add_votes();
  vote->mutable_validator()->set_address(FakeProposerAddress());
  vote->mutable_validator()->set_power(kValidatorPower);
  vote->set_signed_last_block(true);
}

}  // namespace

LegacyEngineClient::LegacyEngineClient(int port, LegacyEngine engine)
    : engine_(engine),
      query_(Dial(port)),
      snapshot_(Dial(port)),
      mempool_(Dial(port)),
      consensus_(Dial(port)) {}

std::string LegacyEngineClient::version() const {
  return engine_ == LegacyEngine::kTendermint034 ? "0.34.24" : "0.37.4";
}

bool LegacyEngineClient::WaitUntilConnected(std::chrono::seconds give_up) {
  const auto until = std::chrono::steady_clock::now() + give_up;
  // Both lines start their clients in this order and retry Echo (every
  // second in the engine; faster here) until the app answers.
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

pb::ResponseInfo LegacyEngineClient::Info() {
  pb::RequestInfo request;
  request.set_version(version());
  request.set_block_version(kBlockProtocol);
  request.set_p2p_version(kP2pProtocol);
  // v0.34's RequestInfo has no abci_version field.
  if (engine_ == LegacyEngine::kCometBft037) request.set_abci_version("1.0.0");
  pb::ResponseInfo response;
  ExpectOk(query_->Info(EngineCallContext().get(), request, &response), "Info");
  return response;
}

pb::ResponseQuery LegacyEngineClient::Query(const std::string& path, const std::string& data) {
  pb::RequestQuery request;
  request.set_path(path);
  request.set_data(data);
  pb::ResponseQuery response;
  ExpectOk(query_->Query(EngineCallContext().get(), request, &response), "Query");
  return response;
}

pb::ResponseListSnapshots LegacyEngineClient::ListSnapshots() {
  pb::RequestListSnapshots request;
  pb::ResponseListSnapshots response;
  ExpectOk(snapshot_->ListSnapshots(EngineCallContext().get(), request, &response),
           "ListSnapshots");
  return response;
}

pb::ResponseCheckTx LegacyEngineClient::CheckTx(const std::string& tx, pb::CheckTxType type) {
  pb::RequestCheckTx request;
  request.set_tx(tx);
  request.set_type(type);
  pb::ResponseCheckTx response;
  ExpectOk(mempool_->CheckTx(EngineCallContext().get(), request, &response), "CheckTx");
  return response;
}

void LegacyEngineClient::FlushMempool() {
  pb::RequestFlush request;
  pb::ResponseFlush response;
  ExpectOk(mempool_->Flush(EngineCallContext().get(), request, &response), "Flush");
}

void LegacyEngineClient::InitChain(const std::string& chain_id) {
  chain_id_ = chain_id;
  pb::RequestInitChain request;
  SetBlockTime(0, request.mutable_time());
  request.set_chain_id(chain_id);
  // v0.34 sends its own abci.ConsensusParams: the block part has only
  // max_bytes and max_gas, the numbers of tendermint.types' first two.
  tendermint::types::ConsensusParams* params = request.mutable_consensus_params();
  params->mutable_block()->set_max_bytes(kDefaultMaxBlockBytes);
  params->mutable_block()->set_max_gas(-1);
  params->mutable_evidence()->set_max_age_num_blocks(100000);
  params->mutable_evidence()->mutable_max_age_duration()->set_seconds(172800);
  params->mutable_evidence()->set_max_bytes(1048576);
  params->mutable_validator()->add_pub_key_types("ed25519");
  pb::ValidatorUpdate* validator = request.add_validators();
  validator->mutable_pub_key()->set_ed25519(kValidatorKey);
  validator->set_power(kValidatorPower);
  request.set_initial_height(1);
  pb::ResponseInitChain response;
  ExpectOk(consensus_->InitChain(EngineCallContext().get(), request, &response), "InitChain");
}

pb::ResponsePrepareProposal LegacyEngineClient::PrepareProposal(
    int64_t height, const std::vector<std::string>& txs) {
  pb::RequestPrepareProposal request;
  request.set_max_tx_bytes(kDefaultMaxBlockBytes);
  for (const std::string& tx : txs) request.add_txs(tx);
  request.mutable_local_last_commit()->set_round(0);
  if (height > 1) {
    pb::ExtendedVoteInfo* vote = request.mutable_local_last_commit()->add_votes();
    vote->mutable_validator()->set_address(FakeProposerAddress());
    vote->mutable_validator()->set_power(kValidatorPower);
    vote->set_signed_last_block(true);
  }
  request.set_height(height);
  SetBlockTime(height, request.mutable_time());
  request.set_next_validators_hash(FakeHash(0));
  request.set_proposer_address(FakeProposerAddress());
  pb::ResponsePrepareProposal response;
  ExpectOk(consensus_->PrepareProposal(EngineCallContext().get(), request, &response),
           "PrepareProposal");
  return response;
}

pb::ResponseProcessProposal LegacyEngineClient::ProcessProposal(
    int64_t height, const std::vector<std::string>& txs) {
  pb::RequestProcessProposal request;
  for (const std::string& tx : txs) request.add_txs(tx);
  SetLastCommit(height, request.mutable_proposed_last_commit());
  request.set_hash(FakeHash(height));
  request.set_height(height);
  SetBlockTime(height, request.mutable_time());
  request.set_next_validators_hash(FakeHash(0));
  request.set_proposer_address(FakeProposerAddress());
  pb::ResponseProcessProposal response;
  ExpectOk(consensus_->ProcessProposal(EngineCallContext().get(), request, &response),
           "ProcessProposal");
  return response;
}

void LegacyEngineClient::BeginBlock(int64_t height) {
  pb::RequestBeginBlock request;
  request.set_hash(FakeHash(height));
  tendermint::types::Header* header = request.mutable_header();
  header->mutable_version()->set_block(kBlockProtocol);
  header->mutable_version()->set_app(1);
  header->set_chain_id(chain_id_);
  header->set_height(height);
  SetBlockTime(height, header->mutable_time());
  if (height > 1) {
    header->mutable_last_block_id()->set_hash(FakeHash(height - 1));
    header->mutable_last_block_id()->mutable_part_set_header()->set_total(1);
    header->mutable_last_block_id()->mutable_part_set_header()->set_hash(FakeHash(height + 7));
  }
  header->set_data_hash(FakeHash(height + 1));
  header->set_validators_hash(FakeHash(0));
  header->set_next_validators_hash(FakeHash(0));
  header->set_consensus_hash(FakeHash(2));
  header->set_app_hash(last_app_hash_);
  header->set_proposer_address(FakeProposerAddress());
  SetLastCommit(height, request.mutable_last_commit_info());
  pb::ResponseBeginBlock response;
  ExpectOk(consensus_->BeginBlock(EngineCallContext().get(), request, &response), "BeginBlock");
}

pb::ResponseDeliverTx LegacyEngineClient::DeliverTx(const std::string& tx) {
  pb::RequestDeliverTx request;
  request.set_tx(tx);
  pb::ResponseDeliverTx response;
  ExpectOk(consensus_->DeliverTx(EngineCallContext().get(), request, &response), "DeliverTx");
  return response;
}

void LegacyEngineClient::EndBlock(int64_t height) {
  pb::RequestEndBlock request;
  request.set_height(height);
  pb::ResponseEndBlock response;
  ExpectOk(consensus_->EndBlock(EngineCallContext().get(), request, &response), "EndBlock");
  EXPECT_EQ(response.validator_updates_size(), 0);
  EXPECT_FALSE(response.has_consensus_param_updates());
}

std::string LegacyEngineClient::Commit() {
  pb::RequestCommit request;
  pb::ResponseCommit response;
  ExpectOk(consensus_->Commit(EngineCallContext().get(), request, &response), "Commit");
  EXPECT_EQ(response.retain_height(), 0);
  last_app_hash_ = response.data();
  return response.data();
}

pb::ResponseInfo LegacyEngineClient::Handshake(const std::string& chain_id) {
  chain_id_ = chain_id;
  pb::ResponseInfo info = Info();
  last_app_hash_ = info.last_block_app_hash();
  if (info.last_block_height() == 0) InitChain(chain_id);
  return info;
}

std::vector<pb::ResponseDeliverTx> LegacyEngineClient::DeliverBlock(
    int64_t height, const std::vector<std::string>& txs) {
  if (engine_ == LegacyEngine::kCometBft037) {
    EXPECT_EQ(ProcessProposal(height, txs).status(), pb::ResponseProcessProposal::ACCEPT);
  }
  BeginBlock(height);
  std::vector<pb::ResponseDeliverTx> results;
  for (const std::string& tx : txs) results.push_back(DeliverTx(tx));
  EndBlock(height);
  return results;
}

DeliveredBlock LegacyEngineClient::ExecuteDecidedBlock(int64_t height,
                                                       const std::vector<std::string>& txs) {
  DeliveredBlock block;
  block.results = DeliverBlock(height, txs);
  // The engine locks the mempool and flushes its connection before Commit.
  FlushMempool();
  block.app_hash = Commit();
  return block;
}

DeliveredBlock LegacyEngineClient::ProposeAndCommit(int64_t height,
                                                    const std::vector<std::string>& candidates,
                                                    std::vector<std::string>* proposed) {
  if (engine_ == LegacyEngine::kCometBft037) {
    const pb::ResponsePrepareProposal prepared = PrepareProposal(height, candidates);
    proposed->assign(prepared.txs().begin(), prepared.txs().end());
  } else {
    *proposed = candidates;
  }
  return ExecuteDecidedBlock(height, *proposed);
}

std::vector<uint32_t> LegacyEngineClient::Recheck(const std::vector<std::string>& mempool) {
  std::vector<uint32_t> codes;
  for (const std::string& tx : mempool) codes.push_back(CheckTx(tx, pb::RECHECK).code());
  FlushMempool();
  return codes;
}

}  // namespace ledgerd_e2e
