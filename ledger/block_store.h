// Durable ledger storage in LevelDB.
//
// Thread safety: all methods are safe to call concurrently. Reads never block
// on a block write and see either all of a block or none of it.
#ifndef LEDGER_BLOCK_STORE_H_
#define LEDGER_BLOCK_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/committed_block.h"
#include "ledger/json.h"
#include "ledger/state.h"

namespace leveldb {
class DB;
class Snapshot;
}  // namespace leveldb

namespace ledger {

inline constexpr size_t kMaxIndexedWordBytes = 64;

// Where a committed transaction lives.
struct TransactionLocation {
  int64_t height = 0;
  uint32_t index = 0;
};

// An output owned (among others) by a public key.
struct OwnedOutput {
  std::string transaction_id;
  uint32_t output_index = 0;
  bool spent = false;
};

// Chain-wide facts: the last committed block and what InitChain said.
struct ChainState {
  int64_t last_height = 0;
  std::string last_app_hash;  // raw bytes; empty before the first valid tx
  std::string chain_id;
  int64_t initial_height = 1;
  std::string validators_json = "[]";  // as the HTTP API serves them
};

// One block to persist: its height, resulting app hash and valid txs.
struct BlockWrite {
  int64_t height = 0;
  std::string app_hash;
  std::vector<std::shared_ptr<const Transaction>> transactions;
};

// The store as it was at one moment: later writes are not seen. It must not
// outlive the BlockStore it was taken from. Thread-safe.
class BlockStoreView {
 public:
  ~BlockStoreView();
  BlockStoreView(const BlockStoreView&) = delete;
  BlockStoreView& operator=(const BlockStoreView&) = delete;

  const ChainState& chain_state() const { return chain_state_; }
  // As BlockStore's methods of the same names, at that moment.
  std::optional<CommittedBlock> BlockAt(int64_t height) const;
  std::optional<std::string> GetTransaction(std::string_view id) const;

 private:
  friend class BlockStore;
  BlockStoreView(leveldb::DB* db, const leveldb::Snapshot* snapshot);

  leveldb::DB* const db_;
  const leveldb::Snapshot* const snapshot_;
  ChainState chain_state_;
};

class BlockStore : public CommittedBlockSource, public LedgerView {
 public:
  // Opens (creating if needed) the store in directory `path`, or the
  // restored store that `path` names (see Adopt); removes what an
  // unfinished restore left there. Returns null and sets `*error` if LevelDB
  // cannot open it (locked by another process, corrupt, unwritable).
  static std::unique_ptr<BlockStore> Open(const std::string& path, std::string* error);

  // Opens a new, empty store in a directory of its own inside `path` (the
  // live store's directory), for a restore to fill. Open removes it unless
  // Adopt made it the live store. Returns null and sets `*error` on failure.
  static std::unique_ptr<BlockStore> OpenEmptyBeside(const std::string& path, std::string* error);

  // Makes `restored` (opened by OpenEmptyBeside with this store's path, and
  // fully written) this store's contents, in one step: a file in this
  // store's directory names the restored store, replaced atomically, so
  // every later Open finds either the old store or the restored one. Readers
  // see the restored contents from the moment it returns. Not to be called
  // while a block is written. Returns false with `*error` set (and changes
  // nothing) on an I/O error.
  bool Adopt(std::unique_ptr<BlockStore> restored, std::string* error);

  // The directory given to Open (or chosen by OpenEmptyBeside).
  const std::string& path() const;

  // The directories of unfinished restores that Open removed (after it had
  // locked the live store, so none belonged to a running process).
  const std::vector<std::string>& removed_restores() const;

  // The store as it is now, for reading at leisure while blocks commit.
  std::unique_ptr<const BlockStoreView> View() const;

  ~BlockStore() override;
  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;

  // Writes the block, every index and the new chain tip in one WriteBatch:
  // after a crash either all of it is there or none. With `sync` false the
  // write is durable only once a later synced write returns (for a restore,
  // which ends with one). Returns false with LevelDB's message in `*error`
  // on an I/O error.
  bool WriteBlock(const BlockWrite& block, std::string* error, bool sync = true);

  // Records what InitChain said (synced). Returns false with `*error` set on
  // an I/O error.
  bool WriteChainInfo(const std::string& chain_id, int64_t initial_height,
                      const std::string& validators_json, std::string* error);

  ChainState LoadChainState() const;

  // The transaction exactly as submitted, or nullopt.
  std::optional<std::string> GetTransaction(std::string_view id) const;
  std::optional<TransactionLocation> LocateTransaction(std::string_view id) const;
  // Ids of the transactions of `asset_id` (its CREATE first), in commit order.
  std::vector<std::string> TransactionsOfAsset(std::string_view asset_id) const;
  // Outputs whose public_keys include `public_key`, in commit order.
  std::vector<OwnedOutput> OutputsOfPublicKey(std::string_view public_key) const;

  // Full-text search: ids of the committed transactions whose asset data
  // (CREATEs) or metadata contain every word of `query` in some string value
  // (ignoring the case of ASCII letters), oldest first, at most `limit`. Words are runs of
  // letters and digits (ASCII, plus any non-ASCII UTF-8), longer ones cut at
  // kMaxIndexedWordBytes. An empty query matches nothing.
  std::vector<std::string> SearchAssets(std::string_view query, size_t limit) const;
  std::vector<std::string> SearchMetadata(std::string_view query, size_t limit) const;

  // LedgerView
  bool HasTransaction(std::string_view id) const override;
  std::optional<StoredOutput> GetOutput(std::string_view transaction_id,
                                        uint32_t index) const override;
  std::optional<std::string> SpentBy(std::string_view transaction_id,
                                     uint32_t index) const override;

  // CommittedBlockSource
  std::optional<CommittedBlock> BlockAt(int64_t height) const override;
  int64_t LastHeight() const override;

 private:
  struct Impl;
  explicit BlockStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger

#endif  // LEDGER_BLOCK_STORE_H_
