// The gRPC ABCI service CometBFT v0.38 calls (`tendermint.abci.ABCI`, ABCI
// 2.0): a thin adapter that turns each request into a call on the shared
// Responder (and so on ledger::Application) and its result into the response
// CometBFT expects. Every method answers; a gRPC error is returned only where
// the engine must stop (a failed durable write).
//
// Thread safety: all methods may be called concurrently from gRPC's threads;
// the Responder serializes what must not overlap.
#ifndef ABCI_ABCI_SERVICE_H_
#define ABCI_ABCI_SERVICE_H_

#include "abci/responder.h"
#include "tendermint/abci/types.grpc.pb.h"

namespace abci {

class AbciService final : public tendermint::abci::ABCI::Service {
 public:
  // `responder` must outlive the service.
  explicit AbciService(Responder* responder);

  // Echoes the request's message: the engine's connection probe.
  grpc::Status Echo(grpc::ServerContext* context, const tendermint::abci::RequestEcho* request,
                    tendermint::abci::ResponseEcho* response) override;

  // Answers immediately: every call here completes before it returns.
  grpc::Status Flush(grpc::ServerContext* context, const tendermint::abci::RequestFlush* request,
                     tendermint::abci::ResponseFlush* response) override;

  // Reports "ledgerd", the version, app version 1, and the last committed
  // height and app hash (what decides the engine's replay). Logs the
  // engine's version the first time it is seen, with a warning if it
  // announces an ABCI version other than 2.x.
  grpc::Status Info(grpc::ServerContext* context, const tendermint::abci::RequestInfo* request,
                    tendermint::abci::ResponseInfo* response) override;

  // Records chain id, initial height and validators (as JSON for the HTTP
  // API). Answers an empty app hash and no changes to the genesis
  // validators or parameters. An I/O error is an INTERNAL gRPC error.
  grpc::Status InitChain(grpc::ServerContext* context,
                         const tendermint::abci::RequestInitChain* request,
                         tendermint::abci::ResponseInitChain* response) override;

  // Path "/tx" with data = a transaction id (64 hex characters, or its 32
  // raw bytes) answers code 0 and the transaction JSON as stored. An unknown
  // id, a malformed id or another path answer a non-zero code and a log.
  grpc::Status Query(grpc::ServerContext* context, const tendermint::abci::RequestQuery* request,
                     tendermint::abci::ResponseQuery* response) override;

  // Mempool admission: NEW runs every check, RECHECK only the stateful
  // ones. Code 0 admits; otherwise the code of the ledger::ErrorCode, its
  // name and message as the log, and codespace "ledger".
  grpc::Status CheckTx(grpc::ServerContext* context,
                       const tendermint::abci::RequestCheckTx* request,
                       tendermint::abci::ResponseCheckTx* response) override;

  // Proposes the candidate transactions in order, stopping before the
  // first that would exceed max_tx_bytes, kMaxProposalBytes or
  // kMaxTxsPerProposal.
  grpc::Status PrepareProposal(grpc::ServerContext* context,
                               const tendermint::abci::RequestPrepareProposal* request,
                               tendermint::abci::ResponsePrepareProposal* response) override;

  // Always ACCEPT: invalid transactions are refused one by one in
  // FinalizeBlock, never by refusing the block.
  grpc::Status ProcessProposal(grpc::ServerContext* context,
                               const tendermint::abci::RequestProcessProposal* request,
                               tendermint::abci::ResponseProcessProposal* response) override;

  // Executes the decided block: exactly one ExecTxResult per transaction, in
  // order, each valid one with a "ledger" event (id, asset_id, operation, all
  // indexed), and the resulting app hash. The block is staged for Commit.
  grpc::Status FinalizeBlock(grpc::ServerContext* context,
                             const tendermint::abci::RequestFinalizeBlock* request,
                             tendermint::abci::ResponseFinalizeBlock* response) override;

  // Durably writes the staged block; retain_height 0 keeps every block. A
  // failure is an INTERNAL gRPC error so that the engine stops rather than
  // run ahead of what is stored.
  grpc::Status Commit(grpc::ServerContext* context, const tendermint::abci::RequestCommit* request,
                      tendermint::abci::ResponseCommit* response) override;

  // Vote extensions are not used: an empty extension, and every one accepted.
  grpc::Status ExtendVote(grpc::ServerContext* context,
                          const tendermint::abci::RequestExtendVote* request,
                          tendermint::abci::ResponseExtendVote* response) override;
  grpc::Status VerifyVoteExtension(
      grpc::ServerContext* context, const tendermint::abci::RequestVerifyVoteExtension* request,
      tendermint::abci::ResponseVerifyVoteExtension* response) override;

  // State sync is not supported: no snapshots, offers rejected, empty chunks,
  // and applying a chunk aborts the restoration.
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

#endif  // ABCI_ABCI_SERVICE_H_
