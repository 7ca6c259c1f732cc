#include "abci/responder.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace abci {
namespace {

// ABCI app protocol version; the engine copies it into block headers.
constexpr uint64_t kAppVersion = 1;
constexpr std::string_view kQueryTxPath = "/tx";
constexpr size_t kTxIdHexLength = 64;
constexpr size_t kTxIdByteLength = 32;

// Length in bytes of the valid UTF-8 sequence starting at text[i], or 0.
// Strict like Go's protobuf decoder: no overlong forms, no surrogates,
// nothing above U+10FFFF.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// `text` as valid UTF-8 of at most `max_bytes` bytes. Protobuf `string`
// fields must be valid UTF-8 or the engine fails to decode the whole
// response, so invalid bytes become '?' and the cut falls between
// characters.
std::string BoundedUtf8(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = Utf8SequenceLength(text, i);
    const size_t step = length == 0 ? 1 : length;  // an invalid byte becomes one '?'
    if (out.size() + step > max_bytes) break;
    if (length == 0) {
      out.push_back('?');
    } else {
      out.append(text.substr(i, length));
    }
    i += step;
  }
  return out;
}

// Standard Base64 with padding, as CometBFT shows validator keys. `bytes` is
// a public key (tens of bytes), far below EVP_EncodeBlock's int limit.
std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(written);
  return out;
}

// The genesis validators as the HTTP API serves them:
// [{"pub_key":{"type":"ed25519","value":"<base64>"},"power":10}, ...].
std::string ValidatorsJson(const std::vector<GenesisValidator>& validators) {
  nlohmann::json array = nlohmann::json::array();
  for (const GenesisValidator& validator : validators) {
    array.push_back({{"pub_key", {{"type", validator.key_type}, {"value", Base64(validator.key)}}},
                     {"power", validator.power}});
  }
  return array.dump();
}

// What the engine is told about a transaction with `status`.
Verdict VerdictOf(const ledger::Status& status) {
  if (status.ok()) return {};
  return {static_cast<uint32_t>(status.code()), BoundedUtf8(status.ToString(), kMaxLogBytes),
          std::string(kCodespace)};
}

// Size of one tx inside the block's protobuf `repeated bytes` field: tag,
// length varint, bytes. Newer CometBFT lines measure proposals this way; it
// is also a safe bound for those that sum raw lengths.
int64_t ProtoSizeOfTx(const std::string& tx) {
  int64_t varint_bytes = 1;
  for (size_t length = tx.size(); length >= 0x80; length >>= 7) ++varint_bytes;
  return 1 + varint_bytes + static_cast<int64_t>(tx.size());
}

// The transaction id named by a "/tx" query's data, or an empty string.
std::string TransactionIdOf(const std::string& data) {
  if (data.size() == kTxIdByteLength) return ledger::HexEncode(data);
  if (data.size() != kTxIdHexLength || !ledger::HexDecode(data)) return "";
  std::string id = data;
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return id;
}

}  // namespace

TxAnswer TxAnswerOf(const ledger::TxResult& result) {
  TxAnswer answer{VerdictOf(result.status), {}};
  if (!result.status.ok() || !result.transaction) return answer;
  const ledger::Transaction& transaction = *result.transaction;
  const auto add = [&answer](std::string key, std::string_view value) {
    answer.event_attributes.emplace_back(std::move(key), BoundedUtf8(value, kTxIdHexLength));
  };
  add("id", transaction.id);
  add("asset_id", transaction.asset_id);
  add("operation", ledger::OperationName(transaction.operation));
  return answer;
}

Responder::Responder(ledger::Application* app, std::string version, LogSink log,
                     StateSync state_sync)
    : app_(app), version_(std::move(version)), log_(std::move(log)), state_sync_(state_sync) {}

std::vector<ledger::SnapshotInfo> Responder::ListSnapshots() const {
  if (!state_sync_.snapshots) return {};
  return state_sync_.snapshots->List();
}

std::string Responder::LoadSnapshotChunk(int64_t height, uint32_t format, uint32_t index) const {
  if (!state_sync_.snapshots) return {};
  return state_sync_.snapshots->LoadChunk(height, format, index).value_or("");
}

ledger::OfferResult Responder::OfferSnapshot(const ledger::SnapshotInfo& snapshot,
                                             std::string_view trusted_app_hash) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  if (!state_sync_.store) {
    Log(LogSeverity::kWarn, "state sync: snapshot offered, but this node restores none");
    return ledger::OfferResult::kAbort;
  }
  if (!restore_) restore_ = std::make_unique<ledger::SnapshotRestore>(state_sync_.store);
  const ledger::OfferAnswer answer = restore_->Offer(snapshot, trusted_app_hash);
  Log(answer.result == ledger::OfferResult::kAccept ? LogSeverity::kInfo : LogSeverity::kWarn,
      "state sync: " + answer.log);
  return answer.result;
}

ledger::ApplyAnswer Responder::ApplySnapshotChunk(uint32_t index, std::string_view chunk,
                                                  std::string_view sender) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  if (!restore_) {
    ledger::ApplyAnswer answer;
    answer.result = ledger::ApplyResult::kAbort;
    Log(LogSeverity::kWarn, "state sync: snapshot chunk applied with no snapshot accepted");
    return answer;
  }
  ledger::ApplyAnswer answer = restore_->Apply(index, chunk, sender);
  if (!answer.log.empty()) {
    Log(answer.result == ledger::ApplyResult::kAccept ? LogSeverity::kInfo : LogSeverity::kWarn,
        "state sync: " + answer.log);
  }
  return answer;
}

void Responder::Log(LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

bool Responder::Info(const EngineIdentity& engine, std::string_view service, AppIdentity* answer) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  const bool new_engine = engine.version != last_engine_version_;
  if (new_engine) {
    last_engine_version_ = engine.version;
    Log(LogSeverity::kInfo,
        "consensus engine connected: version " + engine.version + ", ABCI " +
            (engine.abci_version.empty() ? "(not reported)" : engine.abci_version) +
            ", block protocol " + std::to_string(engine.block_version) + ", via " +
            std::string(service));
  }
  const ledger::AppInfo info = app_->Info();
  answer->data = "ledgerd";
  answer->version = version_;
  answer->app_version = kAppVersion;
  answer->last_block_height = info.last_height;
  answer->last_block_app_hash = info.last_app_hash;
  return new_engine;
}

grpc::Status Responder::InitChain(const std::string& chain_id, int64_t initial_height,
                                  const std::vector<GenesisValidator>& validators) {
  const std::string validators_json = ValidatorsJson(validators);
  std::string error;
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  if (!app_->InitChain(chain_id, initial_height, validators_json, &error)) {
    Log(LogSeverity::kError, "InitChain: cannot store chain info: " + error);
    return grpc::Status(grpc::StatusCode::INTERNAL, "InitChain failed: " + error);
  }
  Log(LogSeverity::kInfo, "chain " + chain_id + " initialized at height " +
                              std::to_string(initial_height) + " with " +
                              std::to_string(validators.size()) + " validator(s)");
  return grpc::Status::OK;
}

QueryAnswer Responder::Query(const std::string& path, const std::string& data) const {
  const ledger::BlockStore& store = app_->store();
  QueryAnswer answer;
  answer.height = store.LastHeight();
  const auto refuse = [&answer](uint32_t code, std::string log) {
    answer.verdict = {code, BoundedUtf8(log, kMaxLogBytes), std::string(kCodespace)};
    return answer;
  };
  if (path != kQueryTxPath) {
    return refuse(kQueryUnknownPath,
                  "unknown query path \"" + path + "\"; supported: \"/tx\" with a transaction id");
  }
  const std::string id = TransactionIdOf(data);
  if (id.empty()) {
    return refuse(kQueryBadTransactionId,
                  "data must be a transaction id: 64 hex characters or 32 bytes");
  }
  std::optional<std::string> transaction = store.GetTransaction(id);
  if (!transaction) return refuse(kQueryTransactionNotFound, "transaction " + id + " not found");
  answer.key = id;
  answer.value = std::move(*transaction);
  return answer;
}

Verdict Responder::CheckTx(std::string_view tx, bool recheck) {
  return VerdictOf(app_->CheckTx(tx, recheck).status);
}

size_t Responder::ProposalLength(int64_t max_tx_bytes,
                                 const google::protobuf::RepeatedPtrField<std::string>& txs) const {
  const int64_t budget = std::min(max_tx_bytes, kMaxProposalBytes);
  int64_t total_bytes = 0;
  size_t length = 0;
  for (const std::string& tx : txs) {
    total_bytes += ProtoSizeOfTx(tx);
    if (total_bytes > budget || length == kMaxTxsPerProposal) break;
    ++length;
  }
  return length;
}

ledger::FinalizedBlock Responder::ExecuteBlock(int64_t height,
                                               const std::vector<std::string>& txs) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  return app_->FinalizeBlock(height, txs);
}

void Responder::BeginBlock(int64_t height) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  app_->BeginBlock(height);
}

std::optional<ledger::TxResult> Responder::DeliverTx(std::string_view tx) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  return app_->DeliverTx(tx);
}

std::optional<ledger::FinalizedBlock> Responder::EndBlock() {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  return app_->EndBlock();
}

grpc::Status Responder::Commit(std::string* app_hash) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  std::string error;
  if (!app_->Commit(&error)) {
    Log(LogSeverity::kError, "Commit failed, stopping the engine: " + error);
    return grpc::Status(grpc::StatusCode::INTERNAL, "Commit failed: " + error);
  }
  const ledger::AppInfo info = app_->Info();
  *app_hash = info.last_app_hash;
  Log(LogSeverity::kInfo, "committed height " + std::to_string(info.last_height) + ", app hash " +
                              ledger::HexEncode(info.last_app_hash));
  return grpc::Status::OK;
}

}  // namespace abci
