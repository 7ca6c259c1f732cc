#include "abci/legacy_abci_service.h"

#include <string>
#include <utility>

#include "ledger/crypto.h"

namespace abci {
namespace {

namespace pb = tendermint::abci;

// The full gRPC service name, as the log reports it.
constexpr std::string_view kServiceName = "tendermint.abci.ABCIApplication";

}  // namespace

LegacyAbciService::LegacyAbciService(Responder* responder) : responder_(responder) {}

void LegacyAbciService::ExecuteDelivered(OpenBlock* block) {
  block->executed = responder_->ExecuteBlock(block->height, block->txs);
}

grpc::Status LegacyAbciService::Echo(grpc::ServerContext*, const pb::RequestEcho* request,
                                     pb::ResponseEcho* response) {
  response->set_message(request->message());
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::Flush(grpc::ServerContext*, const pb::RequestFlush*,
                                      pb::ResponseFlush*) {
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::Info(grpc::ServerContext*, const pb::RequestInfo* request,
                                     pb::ResponseInfo* response) {
  responder_->Info(*request, kServiceName, response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::SetOption(grpc::ServerContext*, const pb::RequestSetOption*,
                                          pb::ResponseSetOption* response) {
  response->set_log("ignored: ledgerd has no options to set");
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::InitChain(grpc::ServerContext*, const pb::RequestInitChain* request,
                                          pb::ResponseInitChain*) {
  return responder_->InitChain(*request);
}

grpc::Status LegacyAbciService::Query(grpc::ServerContext*, const pb::RequestQuery* request,
                                      pb::ResponseQuery* response) {
  responder_->Query(*request, response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::CheckTx(grpc::ServerContext*, const pb::RequestCheckTx* request,
                                        pb::ResponseCheckTx* response) {
  responder_->CheckTx(*request, response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::PrepareProposal(grpc::ServerContext*,
                                                const pb::RequestPrepareProposal* request,
                                                pb::ResponsePrepareProposal* response) {
  responder_->PrepareProposal(*request, response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::ProcessProposal(grpc::ServerContext*,
                                                const pb::RequestProcessProposal*,
                                                pb::ResponseProcessProposal* response) {
  responder_->ProcessProposal(response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::BeginBlock(grpc::ServerContext*,
                                           const pb::RequestBeginBlock* request,
                                           pb::ResponseBeginBlock*) {
  std::lock_guard<std::mutex> lock(block_mutex_);
  block_.emplace();
  block_->height = request->header().height();
  ExecuteDelivered(&*block_);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::DeliverTx(grpc::ServerContext*, const pb::RequestDeliverTx* request,
                                          pb::ResponseDeliverTx* response) {
  std::lock_guard<std::mutex> lock(block_mutex_);
  if (!block_) {
    responder_->Log(LogSeverity::kError, "DeliverTx without BeginBlock");
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "DeliverTx without BeginBlock");
  }
  block_->txs.push_back(request->tx());
  ExecuteDelivered(&*block_);
  // One result per delivered tx, or the engine would record wrong results.
  if (block_->executed.results.size() != block_->txs.size()) {
    responder_->Log(LogSeverity::kError,
                    "DeliverTx: " + std::to_string(block_->executed.results.size()) +
                        " results for " + std::to_string(block_->txs.size()) + " txs");
    return grpc::Status(grpc::StatusCode::INTERNAL, "result count differs from tx count");
  }
  FillTxResult(block_->executed.results.back(), response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::EndBlock(grpc::ServerContext*, const pb::RequestEndBlock* request,
                                         pb::ResponseEndBlock*) {
  std::lock_guard<std::mutex> lock(block_mutex_);
  if (!block_) return grpc::Status::OK;
  size_t valid = 0;
  for (const ledger::TxResult& result : block_->executed.results) valid += result.status.ok();
  responder_->Log(LogSeverity::kDebug,
                  "delivered height " + std::to_string(request->height()) + ": " +
                      std::to_string(valid) + " of " + std::to_string(block_->txs.size()) +
                      " txs valid, app hash " + ledger::HexEncode(block_->executed.app_hash));
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::Commit(grpc::ServerContext*, const pb::RequestCommit*,
                                       pb::ResponseCommit* response) {
  std::lock_guard<std::mutex> lock(block_mutex_);
  block_.reset();
  std::string app_hash;
  grpc::Status status = responder_->Commit(&app_hash);
  if (!status.ok()) return status;
  response->set_data(std::move(app_hash));
  response->set_retain_height(0);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::ListSnapshots(grpc::ServerContext*, const pb::RequestListSnapshots*,
                                              pb::ResponseListSnapshots* response) {
  responder_->ListSnapshots(response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::OfferSnapshot(grpc::ServerContext*, const pb::RequestOfferSnapshot*,
                                              pb::ResponseOfferSnapshot* response) {
  responder_->OfferSnapshot(response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::LoadSnapshotChunk(grpc::ServerContext*,
                                                  const pb::RequestLoadSnapshotChunk*,
                                                  pb::ResponseLoadSnapshotChunk* response) {
  responder_->LoadSnapshotChunk(response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::ApplySnapshotChunk(grpc::ServerContext*,
                                                   const pb::RequestApplySnapshotChunk*,
                                                   pb::ResponseApplySnapshotChunk* response) {
  responder_->ApplySnapshotChunk(response);
  return grpc::Status::OK;
}

}  // namespace abci
