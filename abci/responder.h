// What ledgerd answers to each ABCI request, whichever engine line's gRPC
// service carried it (abci/engine_service.h). Inputs and answers are plain
// values, not any line's protobuf messages: each service copies its request
// fields in and the answer out. Every service shares one Responder, so the
// behaviour (validation, codes, events, app hash, storage) is the same for
// every engine, and the Application sees one caller at a time however many
// services call it.
//
// Thread safety: all methods may be called concurrently from gRPC's threads.
// Info, InitChain, block execution and Commit are serialized by one mutex
// because the Application requires one caller at a time for them; CheckTx
// and Query run in parallel.
#ifndef ABCI_RESPONDER_H_
#define ABCI_RESPONDER_H_

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/snapshot.h"

namespace abci {

// How important a line the adapter reports is.
enum class LogSeverity { kDebug, kInfo, kWarn, kError };

// Where the adapter reports what an operator should see (the engine that
// connected, committed heights, failures). node/ forwards it to its logger.
// Called from gRPC threads, so it must be thread-safe.
using LogSink = std::function<void(LogSeverity severity, const std::string& message)>;

// Codes of a Query answer (codespace "ledger"); transaction codes come from
// ledger::ErrorCode and are documented in docs/cometbft.md.
inline constexpr uint32_t kQueryUnknownPath = 100;
inline constexpr uint32_t kQueryTransactionNotFound = 101;
inline constexpr uint32_t kQueryBadTransactionId = 102;

// The codespace of every non-zero code ledgerd answers with.
inline constexpr std::string_view kCodespace = "ledger";

// The engines' gRPC clients keep grpc-go's default 4 MiB receive limit for
// every response. The PrepareProposal answer carries the proposed txs, so a
// proposal holds at most kMaxProposalBytes of them, whatever max_tx_bytes
// allows. The block's results (one FinalizeBlock answer, or one DeliverTx
// answer each) are bounded per tx (event ~200 bytes, log at most
// kMaxLogBytes), so a proposal also holds at most kMaxTxsPerProposal txs,
// which keeps the FinalizeBlock answer under ~3 MiB.
inline constexpr int64_t kMaxProposalBytes = (4 << 20) - (16 << 10);
inline constexpr size_t kMaxTxsPerProposal = 8192;
inline constexpr size_t kMaxLogBytes = 256;

// The event type of a valid transaction's event.
inline constexpr std::string_view kLedgerEventType = "ledger";

// What the engine reports about itself in Info.
struct EngineIdentity {
  std::string version;       // the engine's software version, e.g. "0.38.25"
  std::string abci_version;  // e.g. "2.0.0"; empty when not reported (v0.34)
  uint64_t block_version = 0;
};

// Info's answer: who ledgerd is and what it has committed.
struct AppIdentity {
  std::string data;  // "ledgerd"
  std::string version;
  uint64_t app_version = 0;
  int64_t last_block_height = 0;  // 0 makes the engine call InitChain
  std::string last_block_app_hash;
};

// A validator of the genesis, as InitChain carries it.
struct GenesisValidator {
  std::string key_type;  // "ed25519", "secp256k1", ...; "unknown" when not given
  std::string key;       // the raw public key
  int64_t power = 0;
};

// Code, log and codespace of an answer: all empty for success; otherwise a
// non-zero code, a log of valid UTF-8 of at most kMaxLogBytes, and
// codespace kCodespace.
struct Verdict {
  uint32_t code = 0;
  std::string log;
  std::string codespace;
};

// One block transaction's answer (ExecTxResult, or a DeliverTx answer).
struct TxAnswer {
  Verdict verdict;
  // For a valid transaction the (key, value) attributes of its one event of
  // type kLedgerEventType: id, asset_id and operation, each to be indexed so
  // that the engine's tx_search and /websocket find it. Empty otherwise.
  std::vector<std::pair<std::string, std::string>> event_attributes;
};

// Query's answer.
struct QueryAnswer {
  Verdict verdict;
  std::string key;     // the transaction id found
  std::string value;   // the transaction JSON as stored
  int64_t height = 0;  // the last committed height
};

// The answer to the engine about one executed transaction.
TxAnswer TxAnswerOf(const ledger::TxResult& result);

// What state sync works with; either may be null.
struct StateSync {
  // The snapshots served to other nodes; none when null.
  const ledger::SnapshotStore* snapshots = nullptr;
  // The live store, which a restore replaces; offers are refused when null.
  ledger::BlockStore* store = nullptr;
};

class Responder {
 public:
  // `app` and what `state_sync` names must outlive the Responder. `version`
  // is reported by Info; `log` receives the adapter's log lines and may be
  // empty.
  Responder(ledger::Application* app, std::string version, LogSink log,
            StateSync state_sync = {});

  // Sets `*answer` to "ledgerd", the version, app version 1, and the last
  // committed height and app hash (what decides the engine's replay). Logs
  // the engine's version, ABCI version and `service` (the gRPC service
  // called) the first time that engine version is seen, and then returns
  // true.
  bool Info(const EngineIdentity& engine, std::string_view service, AppIdentity* answer);

  // Records chain id, initial height and validators (as JSON for the HTTP
  // API). The engine's answer stays empty: no app hash, and no changes to
  // the genesis validators or parameters. An I/O error is an INTERNAL
  // status.
  grpc::Status InitChain(const std::string& chain_id, int64_t initial_height,
                         const std::vector<GenesisValidator>& validators);

  // Path "/tx" with data = a transaction id (64 hex characters, or its 32
  // raw bytes) answers code 0 and the transaction JSON as stored. An unknown
  // id, a malformed id or another path answer a non-zero code and a log.
  QueryAnswer Query(const std::string& path, const std::string& data) const;

  // Mempool admission: a first check runs every check, a recheck only the
  // stateful ones. Code 0 admits; otherwise the code of the
  // ledger::ErrorCode, its name and message as the log, and codespace
  // "ledger".
  Verdict CheckTx(std::string_view tx, bool recheck);

  // How many of the candidate `txs`, taken in order, to propose: stops
  // before the first that would exceed max_tx_bytes, kMaxProposalBytes or
  // kMaxTxsPerProposal.
  size_t ProposalLength(int64_t max_tx_bytes,
                        const google::protobuf::RepeatedPtrField<std::string>& txs) const;

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

  // The snapshots kept, newest first (none without a SnapshotStore).
  std::vector<ledger::SnapshotInfo> ListSnapshots() const;

  // A chunk of a kept snapshot; empty if there is no such chunk.
  std::string LoadSnapshotChunk(int64_t height, uint32_t format, uint32_t index) const;

  // As SnapshotRestore::Offer and Apply, each answer logged; ABORT when
  // ledgerd was given no store to restore. A restore that completes makes
  // Info report the restored height and app hash.
  ledger::OfferResult OfferSnapshot(const ledger::SnapshotInfo& snapshot,
                                    std::string_view trusted_app_hash);
  ledger::ApplyAnswer ApplySnapshotChunk(uint32_t index, std::string_view chunk,
                                         std::string_view sender);

  // Sends `message` to the log sink, if there is one.
  void Log(LogSeverity severity, const std::string& message) const;

 private:
  ledger::Application* const app_;
  const std::string version_;
  const LogSink log_;

  const StateSync state_sync_;

  // Serializes the Application's one-caller-at-a-time methods, and restores,
  // which replace the store under them.
  std::mutex consensus_mutex_;
  std::string last_engine_version_;  // guarded by consensus_mutex_
  std::unique_ptr<ledger::SnapshotRestore> restore_;  // guarded by consensus_mutex_
};

}  // namespace abci

#endif  // ABCI_RESPONDER_H_
