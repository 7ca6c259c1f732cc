#include "ledger/snapshot.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "ledger/application.h"
#include "ledger/crypto.h"
#include "ledger/validation_cache.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

// The byte stream is a sequence of records, each a 4-byte big-endian length
// and a body: one header, then one block per height, in order.
//   header: kMagic, format (4), height (8), app hash, chain id,
//           initial height (8), validators JSON, first height (8)
//   block:  'B', height (8), count (4), each transaction's bytes
// Variable-length fields are a 4-byte length and the bytes; integers are
// big-endian.
constexpr std::string_view kMagic = "ledgerd-snapshot";
constexpr char kBlockTag = 'B';
// Bounds what a hostile snapshot can make a restore hold in memory; a block
// proposal is at most 4 MiB.
constexpr size_t kMaxRecordBytes = 64 << 20;
constexpr uint32_t kMetadataVersion = 1;

constexpr std::string_view kMetadataFile = "metadata";
constexpr std::string_view kPartialSuffix = ".partial";

void AppendInteger(uint64_t value, int bytes, std::string* out) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void AppendField(std::string_view bytes, std::string* out) {
  AppendInteger(bytes.size(), 4, out);
  out->append(bytes);
}

// Reads fields off the front of bytes it does not own; any read past the end
// fails it for good.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : rest_(bytes) {}

  uint64_t Integer(int bytes) {
    if (failed_ || rest_.size() < static_cast<size_t>(bytes)) {
      failed_ = true;
      return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = value << 8 | static_cast<uint8_t>(rest_[i]);
    rest_.remove_prefix(static_cast<size_t>(bytes));
    return value;
  }

  std::string_view Bytes(size_t size) {
    if (failed_ || rest_.size() < size) {
      failed_ = true;
      return {};
    }
    std::string_view bytes = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return bytes;
  }

  std::string_view Field() { return Bytes(Integer(4)); }

  // True when every read succeeded and nothing is left.
  bool Finished() const { return !failed_ && rest_.empty(); }
  bool failed() const { return failed_; }

 private:
  std::string_view rest_;
  bool failed_ = false;
};

// Cuts the byte stream into chunks of exactly `chunk_bytes`, the last one
// shorter.
class Chunker {
 public:
  Chunker(size_t chunk_bytes, const std::function<bool(std::string_view)>& emit)
      : chunk_bytes_(chunk_bytes), emit_(emit) {}

  bool Append(std::string_view bytes) {
    buffer_.append(bytes);
    size_t start = 0;
    while (buffer_.size() - start >= chunk_bytes_) {
      if (!emit_(std::string_view(buffer_).substr(start, chunk_bytes_))) return false;
      start += chunk_bytes_;
    }
    buffer_.erase(0, start);
    return true;
  }

  bool Finish() { return buffer_.empty() || emit_(buffer_); }

 private:
  const size_t chunk_bytes_;
  const std::function<bool(std::string_view)>& emit_;
  std::string buffer_;
};

std::string Record(const std::string& body) {
  std::string record;
  record.reserve(body.size() + 4);
  AppendField(body, &record);
  return record;
}

std::string HeightName(int64_t height) {
  std::string digits = std::to_string(height);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits;
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(contents).str();
}

bool WriteFile(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  return static_cast<bool>(out);
}

SnapshotInfo InfoOf(int64_t height, std::string metadata, uint32_t chunks) {
  SnapshotInfo info;
  info.height = height;
  info.format = kSnapshotFormat;
  info.chunks = chunks;
  info.hash = DigestBytes(Sha256(metadata));
  info.metadata = std::move(metadata);
  return info;
}

}  // namespace

std::string EncodeSnapshotMetadata(const SnapshotMetadata& metadata) {
  std::string bytes;
  AppendInteger(kMetadataVersion, 4, &bytes);
  AppendField(metadata.app_hash, &bytes);
  AppendInteger(metadata.chunk_hashes.size(), 4, &bytes);
  for (const std::string& hash : metadata.chunk_hashes) bytes += hash;
  return bytes;
}

std::optional<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view bytes) {
  FieldReader reader(bytes);
  if (reader.Integer(4) != kMetadataVersion) return std::nullopt;
  SnapshotMetadata metadata;
  metadata.app_hash = reader.Field();
  const uint64_t chunks = reader.Integer(4);
  if (reader.failed() || chunks > bytes.size() / 32) return std::nullopt;
  for (uint64_t i = 0; i < chunks; ++i) metadata.chunk_hashes.emplace_back(reader.Bytes(32));
  if (!reader.Finished() || metadata.app_hash.size() > 64) return std::nullopt;
  return metadata;
}

bool SerializeSnapshot(const BlockStoreView& view, size_t chunk_bytes,
                       const std::function<bool(std::string_view chunk)>& emit,
                       std::string* error) {
  const ChainState& chain = view.chain_state();
  Chunker chunker(chunk_bytes, emit);
  std::string header(kMagic);
  AppendInteger(kSnapshotFormat, 4, &header);
  AppendInteger(static_cast<uint64_t>(chain.last_height), 8, &header);
  AppendField(chain.last_app_hash, &header);
  AppendField(chain.chain_id, &header);
  AppendInteger(static_cast<uint64_t>(chain.initial_height), 8, &header);
  AppendField(chain.validators_json, &header);
  AppendInteger(static_cast<uint64_t>(chain.initial_height), 8, &header);
  if (!chunker.Append(Record(header))) {
    *error = "writing the snapshot's first chunk failed";
    return false;
  }
  for (int64_t height = chain.initial_height; height <= chain.last_height; ++height) {
    const std::optional<CommittedBlock> block = view.BlockAt(height);
    if (!block) {
      *error = "block " + std::to_string(height) + " is missing from the store";
      return false;
    }
    std::string body(1, kBlockTag);
    AppendInteger(static_cast<uint64_t>(height), 8, &body);
    AppendInteger(block->transactions.size(), 4, &body);
    for (const CommittedTransaction& tx : block->transactions) {
      const std::optional<std::string> raw = view.GetTransaction(tx.id);
      if (!raw) {
        *error = "transaction " + tx.id + " of block " + std::to_string(height) +
                 " is missing from the store";
        return false;
      }
      AppendField(*raw, &body);
    }
    if (!chunker.Append(Record(body))) {
      *error = "writing a chunk failed at block " + std::to_string(height);
      return false;
    }
  }
  if (!chunker.Finish()) {
    *error = "writing the snapshot's last chunk failed";
    return false;
  }
  return true;
}

// --- SnapshotStore

SnapshotStore::SnapshotStore(const BlockStore* store, Options options)
    : store_(store), options_(std::move(options)) {
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  for (const fs::directory_entry& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(kPartialSuffix)) {
      fs::remove_all(entry.path(), ec);
      continue;
    }
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::optional<std::string> metadata = ReadFile(entry.path() / kMetadataFile);
    std::optional<SnapshotMetadata> decoded =
        metadata ? DecodeSnapshotMetadata(*metadata) : std::nullopt;
    if (!decoded) continue;
    snapshots_.push_back(InfoOf(std::stoll(name), std::move(*metadata),
                                static_cast<uint32_t>(decoded->chunk_hashes.size())));
  }
  std::sort(snapshots_.begin(), snapshots_.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.height > b.height; });
  while (snapshots_.size() > std::max<size_t>(1, options_.keep)) {
    fs::remove_all(DirectoryOf(snapshots_.back().height), ec);
    snapshots_.pop_back();
  }
  if (options_.interval > 0) worker_ = std::thread([this] { Run(); });
}

SnapshotStore::~SnapshotStore() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void SnapshotStore::OnBlockCommitted(const CommittedBlock& block) {
  if (options_.interval <= 0 || block.height <= 0 || block.height % options_.interval != 0) return;
  {
    std::lock_guard lock(mutex_);
    if (pending_ || writing_) {
      if (options_.log) {
        options_.log("snapshot at height " + std::to_string(block.height) +
                     " skipped: the previous one is still being written");
      }
      return;
    }
    // Observers run right after the block's write, before the next block can
    // commit, so the view is the store at this height.
    pending_ = store_->View();
  }
  changed_.notify_all();
}

std::vector<SnapshotInfo> SnapshotStore::List() const {
  std::lock_guard lock(mutex_);
  return snapshots_;
}

std::optional<std::string> SnapshotStore::LoadChunk(int64_t height, uint32_t format,
                                                    uint32_t index) const {
  {
    std::lock_guard lock(mutex_);
    const auto found = std::find_if(snapshots_.begin(), snapshots_.end(),
                                    [height](const SnapshotInfo& s) { return s.height == height; });
    if (format != kSnapshotFormat || found == snapshots_.end() || index >= found->chunks) {
      return std::nullopt;
    }
  }
  // A snapshot dropped meanwhile has no files any more: nullopt as well.
  return ReadFile(fs::path(DirectoryOf(height)) / ("chunk-" + std::to_string(index)));
}

void SnapshotStore::WaitIdle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !pending_ && !writing_; });
}

void SnapshotStore::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || pending_; });
    if (stopping_) return;
    std::unique_ptr<const BlockStoreView> view = std::move(pending_);
    writing_ = true;
    lock.unlock();
    Write(*view);
    view.reset();
    lock.lock();
    writing_ = false;
    changed_.notify_all();
  }
}

void SnapshotStore::Write(const BlockStoreView& view) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t height = view.chain_state().last_height;
  const fs::path final_path = DirectoryOf(height);
  const fs::path partial_path = final_path.string() + std::string(kPartialSuffix);
  std::error_code ec;
  fs::remove_all(partial_path, ec);
  fs::create_directories(partial_path, ec);

  SnapshotMetadata metadata;
  metadata.app_hash = view.chain_state().last_app_hash;
  size_t bytes = 0;
  std::string error;
  const bool written = SerializeSnapshot(
      view, options_.chunk_bytes,
      [&](std::string_view chunk) {
        const fs::path path =
            partial_path / ("chunk-" + std::to_string(metadata.chunk_hashes.size()));
        metadata.chunk_hashes.push_back(DigestBytes(Sha256(chunk)));
        bytes += chunk.size();
        return WriteFile(path, chunk);
      },
      &error);
  std::string encoded = EncodeSnapshotMetadata(metadata);
  if (!written || !WriteFile(partial_path / kMetadataFile, encoded)) {
    fs::remove_all(partial_path, ec);
    if (options_.log) {
      options_.log("snapshot at height " + std::to_string(height) + " failed: " +
                   (error.empty() ? "cannot write to " + partial_path.string() : error));
    }
    return;
  }
  fs::remove_all(final_path, ec);
  fs::rename(partial_path, final_path, ec);
  if (ec) {
    fs::remove_all(partial_path, ec);
    if (options_.log) options_.log("snapshot at height " + std::to_string(height) + " failed: " + ec.message());
    return;
  }
  SnapshotInfo info =
      InfoOf(height, std::move(encoded), static_cast<uint32_t>(metadata.chunk_hashes.size()));
  const std::string hash = HexEncode(info.hash);
  std::vector<int64_t> dropped;
  {
    std::lock_guard lock(mutex_);
    snapshots_.insert(snapshots_.begin(), std::move(info));
    while (snapshots_.size() > std::max<size_t>(1, options_.keep)) {
      dropped.push_back(snapshots_.back().height);
      snapshots_.pop_back();
    }
  }
  for (int64_t old : dropped) fs::remove_all(DirectoryOf(old), ec);
  if (options_.log) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    options_.log("snapshot at height " + std::to_string(height) + ": " +
                 std::to_string(metadata.chunk_hashes.size()) + " chunks, " +
                 std::to_string(bytes) + " bytes, hash " + hash + ", written in " +
                 std::to_string(elapsed.count()) + " ms");
  }
}

std::string SnapshotStore::DirectoryOf(int64_t height) const {
  return (fs::path(options_.directory) / HeightName(height)).string();
}

// --- SnapshotRestore

struct SnapshotRestore::Restore {
  SnapshotInfo snapshot;
  SnapshotMetadata metadata;
  std::unique_ptr<BlockStore> store;
  uint32_t next_chunk = 0;
  std::string unparsed;  // the start of a record that the next chunk completes
  bool have_header = false;
  ChainState chain;            // from the header
  int64_t next_height = 0;     // of the next block record
  std::string app_hash;        // after the blocks restored so far
  uint64_t transactions = 0;   // restored so far
};

SnapshotRestore::SnapshotRestore(BlockStore* live) : live_(live) {}

SnapshotRestore::~SnapshotRestore() { Discard(); }

void SnapshotRestore::Discard() {
  if (!restore_) return;
  std::string path = restore_->store ? restore_->store->path() : "";
  restore_.reset();
  std::error_code ec;
  if (!path.empty()) fs::remove_all(path, ec);
}

OfferAnswer SnapshotRestore::Offer(const SnapshotInfo& snapshot,
                                   std::string_view trusted_app_hash) {
  const std::string what = "snapshot at height " + std::to_string(snapshot.height);
  if (snapshot.format != kSnapshotFormat) {
    return {OfferResult::kRejectFormat,
            what + " rejected: format " + std::to_string(snapshot.format) + " is unknown (" +
                std::to_string(kSnapshotFormat) + " is known)"};
  }
  const std::optional<SnapshotMetadata> metadata = DecodeSnapshotMetadata(snapshot.metadata);
  if (snapshot.height <= 0 || !metadata || snapshot.chunks == 0 ||
      metadata->chunk_hashes.size() != snapshot.chunks ||
      DigestBytes(Sha256(snapshot.metadata)) != snapshot.hash) {
    return {OfferResult::kReject, what + " rejected: its metadata is malformed or does not match its hash"};
  }
  if (metadata->app_hash != trusted_app_hash) {
    return {OfferResult::kReject, what + " rejected: it claims app hash " +
                                      HexEncode(metadata->app_hash) + ", the trusted one is " +
                                      HexEncode(trusted_app_hash)};
  }
  Discard();
  std::string error;
  std::unique_ptr<BlockStore> store = BlockStore::OpenEmptyBeside(live_->path(), &error);
  if (!store) return {OfferResult::kAbort, what + ": cannot restore: " + error};
  restore_ = std::make_unique<Restore>();
  restore_->snapshot = snapshot;
  restore_->metadata = *metadata;
  restore_->store = std::move(store);
  return {OfferResult::kAccept, what + " accepted (" + std::to_string(snapshot.chunks) +
                                    " chunks, app hash " + HexEncode(trusted_app_hash) +
                                    "); restoring into " + restore_->store->path()};
}

ApplyAnswer SnapshotRestore::Apply(uint32_t index, std::string_view chunk,
                                   std::string_view sender) {
  ApplyAnswer answer;
  if (!restore_) {
    answer.result = ApplyResult::kAbort;
    answer.log = "snapshot chunk " + std::to_string(index) + " arrived with no snapshot accepted";
    return answer;
  }
  Restore& restore = *restore_;
  const std::string what = "snapshot at height " + std::to_string(restore.snapshot.height);
  if (index < restore.next_chunk) {
    answer.result = ApplyResult::kAccept;  // applied already
    return answer;
  }
  if (index > restore.next_chunk) {
    answer.result = ApplyResult::kRetrySnapshot;
    answer.log = what + ": chunk " + std::to_string(index) + " arrived before chunk " +
                 std::to_string(restore.next_chunk) + "; starting over";
    Discard();
    return answer;
  }
  if (DigestBytes(Sha256(chunk)) != restore.metadata.chunk_hashes[index]) {
    answer.result = ApplyResult::kRetry;
    answer.refetch_chunks.push_back(index);
    if (!sender.empty()) answer.reject_senders.emplace_back(sender);
    answer.log = what + ": chunk " + std::to_string(index) + " from peer " +
                 (sender.empty() ? "(unknown)" : std::string(sender)) +
                 " does not match its hash; fetching it again from another peer";
    return answer;
  }

  auto reject = [&](const std::string& why) {
    answer.result = ApplyResult::kRejectSnapshot;
    answer.log = what + " rejected at chunk " + std::to_string(index) + ": " + why;
    Discard();
    return answer;
  };

  // The chunk's whole records: the header, then blocks.
  restore.unparsed.append(chunk);
  std::string_view rest(restore.unparsed);
  std::vector<std::pair<int64_t, std::vector<std::string>>> blocks;
  while (rest.size() >= 4) {
    FieldReader length_reader(rest.substr(0, 4));
    const uint64_t length = length_reader.Integer(4);
    if (length > kMaxRecordBytes) return reject("a record of " + std::to_string(length) + " bytes");
    if (rest.size() < 4 + length) break;
    FieldReader record(rest.substr(4, length));
    rest.remove_prefix(4 + length);
    if (!restore.have_header) {
      ChainState& chain = restore.chain;
      const bool magic = record.Bytes(kMagic.size()) == kMagic;
      const uint64_t format = record.Integer(4);
      chain.last_height = static_cast<int64_t>(record.Integer(8));
      chain.last_app_hash = record.Field();
      chain.chain_id = record.Field();
      chain.initial_height = static_cast<int64_t>(record.Integer(8));
      chain.validators_json = record.Field();
      const int64_t first_height = static_cast<int64_t>(record.Integer(8));
      if (!magic || format != kSnapshotFormat || !record.Finished()) {
        return reject("its header is malformed");
      }
      if (chain.last_height != restore.snapshot.height ||
          chain.last_app_hash != restore.metadata.app_hash || first_height < 1 ||
          first_height > chain.last_height) {
        return reject("its header does not match the snapshot offered");
      }
      restore.have_header = true;
      restore.next_height = first_height;
      continue;
    }
    if (record.Bytes(1) != std::string_view(&kBlockTag, 1)) return reject("a record is not a block");
    const int64_t height = static_cast<int64_t>(record.Integer(8));
    const uint64_t count = record.Integer(4);
    std::vector<std::string> txs;
    for (uint64_t i = 0; i < count && !record.failed(); ++i) txs.emplace_back(record.Field());
    if (!record.Finished()) return reject("block record at height " + std::to_string(height) + " is malformed");
    blocks.emplace_back(height, std::move(txs));
  }
  restore.unparsed.erase(0, restore.unparsed.size() - rest.size());

  // The stateless checks of every transaction of the chunk at once, on every
  // core; then each block in order, as Commit writes it.
  std::vector<std::string> all;
  for (const auto& block : blocks) all.insert(all.end(), block.second.begin(), block.second.end());
  ValidationCache cache(all.size() + 1);
  const std::vector<std::shared_ptr<const CheckedTransaction>> checked = CheckAll(all, &cache);
  size_t position = 0;
  for (const auto& [height, txs] : blocks) {
    if (height != restore.next_height || height > restore.snapshot.height) {
      return reject("block " + std::to_string(height) + " where block " +
                    std::to_string(restore.next_height) + " belongs");
    }
    BlockWrite write;
    write.height = height;
    for (size_t i = 0; i < txs.size(); ++i, ++position) {
      const CheckedTransaction& result = *checked[position];
      const Status& status = result.status.ok() ? result.signature_status : result.status;
      if (!status.ok()) {
        return reject("a transaction of block " + std::to_string(height) +
                      " fails its checks: " + status.ToString());
      }
      write.transactions.push_back(result.transaction);
    }
    restore.app_hash = NextAppHash(restore.app_hash, write.transactions);
    write.app_hash = restore.app_hash;
    std::string error;
    if (!restore.store->WriteBlock(write, &error, /*sync=*/false)) {
      answer.result = ApplyResult::kAbort;
      answer.log = what + ": " + error;
      Discard();
      return answer;
    }
    restore.transactions += txs.size();
    ++restore.next_height;
  }
  ++restore.next_chunk;
  if (restore.next_chunk < restore.snapshot.chunks) {
    answer.result = ApplyResult::kAccept;
    return answer;
  }

  // The last chunk: the whole chain must be there and end at the trusted
  // app hash.
  if (!restore.have_header || !restore.unparsed.empty() ||
      restore.next_height != restore.snapshot.height + 1) {
    return reject("the snapshot ends before block " + std::to_string(restore.snapshot.height));
  }
  if (restore.app_hash != restore.metadata.app_hash) {
    return reject("its blocks give app hash " + HexEncode(restore.app_hash) + ", not " +
                  HexEncode(restore.metadata.app_hash));
  }
  std::string error;
  const ChainState& chain = restore.chain;
  // A synced write: every block written before it is durable too.
  if (!restore.store->WriteChainInfo(chain.chain_id, chain.initial_height, chain.validators_json,
                                     &error) ||
      !live_->Adopt(std::move(restore.store), &error)) {
    answer.result = ApplyResult::kAbort;
    answer.log = what + ": " + error;
    Discard();
    return answer;
  }
  answer.result = ApplyResult::kAccept;
  answer.log = "restored height " + std::to_string(restore.snapshot.height) + " from its snapshot: " +
               std::to_string(restore.transactions) + " transactions, app hash " +
               HexEncode(restore.app_hash);
  restore_.reset();
  return answer;
}

}  // namespace ledger
