#include "ledger/block_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

namespace ledger {
namespace {

// Key spaces. Heights, tx positions and output indexes are big-endian so
// that LevelDB's byte order is commit order.
constexpr char kTransactionPrefix = 'T';  // T<id> -> raw transaction bytes
constexpr char kLocationPrefix = 'L';     // L<id> -> height, index
constexpr char kOutputPrefix = 'O';       // O<id><out> -> amount, asset id, uri
constexpr char kSpentByPrefix = 'S';      // S<id><out> -> spending tx id
constexpr char kOwnerPrefix = 'K';        // K<key>\0<height><index><out> -> tx id
constexpr char kAssetPrefix = 'A';        // A<asset id><height><index> -> tx id
constexpr char kBlockPrefix = 'B';        // B<height> -> block record
constexpr char kAssetWordPrefix = 'W';    // W<word>\0<height><index> -> tx id
constexpr char kMetadataWordPrefix = 'X'; // X<word>\0<height><index> -> tx id
const std::string kTipKey = "Mtip";       // last height, app hash
const std::string kChainKey = "Mchain";   // InitChain facts as JSON

// In a store's directory: the name of the restored store that replaced it
// (see BlockStore::Adopt), and the prefix of every restore's directory.
constexpr std::string_view kRestoredStoreFile = "RESTORED_STORE";
constexpr std::string_view kRestorePrefix = "restore-";

void PutBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t GetBigEndian(std::string_view* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(bytes);
  return value;
}

void PutBytes(std::string_view bytes, std::string* out) {
  PutBigEndian(bytes.size(), 4, out);
  out->append(bytes);
}

std::string GetBytes(std::string_view* in) {
  size_t size = GetBigEndian(in, 4);
  std::string bytes(in->substr(0, size));
  in->remove_prefix(size);
  return bytes;
}

std::string OutputKey(char prefix, std::string_view id, uint32_t index) {
  std::string key(1, prefix);
  key.append(id);
  PutBigEndian(index, 4, &key);
  return key;
}

std::string HeightKey(int64_t height) {
  std::string key(1, kBlockPrefix);
  PutBigEndian(static_cast<uint64_t>(height), 8, &key);
  return key;
}

std::string EncodeBlock(const CommittedBlock& block) {
  std::string record;
  PutBytes(block.app_hash, &record);
  PutBigEndian(block.transactions.size(), 4, &record);
  for (const CommittedTransaction& tx : block.transactions) {
    PutBytes(tx.id, &record);
    PutBytes(tx.asset_id, &record);
    record.push_back(tx.operation == Operation::kCreate ? 'C' : 'T');
    PutBigEndian(tx.public_keys.size(), 4, &record);
    for (const std::string& key : tx.public_keys) PutBytes(key, &record);
  }
  return record;
}

CommittedBlock DecodeBlock(int64_t height, std::string_view record) {
  CommittedBlock block;
  block.height = height;
  block.app_hash = GetBytes(&record);
  size_t count = GetBigEndian(&record, 4);
  block.transactions.resize(count);
  for (size_t i = 0; i < count; ++i) {
    CommittedTransaction& tx = block.transactions[i];
    tx.id = GetBytes(&record);
    tx.asset_id = GetBytes(&record);
    tx.operation = record[0] == 'C' ? Operation::kCreate : Operation::kTransfer;
    record.remove_prefix(1);
    tx.index = static_cast<uint32_t>(i);
    size_t keys = GetBigEndian(&record, 4);
    for (size_t k = 0; k < keys; ++k) tx.public_keys.push_back(GetBytes(&record));
  }
  return block;
}

bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

// Lower-cased words of `text`, each cut at kMaxIndexedWordBytes.
void AddWords(std::string_view text, std::set<std::string>* words) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    std::string word;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) {
      if (word.size() < kMaxIndexedWordBytes) {
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
      }
      ++i;
    }
    if (!word.empty()) words->insert(std::move(word));
  }
}

// Words of every string value (not key) in `value`.
void CollectWords(const JsonValue& value, std::set<std::string>* words) {
  switch (value.kind()) {
    case JsonValue::Kind::kString: AddWords(value.text(), words); break;
    case JsonValue::Kind::kArray:
      for (const JsonValue& item : value.items()) CollectWords(item, words);
      break;
    case JsonValue::Kind::kObject:
      for (const auto& member : value.members()) CollectWords(member.second, words);
      break;
    default: break;
  }
}

void IndexWords(char prefix, const JsonValue* value, const std::string& position,
                const std::string& id, leveldb::WriteBatch* batch) {
  if (value == nullptr) return;
  std::set<std::string> words;
  CollectWords(*value, &words);
  for (const std::string& word : words) {
    std::string key(1, prefix);
    key += word;
    key.push_back('\0');
    key += position;
    batch->Put(key, id);
  }
}

std::optional<std::string> Get(leveldb::DB* db, const leveldb::ReadOptions& options,
                               const std::string& key) {
  std::string value;
  leveldb::Status status = db->Get(options, key, &value);
  if (!status.ok()) return std::nullopt;
  return value;
}

ChainState ReadChainState(leveldb::DB* db, const leveldb::ReadOptions& options) {
  ChainState state;
  if (auto tip = Get(db, options, kTipKey)) {
    std::string_view view(*tip);
    state.last_height = static_cast<int64_t>(GetBigEndian(&view, 8));
    state.last_app_hash.assign(view);
  }
  if (auto chain = Get(db, options, kChainKey)) {
    nlohmann::json info = nlohmann::json::parse(*chain);
    state.chain_id = info.at("chain_id").get<std::string>();
    state.initial_height = info.at("initial_height").get<int64_t>();
    state.validators_json = info.at("validators").get<std::string>();
  }
  return state;
}

// One LevelDB database and what it uses for as long as it is open.
struct Database {
  // Declared before `db`, which uses them until it is destroyed.
  std::unique_ptr<const leveldb::FilterPolicy> bloom_filter;
  std::unique_ptr<leveldb::Cache> block_cache;
  std::unique_ptr<leveldb::DB> db;
};

std::unique_ptr<Database> OpenDatabase(const std::string& path, std::string* error) {
  auto database = std::make_unique<Database>();
  // Most lookups during validation are misses (is this id new? is this output
  // spent?); a Bloom filter answers them without touching disk.
  database->bloom_filter.reset(leveldb::NewBloomFilterPolicy(10));
  database->block_cache.reset(leveldb::NewLRUCache(64 << 20));
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.filter_policy = database->bloom_filter.get();
  options.block_cache = database->block_cache.get();
  options.write_buffer_size = 16 << 20;
  leveldb::DB* db = nullptr;
  leveldb::Status status = leveldb::DB::Open(options, path, &db);
  if (!status.ok()) {
    *error = "cannot open the ledger store in " + path + ": " + status.ToString();
    return nullptr;
  }
  database->db.reset(db);
  return database;
}

// Replaces `path`'s contents with `contents`, durably: written to a
// temporary file, synced, renamed over `path`, and the directory synced.
bool ReplaceFileDurably(const std::filesystem::path& path, std::string_view contents,
                        std::string* error) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, contents.data(), contents.size()) ==
                           static_cast<ssize_t>(contents.size());
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(temporary.c_str(), path.c_str()) == 0;
  if (ok) {
    const int directory = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = directory >= 0 && ::fsync(directory) == 0;
    if (directory >= 0) ::close(directory);
  }
  if (!ok) *error = "cannot write " + path.string() + ": " + std::strerror(errno);
  return ok;
}

}  // namespace

struct BlockStore::Impl {
  std::string path;  // as given to Open or OpenEmptyBeside
  // Every database this store has read from, the live one last. One that an
  // Adopt retired stays open until the store closes, since a reader may
  // still be using it.
  std::vector<std::unique_ptr<Database>> databases;
  std::atomic<leveldb::DB*> live{nullptr};
  std::atomic<int64_t> last_height{0};
  std::vector<std::string> removed_restores;  // by Open

  leveldb::DB* db() const { return live.load(std::memory_order_acquire); }

  std::optional<std::string> Get(const std::string& key) const {
    return ledger::Get(db(), leveldb::ReadOptions(), key);
  }

  // Ids under `prefix` for every word of `query` (all must match), oldest
  // first, at most `limit`.
  std::vector<std::string> Search(char prefix, std::string_view query, size_t limit) const {
    std::set<std::string> words;
    AddWords(query, &words);
    std::vector<std::string> matches;
    if (words.empty() || limit == 0) return matches;
    std::vector<std::set<std::string>> others;
    auto word = words.begin();
    std::string first_prefix = std::string(1, prefix) + *word + '\0';
    for (++word; word != words.end(); ++word) {
      std::set<std::string>& ids = others.emplace_back();
      Scan(std::string(1, prefix) + *word + '\0',
           [&ids](std::string_view, std::string_view id) { ids.emplace(id); });
      if (ids.empty()) return matches;
    }
    Scan(first_prefix, [&](std::string_view, std::string_view id) {
      if (matches.size() >= limit) return;
      for (const auto& ids : others) {
        if (!ids.count(std::string(id))) return;
      }
      matches.emplace_back(id);
    });
    return matches;
  }

  // Calls `visit(key suffix, value)` for every key starting with `prefix`.
  template <typename Visit>
  void Scan(const std::string& prefix, Visit visit) const {
    std::unique_ptr<leveldb::Iterator> it(db()->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      key.remove_prefix(prefix.size());
      visit(key, std::string_view(it->value().data(), it->value().size()));
    }
  }
};

BlockStore::BlockStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlockStore::~BlockStore() = default;

std::unique_ptr<BlockStore> BlockStore::Open(const std::string& path, std::string* error) {
  namespace fs = std::filesystem;
  // A restored store named by kRestoredStoreFile replaced the one in `path`;
  // any other restore directory is what an unfinished restore left.
  std::string restored_name;
  if (std::FILE* file = std::fopen((fs::path(path) / kRestoredStoreFile).c_str(), "r")) {
    char name[256] = {};
    if (std::fgets(name, sizeof name, file)) restored_name = name;
    std::fclose(file);
  }
  std::error_code ec;
  std::string live_path = path;
  if (!restored_name.empty()) {
    live_path = (fs::path(path) / restored_name).string();
    if (!fs::is_directory(live_path, ec)) {
      *error = "cannot open the ledger store: " + (fs::path(path) / kRestoredStoreFile).string() +
               " names " + restored_name + ", which is missing";
      return nullptr;
    }
  }
  std::unique_ptr<Database> database = OpenDatabase(live_path, error);
  if (!database) return nullptr;
  // Only now that the live store is locked against other processes is what
  // an unfinished restore left certainly nobody's: a second process started
  // on this directory must not delete the restore of the one running.
  auto impl = std::make_unique<Impl>();
  for (const fs::directory_entry& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kRestorePrefix) || name == restored_name) continue;
    // One that cannot be removed now is tried again at the next start.
    std::error_code removal;
    fs::remove_all(entry.path(), removal);
    if (!removal) impl->removed_restores.push_back(entry.path().string());
  }
  // The replaced store's files are of no further use.
  if (!restored_name.empty() && fs::exists(fs::path(path) / "CURRENT")) {
    leveldb::DestroyDB(path, leveldb::Options());
  }
  impl->path = path;
  impl->live = database->db.get();
  impl->databases.push_back(std::move(database));
  std::unique_ptr<BlockStore> store(new BlockStore(std::move(impl)));
  store->impl_->last_height = store->LoadChainState().last_height;
  return store;
}

std::unique_ptr<BlockStore> BlockStore::OpenEmptyBeside(const std::string& path,
                                                        std::string* error) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string name =
      std::string(kRestorePrefix) +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  const std::filesystem::path restore_path = std::filesystem::path(path) / name;
  std::error_code ec;
  std::filesystem::remove_all(restore_path, ec);
  std::unique_ptr<Database> database = OpenDatabase(restore_path.string(), error);
  if (!database) return nullptr;
  auto impl = std::make_unique<Impl>();
  impl->path = restore_path.string();
  impl->live = database->db.get();
  impl->databases.push_back(std::move(database));
  return std::unique_ptr<BlockStore>(new BlockStore(std::move(impl)));
}

bool BlockStore::Adopt(std::unique_ptr<BlockStore> restored, std::string* error) {
  const std::filesystem::path restored_path(restored->impl_->path);
  if (restored_path.parent_path() != std::filesystem::path(impl_->path)) {
    *error = "the restored store " + restored_path.string() + " is not beside " + impl_->path;
    return false;
  }
  if (!ReplaceFileDurably(std::filesystem::path(impl_->path) / kRestoredStoreFile,
                          restored_path.filename().string(), error)) {
    return false;
  }
  impl_->databases.push_back(std::move(restored->impl_->databases.back()));
  restored->impl_->databases.pop_back();
  impl_->last_height = restored->impl_->last_height.load();
  impl_->live.store(impl_->databases.back()->db.get(), std::memory_order_release);
  return true;
}

const std::vector<std::string>& BlockStore::removed_restores() const {
  return impl_->removed_restores;
}

const std::string& BlockStore::path() const { return impl_->path; }

std::unique_ptr<const BlockStoreView> BlockStore::View() const {
  leveldb::DB* db = impl_->db();
  std::unique_ptr<BlockStoreView> view(new BlockStoreView(db, db->GetSnapshot()));
  leveldb::ReadOptions options;
  options.snapshot = view->snapshot_;
  view->chain_state_ = ReadChainState(db, options);
  return view;
}

BlockStoreView::BlockStoreView(leveldb::DB* db, const leveldb::Snapshot* snapshot)
    : db_(db), snapshot_(snapshot) {}

BlockStoreView::~BlockStoreView() { db_->ReleaseSnapshot(snapshot_); }

std::optional<CommittedBlock> BlockStoreView::BlockAt(int64_t height) const {
  if (height < 0) return std::nullopt;
  leveldb::ReadOptions options;
  options.snapshot = snapshot_;
  auto record = Get(db_, options, HeightKey(height));
  if (!record) return std::nullopt;
  return DecodeBlock(height, *record);
}

std::optional<std::string> BlockStoreView::GetTransaction(std::string_view id) const {
  leveldb::ReadOptions options;
  options.snapshot = snapshot_;
  return Get(db_, options, std::string(1, kTransactionPrefix).append(id));
}

bool BlockStore::WriteBlock(const BlockWrite& block, std::string* error, bool sync) {
  leveldb::WriteBatch batch;
  CommittedBlock record{block.height, block.app_hash, {}};
  for (uint32_t index = 0; index < block.transactions.size(); ++index) {
    const Transaction& tx = *block.transactions[index];
    std::string position;
    PutBigEndian(static_cast<uint64_t>(block.height), 8, &position);
    PutBigEndian(index, 4, &position);

    batch.Put(std::string(1, kTransactionPrefix) + tx.id, tx.raw);
    batch.Put(std::string(1, kLocationPrefix) + tx.id, position);
    batch.Put(std::string(1, kAssetPrefix) + tx.asset_id + position, tx.id);
    if (tx.operation == Operation::kCreate) {
      const JsonValue* asset = tx.document.Find("asset");
      IndexWords(kAssetWordPrefix, asset ? asset->Find("data") : nullptr, position, tx.id, &batch);
    }
    IndexWords(kMetadataWordPrefix, tx.document.Find("metadata"), position, tx.id, &batch);
    for (uint32_t out = 0; out < tx.outputs.size(); ++out) {
      const Output& output = tx.outputs[out];
      std::string value;
      PutBigEndian(output.amount, 8, &value);
      PutBytes(tx.asset_id, &value);
      value.append(output.condition_uri);
      batch.Put(OutputKey(kOutputPrefix, tx.id, out), value);
      for (const std::string& key : output.public_keys) {
        std::string owner_key(1, kOwnerPrefix);
        owner_key += key;
        owner_key.push_back('\0');
        owner_key += position;
        PutBigEndian(out, 4, &owner_key);
        batch.Put(owner_key, tx.id);
      }
    }
    for (const Input& input : tx.inputs) {
      if (!input.fulfills) continue;
      batch.Put(OutputKey(kSpentByPrefix, input.fulfills->transaction_id,
                          input.fulfills->output_index),
                tx.id);
    }
    record.transactions.push_back(
        CommittedTransaction{tx.id, tx.asset_id, tx.operation, index, tx.PublicKeys()});
  }
  batch.Put(HeightKey(block.height), EncodeBlock(record));
  std::string tip;
  PutBigEndian(static_cast<uint64_t>(block.height), 8, &tip);
  tip += block.app_hash;
  batch.Put(kTipKey, tip);

  leveldb::WriteOptions options;
  options.sync = sync;
  leveldb::Status status = impl_->db()->Write(options, &batch);
  if (!status.ok()) {
    *error = "writing block " + std::to_string(block.height) + " failed: " + status.ToString();
    return false;
  }
  impl_->last_height = block.height;
  return true;
}

bool BlockStore::WriteChainInfo(const std::string& chain_id, int64_t initial_height,
                                const std::string& validators_json, std::string* error) {
  nlohmann::json info = {{"chain_id", chain_id},
                         {"initial_height", initial_height},
                         {"validators", validators_json}};
  leveldb::WriteOptions options;
  options.sync = true;
  leveldb::Status status = impl_->db()->Put(options, kChainKey, info.dump());
  if (!status.ok()) {
    *error = "writing chain info failed: " + status.ToString();
    return false;
  }
  return true;
}

ChainState BlockStore::LoadChainState() const {
  return ReadChainState(impl_->db(), leveldb::ReadOptions());
}

std::optional<std::string> BlockStore::GetTransaction(std::string_view id) const {
  return impl_->Get(std::string(1, kTransactionPrefix).append(id));
}

std::optional<TransactionLocation> BlockStore::LocateTransaction(std::string_view id) const {
  auto value = impl_->Get(std::string(1, kLocationPrefix).append(id));
  if (!value) return std::nullopt;
  std::string_view view(*value);
  TransactionLocation location;
  location.height = static_cast<int64_t>(GetBigEndian(&view, 8));
  location.index = static_cast<uint32_t>(GetBigEndian(&view, 4));
  return location;
}

std::vector<std::string> BlockStore::TransactionsOfAsset(std::string_view asset_id) const {
  std::vector<std::string> ids;
  impl_->Scan(std::string(1, kAssetPrefix).append(asset_id),
              [&ids](std::string_view, std::string_view value) { ids.emplace_back(value); });
  return ids;
}

std::vector<OwnedOutput> BlockStore::OutputsOfPublicKey(std::string_view public_key) const {
  std::vector<OwnedOutput> outputs;
  std::string prefix(1, kOwnerPrefix);
  prefix.append(public_key);
  prefix.push_back('\0');
  impl_->Scan(prefix, [&outputs](std::string_view key, std::string_view value) {
    key.remove_prefix(12);  // height and index
    OwnedOutput output;
    output.transaction_id.assign(value);
    output.output_index = static_cast<uint32_t>(GetBigEndian(&key, 4));
    outputs.push_back(std::move(output));
  });
  for (OwnedOutput& output : outputs) {
    output.spent = SpentBy(output.transaction_id, output.output_index).has_value();
  }
  return outputs;
}

std::vector<std::string> BlockStore::SearchAssets(std::string_view query, size_t limit) const {
  return impl_->Search(kAssetWordPrefix, query, limit);
}

std::vector<std::string> BlockStore::SearchMetadata(std::string_view query, size_t limit) const {
  return impl_->Search(kMetadataWordPrefix, query, limit);
}

bool BlockStore::HasTransaction(std::string_view id) const {
  return impl_->Get(std::string(1, kLocationPrefix).append(id)).has_value();
}

std::optional<StoredOutput> BlockStore::GetOutput(std::string_view transaction_id,
                                                  uint32_t index) const {
  auto value = impl_->Get(OutputKey(kOutputPrefix, transaction_id, index));
  if (!value) return std::nullopt;
  std::string_view view(*value);
  StoredOutput output;
  output.amount = GetBigEndian(&view, 8);
  output.asset_id = GetBytes(&view);
  output.condition_uri.assign(view);
  return output;
}

std::optional<std::string> BlockStore::SpentBy(std::string_view transaction_id,
                                               uint32_t index) const {
  return impl_->Get(OutputKey(kSpentByPrefix, transaction_id, index));
}

std::optional<CommittedBlock> BlockStore::BlockAt(int64_t height) const {
  if (height < 0) return std::nullopt;
  auto record = impl_->Get(HeightKey(height));
  if (!record) return std::nullopt;
  return DecodeBlock(height, *record);
}

int64_t BlockStore::LastHeight() const { return impl_->last_height; }

}  // namespace ledger
