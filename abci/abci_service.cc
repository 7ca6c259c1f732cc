#include "abci/abci_service.h"

#include <string>
#include <vector>

#include "ledger/crypto.h"

namespace abci {
namespace {

namespace pb = tendermint::abci;

// The full gRPC service name, as the log reports it.
constexpr std::string_view kServiceName = "tendermint.abci.ABCI";

}  // namespace

AbciService::AbciService(Responder* responder) : responder_(responder) {}

grpc::Status AbciService::Echo(grpc::ServerContext*, const pb::RequestEcho* request,
                               pb::ResponseEcho* response) {
  response->set_message(request->message());
  return grpc::Status::OK;
}

grpc::Status AbciService::Flush(grpc::ServerContext*, const pb::RequestFlush*, pb::ResponseFlush*) {
  return grpc::Status::OK;
}

grpc::Status AbciService::Info(grpc::ServerContext*, const pb::RequestInfo* request,
                               pb::ResponseInfo* response) {
  const bool new_engine = responder_->Info(*request, kServiceName, response);
  // This service speaks ABCI 2.0 (CometBFT v0.38); an engine announcing
  // another version calls methods it does not have.
  if (new_engine && !request->abci_version().empty() &&
      !request->abci_version().starts_with("2.")) {
    responder_->Log(LogSeverity::kWarn, "engine speaks ABCI " + request->abci_version() +
                                            "; tendermint.abci.ABCI serves ABCI 2.0 (CometBFT "
                                            "v0.38), older engines call ABCIApplication");
  }
  return grpc::Status::OK;
}

grpc::Status AbciService::InitChain(grpc::ServerContext*, const pb::RequestInitChain* request,
                                    pb::ResponseInitChain*) {
  return responder_->InitChain(*request);
}

grpc::Status AbciService::Query(grpc::ServerContext*, const pb::RequestQuery* request,
                                pb::ResponseQuery* response) {
  responder_->Query(*request, response);
  return grpc::Status::OK;
}

grpc::Status AbciService::CheckTx(grpc::ServerContext*, const pb::RequestCheckTx* request,
                                  pb::ResponseCheckTx* response) {
  responder_->CheckTx(*request, response);
  return grpc::Status::OK;
}

grpc::Status AbciService::PrepareProposal(grpc::ServerContext*,
                                          const pb::RequestPrepareProposal* request,
                                          pb::ResponsePrepareProposal* response) {
  responder_->PrepareProposal(*request, response);
  return grpc::Status::OK;
}

grpc::Status AbciService::ProcessProposal(grpc::ServerContext*, const pb::RequestProcessProposal*,
                                          pb::ResponseProcessProposal* response) {
  responder_->ProcessProposal(response);
  return grpc::Status::OK;
}

grpc::Status AbciService::FinalizeBlock(grpc::ServerContext*,
                                        const pb::RequestFinalizeBlock* request,
                                        pb::ResponseFinalizeBlock* response) {
  const std::vector<std::string> txs(request->txs().begin(), request->txs().end());
  const ledger::FinalizedBlock block = responder_->ExecuteBlock(request->height(), txs);
  // A count mismatch would halt the chain; refuse loudly instead of guessing.
  if (block.results.size() != txs.size()) {
    responder_->Log(LogSeverity::kError, "FinalizeBlock: " + std::to_string(block.results.size()) +
                                             " results for " + std::to_string(txs.size()) + " txs");
    return grpc::Status(grpc::StatusCode::INTERNAL, "result count differs from tx count");
  }
  size_t valid = 0;
  response->mutable_tx_results()->Reserve(static_cast<int>(txs.size()));
  for (const ledger::TxResult& result : block.results) {
    FillTxResult(result, response->add_tx_results());
    valid += result.status.ok();
  }
  response->set_app_hash(block.app_hash);
  responder_->Log(LogSeverity::kDebug, "finalized height " + std::to_string(request->height()) +
                                           ": " + std::to_string(valid) + " of " +
                                           std::to_string(txs.size()) + " txs valid, app hash " +
                                           ledger::HexEncode(block.app_hash));
  return grpc::Status::OK;
}

grpc::Status AbciService::Commit(grpc::ServerContext*, const pb::RequestCommit*,
                                 pb::ResponseCommit* response) {
  // The app hash went out with FinalizeBlock; v0.38 has no field for it here.
  std::string app_hash;
  grpc::Status status = responder_->Commit(&app_hash);
  response->set_retain_height(0);
  return status;
}

grpc::Status AbciService::ExtendVote(grpc::ServerContext*, const pb::RequestExtendVote*,
                                     pb::ResponseExtendVote*) {
  return grpc::Status::OK;
}

grpc::Status AbciService::VerifyVoteExtension(grpc::ServerContext*,
                                              const pb::RequestVerifyVoteExtension*,
                                              pb::ResponseVerifyVoteExtension* response) {
  response->set_status(pb::ResponseVerifyVoteExtension::ACCEPT);
  return grpc::Status::OK;
}

grpc::Status AbciService::ListSnapshots(grpc::ServerContext*, const pb::RequestListSnapshots*,
                                        pb::ResponseListSnapshots* response) {
  responder_->ListSnapshots(response);
  return grpc::Status::OK;
}

grpc::Status AbciService::OfferSnapshot(grpc::ServerContext*, const pb::RequestOfferSnapshot*,
                                        pb::ResponseOfferSnapshot* response) {
  responder_->OfferSnapshot(response);
  return grpc::Status::OK;
}

grpc::Status AbciService::LoadSnapshotChunk(grpc::ServerContext*,
                                            const pb::RequestLoadSnapshotChunk*,
                                            pb::ResponseLoadSnapshotChunk* response) {
  responder_->LoadSnapshotChunk(response);
  return grpc::Status::OK;
}

grpc::Status AbciService::ApplySnapshotChunk(grpc::ServerContext*,
                                             const pb::RequestApplySnapshotChunk*,
                                             pb::ResponseApplySnapshotChunk* response) {
  responder_->ApplySnapshotChunk(response);
  return grpc::Status::OK;
}

}  // namespace abci
