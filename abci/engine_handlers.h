// The handlers of the ABCI methods, each written once for every engine
// line: function templates over the line's request and response types
// (whose field names the lines share) that copy the request into the
// Responder's version-neutral inputs and its answer into the response.
// Where lines number an enum value differently, the value is a template
// argument that the line's table (abci/engine_apis.cc) gives.
//
// Only abci/engine_apis.cc includes this header.
//
// Thread safety: every handler may run on any gRPC thread at once; the
// Responder serializes what must not overlap.
#ifndef ABCI_ENGINE_HANDLERS_H_
#define ABCI_ENGINE_HANDLERS_H_

#include <google/protobuf/message_lite.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/method_handler.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "abci/engine_service.h"
#include "abci/responder.h"
#include "ledger/crypto.h"

namespace abci {

// What a handler for `Request` and `Response` looks like.
template <class Request, class Response>
using Handler = grpc::Status (*)(EngineService* service, grpc::ServerContext* context,
                                 const Request* request, Response* response);

// The table entry for method `name`, answered by `handler`: gRPC parses the
// request as `Request` and sends the `Response` (proto_utils.h serializes
// both).
template <class Request, class Response>
EngineMethod Unary(std::string name, Handler<Request, Response> handler) {
  return {std::move(name), [handler](EngineService* service) -> grpc::internal::MethodHandler* {
            return new grpc::internal::RpcMethodHandler<EngineService, Request, Response,
                                                        google::protobuf::MessageLite,
                                                        google::protobuf::MessageLite>(handler,
                                                                                       service);
          }};
}

// Sets code, log and codespace of any answer that has them.
template <class Answer>
void SetVerdict(const Verdict& verdict, Answer* out) {
  if (verdict.code == 0) return;
  out->set_code(verdict.code);
  out->set_log(verdict.log);
  out->set_codespace(verdict.codespace);
}

// Sets an ExecTxResult (v0.38, v1) or a ResponseDeliverTx (v0.34/v0.37),
// which share their fields.
template <class Result>
void SetTxResult(const TxAnswer& answer, Result* out) {
  SetVerdict(answer.verdict, out);
  if (answer.event_attributes.empty()) return;
  auto* event = out->add_events();
  event->set_type(std::string(kLedgerEventType));
  for (const auto& [key, value] : answer.event_attributes) {
    auto* attribute = event->add_attributes();
    attribute->set_key(key);
    attribute->set_value(value);
    attribute->set_index(true);
  }
}

// Echoes the request's message: the engine's connection probe.
template <class Request, class Response>
grpc::Status Echo(EngineService*, grpc::ServerContext*, const Request* request,
                  Response* response) {
  response->set_message(request->message());
  return grpc::Status::OK;
}

// Answers nothing, for a call whose answer is empty: Flush (every call here
// completes before it returns) and ExtendVote (vote extensions are not used,
// so the extension is empty).
template <class Request, class Response>
grpc::Status EmptyAnswer(EngineService*, grpc::ServerContext*, const Request*, Response*) {
  return grpc::Status::OK;
}

// As Responder::Info; logs a warning the first time an engine announces an
// ABCI version the service's line does not speak.
template <class Request, class Response>
grpc::Status Info(EngineService* service, grpc::ServerContext*, const Request* request,
                  Response* response) {
  const EngineIdentity engine{request->version(), request->abci_version(),
                              request->block_version()};
  AppIdentity app;
  const EngineApi& api = service->api();
  const bool new_engine = service->responder().Info(engine, api.service, &app);
  bool speaks_the_lines_abci = engine.abci_version.empty();
  for (const std::string& prefix : api.abci_versions) {
    speaks_the_lines_abci |= engine.abci_version.starts_with(prefix);
  }
  if (new_engine && !speaks_the_lines_abci) {
    service->responder().Log(LogSeverity::kWarn, "engine speaks ABCI " + engine.abci_version +
                                                     "; " + api.service + " serves " + api.serves);
  }
  response->set_data(std::move(app.data));
  response->set_version(std::move(app.version));
  response->set_app_version(app.app_version);
  response->set_last_block_height(app.last_block_height);
  response->set_last_block_app_hash(std::move(app.last_block_app_hash));
  return grpc::Status::OK;
}

// The genesis validator a line's ValidatorUpdate names; each line's table
// file defines the overload for its type.
template <class ValidatorUpdate>
GenesisValidator GenesisValidatorOf(const ValidatorUpdate& update);

// As Responder::InitChain; the response stays empty.
template <class Request, class Response>
grpc::Status InitChain(EngineService* service, grpc::ServerContext*, const Request* request,
                       Response*) {
  std::vector<GenesisValidator> validators;
  validators.reserve(static_cast<size_t>(request->validators_size()));
  for (const auto& update : request->validators()) {
    validators.push_back(GenesisValidatorOf(update));
  }
  return service->responder().InitChain(request->chain_id(), request->initial_height(), validators);
}

// As Responder::Query.
template <class Request, class Response>
grpc::Status Query(EngineService* service, grpc::ServerContext*, const Request* request,
                   Response* response) {
  QueryAnswer answer = service->responder().Query(request->path(), request->data());
  SetVerdict(answer.verdict, response);
  response->set_key(std::move(answer.key));
  response->set_value(std::move(answer.value));
  response->set_height(answer.height);
  return grpc::Status::OK;
}

// As Responder::CheckTx; `kRecheck` is the line's CheckTxType RECHECK, and
// every other type is a first check.
template <auto kRecheck, class Request, class Response>
grpc::Status CheckTx(EngineService* service, grpc::ServerContext*, const Request* request,
                     Response* response) {
  SetVerdict(service->responder().CheckTx(request->tx(), request->type() == kRecheck), response);
  return grpc::Status::OK;
}

// Proposes the leading candidate txs that Responder::ProposalLength allows.
template <class Request, class Response>
grpc::Status PrepareProposal(EngineService* service, grpc::ServerContext*, const Request* request,
                             Response* response) {
  const size_t length =
      service->responder().ProposalLength(request->max_tx_bytes(), request->txs());
  response->mutable_txs()->Reserve(static_cast<int>(length));
  for (size_t i = 0; i < length; ++i) response->add_txs(request->txs(static_cast<int>(i)));
  return grpc::Status::OK;
}

// Always `kAccept`: invalid transactions are refused one by one when the
// block executes, never by refusing the block. Also answers
// VerifyVoteExtension, since every (empty) extension is accepted.
template <auto kAccept, class Request, class Response>
grpc::Status Accept(EngineService*, grpc::ServerContext*, const Request*, Response* response) {
  response->set_status(kAccept);
  return grpc::Status::OK;
}

// --- State sync. Every line numbers the results of OfferSnapshot and
// ApplySnapshotChunk as ledger::OfferResult and ledger::ApplyResult do
// (abci/engine_apis.cc checks it), so they convert as they are.

// As Responder::ListSnapshots.
template <class Request, class Response>
grpc::Status ListSnapshots(EngineService* service, grpc::ServerContext*, const Request*,
                           Response* response) {
  for (const ledger::SnapshotInfo& info : service->responder().ListSnapshots()) {
    auto* snapshot = response->add_snapshots();
    snapshot->set_height(static_cast<uint64_t>(info.height));
    snapshot->set_format(info.format);
    snapshot->set_chunks(info.chunks);
    snapshot->set_hash(info.hash);
    snapshot->set_metadata(info.metadata);
  }
  return grpc::Status::OK;
}

// As Responder::LoadSnapshotChunk: the chunk, or empty for none.
template <class Request, class Response>
grpc::Status LoadSnapshotChunk(EngineService* service, grpc::ServerContext*,
                               const Request* request, Response* response) {
  if (request->height() > static_cast<uint64_t>(INT64_MAX)) return grpc::Status::OK;
  response->set_chunk(service->responder().LoadSnapshotChunk(
      static_cast<int64_t>(request->height()), request->format(), request->chunk()));
  return grpc::Status::OK;
}

// As Responder::OfferSnapshot, given the app hash the engine trusts.
template <class Request, class Response>
grpc::Status OfferSnapshot(EngineService* service, grpc::ServerContext*, const Request* request,
                           Response* response) {
  const auto& offered = request->snapshot();
  ledger::SnapshotInfo snapshot;
  snapshot.height = offered.height() > static_cast<uint64_t>(INT64_MAX)
                        ? 0
                        : static_cast<int64_t>(offered.height());
  snapshot.format = offered.format();
  snapshot.chunks = offered.chunks();
  snapshot.hash = offered.hash();
  snapshot.metadata = offered.metadata();
  const ledger::OfferResult result =
      service->responder().OfferSnapshot(snapshot, request->app_hash());
  response->set_result(static_cast<decltype(response->result())>(result));
  return grpc::Status::OK;
}

// As Responder::ApplySnapshotChunk: the result, the chunks to fetch again
// and the peers to drop.
template <class Request, class Response>
grpc::Status ApplySnapshotChunk(EngineService* service, grpc::ServerContext*,
                                const Request* request, Response* response) {
  const ledger::ApplyAnswer answer =
      service->responder().ApplySnapshotChunk(request->index(), request->chunk(), request->sender());
  response->set_result(static_cast<decltype(response->result())>(answer.result));
  for (uint32_t chunk : answer.refetch_chunks) response->add_refetch_chunks(chunk);
  for (const std::string& sender : answer.reject_senders) response->add_reject_senders(sender);
  return grpc::Status::OK;
}

// Executes the decided block: exactly one result per transaction, in order,
// each valid one with a "ledger" event (id, asset_id, operation, all
// indexed), and the resulting app hash. The block is staged for Commit.
template <class Request, class Response>
grpc::Status FinalizeBlock(EngineService* service, grpc::ServerContext*, const Request* request,
                           Response* response) {
  Responder& responder = service->responder();
  const std::vector<std::string> txs(request->txs().begin(), request->txs().end());
  const ledger::FinalizedBlock block = responder.ExecuteBlock(request->height(), txs);
  // A count mismatch would halt the chain; refuse loudly instead of guessing.
  if (block.results.size() != txs.size()) {
    responder.Log(LogSeverity::kError, "FinalizeBlock: " + std::to_string(block.results.size()) +
                                           " results for " + std::to_string(txs.size()) + " txs");
    return grpc::Status(grpc::StatusCode::INTERNAL, "result count differs from tx count");
  }
  size_t valid = 0;
  response->mutable_tx_results()->Reserve(static_cast<int>(txs.size()));
  for (const ledger::TxResult& result : block.results) {
    SetTxResult(TxAnswerOf(result), response->add_tx_results());
    valid += result.status.ok();
  }
  response->set_app_hash(block.app_hash);
  responder.Log(LogSeverity::kDebug, "finalized height " + std::to_string(request->height()) +
                                         ": " + std::to_string(valid) + " of " +
                                         std::to_string(txs.size()) + " txs valid, app hash " +
                                         ledger::HexEncode(block.app_hash));
  return grpc::Status::OK;
}

// Durably writes the staged block; retain_height 0 keeps every block. The
// app hash went out with FinalizeBlock. A failure is an INTERNAL error so
// that the engine stops rather than run ahead of what is stored.
template <class Request, class Response>
grpc::Status Commit(EngineService* service, grpc::ServerContext*, const Request*,
                    Response* response) {
  std::string app_hash;
  grpc::Status status = service->responder().Commit(&app_hash);
  response->set_retain_height(0);
  return status;
}

// --- Tendermint v0.34 and CometBFT v0.37 only. A block arrives as
// BeginBlock, one DeliverTx per transaction, EndBlock and Commit. Each
// DeliverTx executes its transaction at once against committed state plus
// the block's earlier valid transactions and answers its final result, the
// one FinalizeBlock would give it. The engine sends one block's calls in
// order on its consensus connection.

// v0.34: ledgerd has no options; answers code 0 and a log saying so.
template <class Request, class Response>
grpc::Status SetOption(EngineService*, grpc::ServerContext*, const Request*, Response* response) {
  response->set_log("ignored: ledgerd has no options to set");
  return grpc::Status::OK;
}

// Opens block header.height with no transactions yet, replacing a block
// that was begun but not committed (a replay after a restart). The empty
// block is staged at once, so that a block without transactions commits.
// No events.
template <class Request, class Response>
grpc::Status BeginBlock(EngineService* service, grpc::ServerContext*, const Request* request,
                        Response*) {
  service->responder().BeginBlock(request->header().height());
  return grpc::Status::OK;
}

// Appends the transaction to the open block and answers its result as
// FinalizeBlock does. Without an open block it is a FAILED_PRECONDITION
// error (the engine never does that).
template <class Request, class Response>
grpc::Status DeliverTx(EngineService* service, grpc::ServerContext*, const Request* request,
                       Response* response) {
  const std::optional<ledger::TxResult> result = service->responder().DeliverTx(request->tx());
  if (!result) {
    service->responder().Log(LogSeverity::kError, "DeliverTx without BeginBlock");
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "DeliverTx without BeginBlock");
  }
  SetTxResult(TxAnswerOf(*result), response);
  return grpc::Status::OK;
}

// Nothing to compute: no validator or parameter changes, no events. Logs
// the block's summary (debug).
template <class Request, class Response>
grpc::Status EndBlock(EngineService* service, grpc::ServerContext*, const Request* request,
                      Response*) {
  const std::optional<ledger::FinalizedBlock> block = service->responder().EndBlock();
  if (!block) return grpc::Status::OK;
  size_t valid = 0;
  for (const ledger::TxResult& result : block->results) valid += result.status.ok();
  service->responder().Log(LogSeverity::kDebug,
                           "delivered height " + std::to_string(request->height()) + ": " +
                               std::to_string(valid) + " of " +
                               std::to_string(block->results.size()) + " txs valid, app hash " +
                               ledger::HexEncode(block->app_hash));
  return grpc::Status::OK;
}

// Durably writes the block and answers its app hash in `data` (the hash
// the engine puts in the next header) and retain_height 0. A failure is an
// INTERNAL error so that the engine stops. Closes the block either way.
template <class Request, class Response>
grpc::Status CommitWithAppHash(EngineService* service, grpc::ServerContext*, const Request*,
                               Response* response) {
  // EndBlock stages the block; an engine that skipped it still commits what
  // was delivered.
  service->responder().EndBlock();
  std::string app_hash;
  grpc::Status status = service->responder().Commit(&app_hash);
  if (!status.ok()) return status;
  response->set_data(std::move(app_hash));
  response->set_retain_height(0);
  return grpc::Status::OK;
}

}  // namespace abci

#endif  // ABCI_ENGINE_HANDLERS_H_
