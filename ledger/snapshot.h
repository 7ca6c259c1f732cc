// State-sync snapshots of the ledger: taking them as blocks commit, serving
// them to the engine, and restoring a new node's store from one.
//
// A snapshot at height H holds every committed block from the chain's first
// through H, each with its valid transactions exactly as submitted, after a
// header with the chain's facts (chain id, initial height, validators, H and
// the app hash after H). The byte stream is a function of the chain alone,
// so every node writes the same bytes at the same height. It is cut into
// chunks of at most `chunk_bytes`; the snapshot's metadata lists the app
// hash and each chunk's SHA-256, and the snapshot's hash is the SHA-256 of
// the metadata.
//
// A restore checks each chunk against its hash, each transaction's id and
// signatures (the stateless checks, on every core), rebuilds every index
// with the same code that commits a block, recomputes the app hash chain
// block by block, and adopts the new store only when the app hash after H
// equals the one the engine trusts.
#ifndef LEDGER_SNAPSHOT_H_
#define LEDGER_SNAPSHOT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/block_store.h"
#include "ledger/committed_block.h"

namespace ledger {

// The one snapshot format: the byte stream and metadata described above.
inline constexpr uint32_t kSnapshotFormat = 1;

// The engines' gRPC clients accept answers of at most 4 MiB, and a chunk
// travels in one LoadSnapshotChunk answer.
inline constexpr size_t kSnapshotChunkBytes = 3 << 20;

// A snapshot as ABCI describes it.
struct SnapshotInfo {
  int64_t height = 0;
  uint32_t format = 0;
  uint32_t chunks = 0;
  std::string hash;      // SHA-256 of `metadata`, raw bytes
  std::string metadata;  // EncodeSnapshotMetadata
};

// What a snapshot's metadata says.
struct SnapshotMetadata {
  std::string app_hash;                   // raw bytes; empty before the first valid tx
  std::vector<std::string> chunk_hashes;  // SHA-256 of each chunk, raw 32 bytes
};

// The metadata's bytes: a version, the app hash and the chunk hashes.
std::string EncodeSnapshotMetadata(const SnapshotMetadata& metadata);
// The metadata in `bytes`, or nullopt if they are not metadata of
// kSnapshotFormat.
std::optional<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view bytes);

// Writes the snapshot of `view` at its last height, calling `emit` with each
// chunk (at most `chunk_bytes`, in order). Stops and returns false with
// `*error` set if a block or transaction is missing from the view or `emit`
// returns false.
bool SerializeSnapshot(const BlockStoreView& view, size_t chunk_bytes,
                       const std::function<bool(std::string_view chunk)>& emit,
                       std::string* error);

// Takes a snapshot every `interval` heights and keeps the newest `keep` on
// disk, each in a directory of its own under `directory`; serves them.
//
// Thread safety: all methods may be called concurrently. The work runs on a
// thread of its own, so OnBlockCommitted (called on the commit path) only
// takes a view of the store; at most one snapshot is written at a time.
class SnapshotStore : public BlockObserver {
 public:
  struct Options {
    std::string directory;  // created if missing
    int64_t interval = 0;   // 0: never take one
    size_t keep = 2;        // at least 1
    size_t chunk_bytes = kSnapshotChunkBytes;
    // Receives a line for each snapshot taken, skipped or failed; may be empty.
    std::function<void(const std::string& line)> log;
  };

  // Serves the finished snapshots found in `options.directory` and removes
  // unfinished ones. `store` must outlive the SnapshotStore.
  SnapshotStore(const BlockStore* store, Options options);
  // Waits for a snapshot being written.
  ~SnapshotStore() override;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // At a height that is a multiple of the interval, starts writing its
  // snapshot, unless one is being written (then this height is skipped and
  // logged).
  void OnBlockCommitted(const CommittedBlock& block) override;

  // The snapshots kept, newest first.
  std::vector<SnapshotInfo> List() const;

  // Chunk `index` of the snapshot at `height` in `format`, as stored; nullopt
  // if there is no such chunk.
  std::optional<std::string> LoadChunk(int64_t height, uint32_t format, uint32_t index) const;

  // Returns once no snapshot is being written.
  void WaitIdle();

 private:
  void Run();
  // Writes the snapshot of `view`, then drops the oldest beyond `keep`.
  void Write(const BlockStoreView& view);
  std::string DirectoryOf(int64_t height) const;

  const BlockStore* const store_;
  const Options options_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<SnapshotInfo> snapshots_;            // newest first; guarded
  std::unique_ptr<const BlockStoreView> pending_;  // to write; guarded
  bool writing_ = false;                           // guarded
  bool stopping_ = false;                          // guarded
  std::thread worker_;
};

// OfferSnapshot's results, numbered as in every ABCI line.
enum class OfferResult : int {
  kAccept = 1,
  kAbort = 2,
  kReject = 3,
  kRejectFormat = 4,
  kRejectSender = 5,
};

// ApplySnapshotChunk's results, numbered as in every ABCI line.
enum class ApplyResult : int {
  kAccept = 1,
  kAbort = 2,
  kRetry = 3,
  kRetrySnapshot = 4,
  kRejectSnapshot = 5,
};

struct OfferAnswer {
  OfferResult result = OfferResult::kReject;
  std::string log;  // why, for the operator's log
};

struct ApplyAnswer {
  ApplyResult result = ApplyResult::kAbort;
  std::vector<uint32_t> refetch_chunks;     // chunks to fetch again
  std::vector<std::string> reject_senders;  // peers not to fetch from again
  std::string log;                          // what happened, for the operator's log
};

// Restores the live store from a snapshot that the engine offers, chunk by
// chunk, into a new store beside it, adopted only once the whole snapshot
// checks out (BlockStore::Adopt). A failed or abandoned restore leaves the
// live store as it was.
//
// Thread safety: one caller at a time (the engine's state-sync connection).
class SnapshotRestore {
 public:
  // `live` must outlive the SnapshotRestore.
  explicit SnapshotRestore(BlockStore* live);
  ~SnapshotRestore();
  SnapshotRestore(const SnapshotRestore&) = delete;
  SnapshotRestore& operator=(const SnapshotRestore&) = delete;

  // Accepts `snapshot` when it is of kSnapshotFormat, its metadata is
  // well-formed and hashes to its hash, and the app hash it claims is
  // `trusted_app_hash` (the light client's app hash after its height);
  // rejects it otherwise. Accepting starts a new restore, discarding one in
  // progress.
  OfferAnswer Offer(const SnapshotInfo& snapshot, std::string_view trusted_app_hash);

  // Applies chunk `index` (chunks come in order) that peer `sender` served:
  // retries it from another peer if it does not match its hash; rejects the
  // snapshot if its contents do not check out; after the last chunk, adopts
  // the restored store.
  ApplyAnswer Apply(uint32_t index, std::string_view chunk, std::string_view sender);

 private:
  struct Restore;
  // Ends the restore in progress, removing its store.
  void Discard();

  BlockStore* const live_;
  std::unique_ptr<Restore> restore_;
};

}  // namespace ledger

#endif  // LEDGER_SNAPSHOT_H_
