// The gRPC ABCI service Tendermint v0.34 and CometBFT v0.37 call
// (`tendermint.abci.ABCIApplication`): a thin adapter onto the same Responder
// as the v0.38 service, so that validation, result codes, events, app hashes,
// storage and the event stream are identical whichever engine drives ledgerd.
//
// A block arrives as BeginBlock, one DeliverTx per transaction, EndBlock and
// Commit (which returns the app hash in ResponseCommit.data). Each DeliverTx
// executes its transaction at once against committed state plus the block's
// earlier valid transactions and answers its final result, the one
// FinalizeBlock would give it.
//
// Thread safety: all methods may be called concurrently from gRPC's threads;
// the Responder serializes block execution. The engine sends one block's
// calls in order on its consensus connection.
#ifndef ABCI_LEGACY_ABCI_SERVICE_H_
#define ABCI_LEGACY_ABCI_SERVICE_H_

#include "abci/responder.h"
#include "tendermint/abci/types.grpc.pb.h"

namespace abci {

class LegacyAbciService final : public tendermint::abci::ABCIApplication::Service {
 public:
  // `responder` must outlive the service.
  explicit LegacyAbciService(Responder* responder);

  // Echoes the request's message: the engine's connection probe.
  grpc::Status Echo(grpc::ServerContext* context, const tendermint::abci::RequestEcho* request,
                    tendermint::abci::ResponseEcho* response) override;

  // Answers immediately: every call here completes before it returns.
  grpc::Status Flush(grpc::ServerContext* context, const tendermint::abci::RequestFlush* request,
                     tendermint::abci::ResponseFlush* response) override;

  // As Responder::Info; logs the engine's version the first time it is seen.
  grpc::Status Info(grpc::ServerContext* context, const tendermint::abci::RequestInfo* request,
                    tendermint::abci::ResponseInfo* response) override;

  // v0.34: ledgerd has no options; answers code 0 and a log saying so.
  grpc::Status SetOption(grpc::ServerContext* context,
                         const tendermint::abci::RequestSetOption* request,
                         tendermint::abci::ResponseSetOption* response) override;

  // As Responder::InitChain.
  grpc::Status InitChain(grpc::ServerContext* context,
                         const tendermint::abci::RequestInitChain* request,
                         tendermint::abci::ResponseInitChain* response) override;

  // As Responder::Query.
  grpc::Status Query(grpc::ServerContext* context, const tendermint::abci::RequestQuery* request,
                     tendermint::abci::ResponseQuery* response) override;

  // As Responder::CheckTx; the priority-mempool fields stay empty.
  grpc::Status CheckTx(grpc::ServerContext* context,
                       const tendermint::abci::RequestCheckTx* request,
                       tendermint::abci::ResponseCheckTx* response) override;

  // v0.37: as Responder::PrepareProposal and Responder::ProcessProposal.
  grpc::Status PrepareProposal(grpc::ServerContext* context,
                               const tendermint::abci::RequestPrepareProposal* request,
                               tendermint::abci::ResponsePrepareProposal* response) override;
  grpc::Status ProcessProposal(grpc::ServerContext* context,
                               const tendermint::abci::RequestProcessProposal* request,
                               tendermint::abci::ResponseProcessProposal* response) override;

  // Opens block header.height with no transactions yet, replacing a block
  // that was begun but not committed (a replay after a restart). The empty
  // block is staged at once, so that a block without transactions commits.
  // No events.
  grpc::Status BeginBlock(grpc::ServerContext* context,
                          const tendermint::abci::RequestBeginBlock* request,
                          tendermint::abci::ResponseBeginBlock* response) override;

  // Appends the transaction to the open block and answers its result: code,
  // log and codespace as CheckTx, and for a valid transaction the same
  // "ledger" event as the v0.38 service. Without an open block it is a
  // FAILED_PRECONDITION error (the engine never does that).
  grpc::Status DeliverTx(grpc::ServerContext* context,
                         const tendermint::abci::RequestDeliverTx* request,
                         tendermint::abci::ResponseDeliverTx* response) override;

  // Nothing to compute: no validator or parameter changes, no events. Logs
  // the block's summary (debug).
  grpc::Status EndBlock(grpc::ServerContext* context,
                        const tendermint::abci::RequestEndBlock* request,
                        tendermint::abci::ResponseEndBlock* response) override;

  // Durably writes the block and answers its app hash in `data` (the hash
  // the engine puts in the next header) and retain_height 0. A failure is an
  // INTERNAL error so that the engine stops. Closes the block either way.
  grpc::Status Commit(grpc::ServerContext* context, const tendermint::abci::RequestCommit* request,
                      tendermint::abci::ResponseCommit* response) override;

  // As the Responder's snapshot calls: state sync is not supported.
  grpc::Status ListSnapshots(grpc::ServerContext* context,
                             const tendermint::abci::RequestListSnapshots* request,
                             tendermint::abci::ResponseListSnapshots* response) override;
  grpc::Status OfferSnapshot(grpc::ServerContext* context,
                             const tendermint::abci::RequestOfferSnapshot* request,
                             tendermint::abci::ResponseOfferSnapshot* response) override;
  grpc::Status LoadSnapshotChunk(grpc::ServerContext* context,
                                 const tendermint::abci::RequestLoadSnapshotChunk* request,
                                 tendermint::abci::ResponseLoadSnapshotChunk* response) override;
  grpc::Status ApplySnapshotChunk(grpc::ServerContext* context,
                                  const tendermint::abci::RequestApplySnapshotChunk* request,
                                  tendermint::abci::ResponseApplySnapshotChunk* response) override;

 private:
  Responder* const responder_;
};

}  // namespace abci

#endif  // ABCI_LEGACY_ABCI_SERVICE_H_
