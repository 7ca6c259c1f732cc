// The ledger's block lifecycle, independent of any consensus engine or
// transport: CometBFT's ABCI adapter and the --dev block producer both drive
// it.
//
// Thread safety: CheckTx may be called from any number of threads at once,
// also while FinalizeBlock runs. Info, InitChain, FinalizeBlock and Commit
// must be called from one thread at a time (the consensus connection).
#ifndef LEDGER_APPLICATION_H_
#define LEDGER_APPLICATION_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/block_store.h"
#include "ledger/committed_block.h"
#include "ledger/state.h"
#include "ledger/transaction.h"
#include "ledger/validation_cache.h"

namespace ledger {

struct AppInfo {
  int64_t last_height = 0;
  std::string last_app_hash;  // raw bytes
  std::string chain_id;
};

// The verdict on one transaction.
struct TxResult {
  Status status;
  // Set whenever the transaction parsed (also for stateful failures), so
  // callers can report its id, asset id and operation.
  std::shared_ptr<const Transaction> transaction;
};

struct FinalizedBlock {
  int64_t height = 0;
  std::vector<TxResult> results;  // exactly one per transaction given
  std::string app_hash;           // raw 32 bytes, or the previous hash
};

// Runs the stateless checks of `txs` through `cache`, spreading the work over
// the machine's cores; the results keep the order of `txs`.
std::vector<std::shared_ptr<const CheckedTransaction>> CheckAll(const std::vector<std::string>& txs,
                                                                ValidationCache* cache);

// The app hash after a block whose valid transactions are `valid`, in order:
// `previous` when there are none, otherwise
// SHA3-256(previous ‖ SHA3-256(their ids concatenated)), raw bytes.
std::string NextAppHash(const std::string& previous,
                        const std::vector<std::shared_ptr<const Transaction>>& valid);

class Application {
 public:
  // `store` must outlive the Application.
  explicit Application(BlockStore* store);

  // Last committed height and app hash (what the engine uses to decide what
  // to replay), and the chain id.
  AppInfo Info() const;

  // Records the chain id, first height and initial validators (JSON array
  // served by the HTTP API). Returns false with `*error` on an I/O error.
  bool InitChain(const std::string& chain_id, int64_t initial_height,
                 const std::string& validators_json, std::string* error);

  // Mempool admission against committed state. The stateless result comes
  // from the cache, and the store is read only if the transaction has not
  // passed against the current state yet: a transaction that passed one
  // block earlier passes again unless that block committed its id or spent
  // one of its inputs. A recheck that fails also drops the cached entry,
  // since the engine evicts the transaction.
  TxResult CheckTx(std::string_view raw, bool recheck = false);

  // Stateless checks only (parse, id, schema, signatures), cached. For the
  // HTTP API's local validation and `ledgerctl validate`.
  std::shared_ptr<const CheckedTransaction> CheckStatelessCached(std::string_view raw);

  // Executes a block in order against committed state plus the block's earlier
  // valid transactions, and stages it for Commit. Calling it again for the
  // same height (a replay after a crash) replaces the staged block. The
  // stateless checks of uncached transactions run across all cores first.
  FinalizedBlock FinalizeBlock(int64_t height, const std::vector<std::string>& txs);

  // The same execution for engines that hand a block over one transaction at
  // a time (BeginBlock, DeliverTx..., EndBlock): each step costs what its
  // transaction costs, and the results, app hash and staged block equal
  // FinalizeBlock's for the same transactions.
  //
  // BeginBlock opens a block at `height`, discarding any block open or staged.
  void BeginBlock(int64_t height);
  // Executes `raw` against committed state plus the open block's earlier
  // valid transactions; nullopt (and nothing done) when no block is open.
  std::optional<TxResult> DeliverTx(std::string_view raw);
  // Closes the open block and stages it for Commit; nullopt when no block is
  // open.
  std::optional<FinalizedBlock> EndBlock();

  // Durably writes the staged block (even one without valid transactions),
  // then tells every observer. Returns false with `*error` if nothing was
  // staged or the write failed; observers are not called then.
  bool Commit(std::string* error);

  // `observer` must outlive the Application; called after each durable commit.
  void AddObserver(BlockObserver* observer);

  const BlockStore& store() const { return *store_; }
  ValidationCache& cache() { return cache_; }

 private:
  BlockStore* store_;
  ValidationCache cache_;
  // A block between BeginBlock and EndBlock.
  struct OpenBlock {
    explicit OpenBlock(const LedgerView* committed) : overlay(committed) {}
    BlockOverlay overlay;  // committed state plus the block's valid txs
    BlockWrite write;
    std::vector<std::string> raw;  // every delivered transaction, as received
    std::vector<TxResult> results;
  };

  // Executes one transaction of the open block whose stateless result is
  // `checked`.
  TxResult Deliver(std::string_view raw, const CheckedTransaction& checked);

  // The checks against committed state at the store's last height, reading
  // the store only when KnownToPass cannot answer; a pass is remembered in
  // `checked`.
  Status CheckAgainstCommitted(const CheckedTransaction& checked);

  // Whether `checked` passes the checks against committed state at `height`
  // without reading the store: it passed there, or at the height below and
  // the block committed since does not affect it (then it is remembered as
  // passed at `height`).
  bool KnownToPass(const CheckedTransaction& checked, int64_t height);

  // The valid transactions of the last committed block, as an overlay (only
  // its own additions are consulted), and its height.
  struct CommittedChanges {
    int64_t height = -1;
    std::shared_ptr<const BlockOverlay> block;
  };

  std::optional<OpenBlock> open_;
  std::optional<BlockWrite> staged_;
  std::shared_ptr<const BlockOverlay> staged_changes_;
  std::mutex changes_mutex_;
  CommittedChanges last_changes_;  // guarded by changes_mutex_
  std::vector<std::string> staged_raw_;  // the block's transactions as received
  std::mutex observers_mutex_;
  std::vector<BlockObserver*> observers_;
};

}  // namespace ledger

#endif  // LEDGER_APPLICATION_H_
