#include "abci/legacy_abci_service.h"

#include <optional>
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
  responder_->BeginBlock(request->header().height());
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::DeliverTx(grpc::ServerContext*, const pb::RequestDeliverTx* request,
                                          pb::ResponseDeliverTx* response) {
  const std::optional<ledger::TxResult> result = responder_->DeliverTx(request->tx());
  if (!result) {
    responder_->Log(LogSeverity::kError, "DeliverTx without BeginBlock");
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "DeliverTx without BeginBlock");
  }
  FillTxResult(*result, response);
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::EndBlock(grpc::ServerContext*, const pb::RequestEndBlock* request,
                                         pb::ResponseEndBlock*) {
  const std::optional<ledger::FinalizedBlock> block = responder_->EndBlock();
  if (!block) return grpc::Status::OK;
  size_t valid = 0;
  for (const ledger::TxResult& result : block->results) valid += result.status.ok();
  responder_->Log(LogSeverity::kDebug,
                  "delivered height " + std::to_string(request->height()) + ": " +
                      std::to_string(valid) + " of " + std::to_string(block->results.size()) +
                      " txs valid, app hash " + ledger::HexEncode(block->app_hash));
  return grpc::Status::OK;
}

grpc::Status LegacyAbciService::Commit(grpc::ServerContext*, const pb::RequestCommit*,
                                       pb::ResponseCommit* response) {
  // EndBlock stages the block; an engine that skipped it still commits what
  // was delivered.
  responder_->EndBlock();
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
