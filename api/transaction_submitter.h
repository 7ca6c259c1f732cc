// Where the HTTP API hands a locally validated transaction: the consensus
// engine (CometBFT's RPC, see comet_rpc_submitter.h) or the --dev block
// producer.
#ifndef API_TRANSACTION_SUBMITTER_H_
#define API_TRANSACTION_SUBMITTER_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace api {

// How long POST /api/v1/transactions waits, as CometBFT's broadcast_tx_*.
enum class BroadcastMode {
  kAsync,   // answer once the transaction is handed over
  kSync,    // answer once the mempool admitted it (CheckTx passed)
  kCommit,  // answer once the block holding it is durable
};

// The mode named "async", "sync" or "commit" (case-sensitive, as
// BigchainDB), or nullopt.
std::optional<BroadcastMode> ParseBroadcastMode(std::string_view name);

// "async", "sync" or "commit".
std::string_view BroadcastModeName(BroadcastMode mode);

// How a submission ended. Every failure maps to one HTTP status.
enum class SubmitOutcome {
  kAccepted,        // 202: handed over / admitted / committed, as the mode asks
  kRejected,        // 400: the engine's CheckTx or block execution refused it
  kAlreadyPending,  // 409: the same transaction is already in the mempool
  kUnavailable,     // 503: mempool full, or the engine cannot take it now
  kEngineError,     // 502: the engine failed or could not be reached
  kTimeout,         // 504: no answer (or no commit) in time
};

// A submission's result; `message` tells a user what happened (empty for
// kAccepted). Plain value type.
struct SubmitResult {
  SubmitOutcome outcome = SubmitOutcome::kAccepted;
  std::string message;

  static SubmitResult Accepted() { return {}; }
  static SubmitResult Failure(SubmitOutcome outcome, std::string message) {
    return {outcome, std::move(message)};
  }
  bool ok() const { return outcome == SubmitOutcome::kAccepted; }
};

// The HTTP status the API answers for `outcome` (202, 400, 409, 503, 502,
// 504).
unsigned HttpStatusOf(SubmitOutcome outcome);

// Called exactly once per Submit, from any thread (also from inside Submit
// itself).
using SubmitCallback = std::function<void(SubmitResult)>;

// Thread safety: implementations must accept Submit calls from several
// threads at once.
class TransactionSubmitter {
 public:
  virtual ~TransactionSubmitter() = default;

  // Submits `tx` (the transaction JSON exactly as the client sent it, already
  // validated against committed state) and calls `done` with the outcome once
  // `mode` is satisfied or the submission failed. Must not block for long:
  // it is called on the HTTP server's threads.
  virtual void Submit(std::string tx, BroadcastMode mode, SubmitCallback done) = 0;
};

}  // namespace api

#endif  // API_TRANSACTION_SUBMITTER_H_
