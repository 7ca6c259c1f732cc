// What ledgerd answers to each ABCI request, whichever gRPC service carried
// it: `tendermint.abci.ABCI` (CometBFT v0.38, AbciService) or
// `tendermint.abci.ABCIApplication` (Tendermint v0.34 / CometBFT v0.37,
// LegacyAbciService). Both services share one Responder, so the behaviour
// (validation, codes, events, app hash, storage) is the same for every
// engine, and the Application sees one caller at a time however many
// services call it.
//
// Thread safety: all methods may be called concurrently from gRPC's threads.
// Info, InitChain, block execution and Commit are serialized by one mutex
// because the Application requires one caller at a time for them; CheckTx
// and Query run in parallel.
#ifndef ABCI_RESPONDER_H_
#define ABCI_RESPONDER_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/application.h"
#include "tendermint/abci/types.pb.h"

namespace abci {

// How important a line the adapter reports is.
enum class LogSeverity { kDebug, kInfo, kWarn, kError };

// Where the adapter reports what an operator should see (the engine that
// connected, committed heights, failures). node/ forwards it to its logger.
// Called from gRPC threads, so it must be thread-safe.
using LogSink = std::function<void(LogSeverity severity, const std::string& message)>;

// Codes of ResponseQuery (codespace "ledger"); transaction codes come from
// ledger::ErrorCode and are documented in docs/cometbft.md.
inline constexpr uint32_t kQueryUnknownPath = 100;
inline constexpr uint32_t kQueryTransactionNotFound = 101;
inline constexpr uint32_t kQueryBadTransactionId = 102;

// The codespace of every non-zero code ledgerd answers with.
inline constexpr std::string_view kCodespace = "ledger";

// The engines' gRPC clients keep grpc-go's default 4 MiB receive limit for
// every response. ResponsePrepareProposal carries the proposed txs, so a
// proposal holds at most kMaxProposalBytes of them, whatever max_tx_bytes
// allows. The block's results (ResponseFinalizeBlock, or one
// ResponseDeliverTx each) are bounded per tx (event ~200 bytes, log at most
// kMaxLogBytes), so a proposal also holds at most kMaxTxsPerProposal txs,
// which keeps ResponseFinalizeBlock under ~3 MiB.
inline constexpr int64_t kMaxProposalBytes = (4 << 20) - (16 << 10);
inline constexpr size_t kMaxTxsPerProposal = 8192;
inline constexpr size_t kMaxLogBytes = 256;

// Fills code, log and codespace from `result`'s verdict, and for a valid
// transaction a "ledger" event with its id, asset_id and operation, all
// indexed (so that the engine's tx_search and /websocket find them).
void FillTxResult(const ledger::TxResult& result, tendermint::abci::ExecTxResult* out);
void FillTxResult(const ledger::TxResult& result, tendermint::abci::ResponseDeliverTx* out);

class Responder {
 public:
  // `app` must outlive the Responder. `version` is reported by Info; `log`
  // receives the adapter's log lines and may be empty.
  Responder(ledger::Application* app, std::string version, LogSink log);

  // Reports "ledgerd", the version, app version 1, and the last committed
  // height and app hash (what decides the engine's replay). Logs the
  // engine's version, ABCI version and `service` (the gRPC service called)
  // the first time that engine version is seen, and then returns true.
  bool Info(const tendermint::abci::RequestInfo& request, std::string_view service,
            tendermint::abci::ResponseInfo* response);

  // Records chain id, initial height and validators (as JSON for the HTTP
  // API). The response stays empty: no app hash, and no changes to the
  // genesis validators or parameters. An I/O error is an INTERNAL status.
  grpc::Status InitChain(const tendermint::abci::RequestInitChain& request);

  // Path "/tx" with data = a transaction id (64 hex characters, or its 32
  // raw bytes) answers code 0 and the transaction JSON as stored. An unknown
  // id, a malformed id or another path answer a non-zero code and a log.
  void Query(const tendermint::abci::RequestQuery& request,
             tendermint::abci::ResponseQuery* response) const;

  // Mempool admission: NEW runs every check, RECHECK only the stateful
  // ones. Code 0 admits; otherwise the code of the ledger::ErrorCode, its
  // name and message as the log, and codespace "ledger".
  void CheckTx(const tendermint::abci::RequestCheckTx& request,
               tendermint::abci::ResponseCheckTx* response);

  // Proposes the candidate transactions in order, stopping before the
  // first that would exceed max_tx_bytes, kMaxProposalBytes or
  // kMaxTxsPerProposal.
  void PrepareProposal(const tendermint::abci::RequestPrepareProposal& request,
                       tendermint::abci::ResponsePrepareProposal* response) const;

  // Always ACCEPT: invalid transactions are refused one by one when the
  // block executes, never by refusing the block.
  void ProcessProposal(tendermint::abci::ResponseProcessProposal* response) const;

  // Executes `txs` as block `height` against committed state (exactly one
  // result per tx, in order, and the resulting app hash) and stages it for
  // Commit, replacing whatever was staged before.
  ledger::FinalizedBlock ExecuteBlock(int64_t height, const std::vector<std::string>& txs);

  // The same execution one transaction at a time (v0.34/v0.37): BeginBlock
  // opens block `height`; DeliverTx executes the next transaction and gives
  // its final result (nullopt when no block is open); EndBlock stages the
  // block for Commit and gives the app hash (nullopt when no block is open).
  void BeginBlock(int64_t height);
  std::optional<ledger::TxResult> DeliverTx(std::string_view tx);
  std::optional<ledger::FinalizedBlock> EndBlock();

  // Durably writes the staged block and sets `*app_hash` to the committed
  // app hash. A failure (nothing staged, or the write failed) is logged and
  // is an INTERNAL status, so that the engine stops rather than run ahead of
  // what is stored.
  grpc::Status Commit(std::string* app_hash);

  // State sync is not supported: no snapshots, offers rejected, empty
  // chunks, and applying a chunk aborts the restoration.
  void ListSnapshots(tendermint::abci::ResponseListSnapshots* response) const;
  void OfferSnapshot(tendermint::abci::ResponseOfferSnapshot* response) const;
  void LoadSnapshotChunk(tendermint::abci::ResponseLoadSnapshotChunk* response) const;
  void ApplySnapshotChunk(tendermint::abci::ResponseApplySnapshotChunk* response) const;

  // Sends `message` to the log sink, if there is one.
  void Log(LogSeverity severity, const std::string& message) const;

 private:
  ledger::Application* const app_;
  const std::string version_;
  const LogSink log_;

  // Serializes the Application's one-caller-at-a-time methods.
  std::mutex consensus_mutex_;
  std::string last_engine_version_;  // guarded by consensus_mutex_
};

}  // namespace abci

#endif  // ABCI_RESPONDER_H_
