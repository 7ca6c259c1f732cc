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

namespace pb = tendermint::abci;

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
// a public key (32 or 33 bytes), far below EVP_EncodeBlock's int limit.
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
std::string ValidatorsJson(
    const google::protobuf::RepeatedPtrField<pb::ValidatorUpdate>& validators) {
  nlohmann::json array = nlohmann::json::array();
  for (const pb::ValidatorUpdate& validator : validators) {
    const tendermint::crypto::PublicKey& key = validator.pub_key();
    std::string type;
    std::string value;
    switch (key.sum_case()) {
      case tendermint::crypto::PublicKey::kEd25519:
        type = "ed25519";
        value = Base64(key.ed25519());
        break;
      case tendermint::crypto::PublicKey::kSecp256K1:
        type = "secp256k1";
        value = Base64(key.secp256k1());
        break;
      case tendermint::crypto::PublicKey::SUM_NOT_SET:
        type = "unknown";
        break;
    }
    array.push_back(
        {{"pub_key", {{"type", type}, {"value", value}}}, {"power", validator.power()}});
  }
  return array.dump();
}

// Fills code, log and codespace of a CheckTx, ExecTxResult or DeliverTx
// answer.
template <typename Result>
void SetVerdict(const ledger::Status& status, Result* result) {
  if (status.ok()) return;
  result->set_code(static_cast<uint32_t>(status.code()));
  result->set_log(BoundedUtf8(status.ToString(), kMaxLogBytes));
  result->set_codespace(std::string(kCodespace));
}

// ExecTxResult (v0.38) and ResponseDeliverTx (v0.34/v0.37) have the same
// fields, so one definition fills both.
template <typename Result>
void FillTxResultOf(const ledger::TxResult& result, Result* out) {
  SetVerdict(result.status, out);
  if (!result.status.ok() || !result.transaction) return;
  const ledger::Transaction& transaction = *result.transaction;
  pb::Event* event = out->add_events();
  event->set_type("ledger");
  const auto add = [event](std::string key, std::string_view value) {
    pb::EventAttribute* attribute = event->add_attributes();
    attribute->set_key(std::move(key));
    attribute->set_value(BoundedUtf8(value, kTxIdHexLength));
    attribute->set_index(true);  // so the engine's tx_search and /websocket find it
  };
  add("id", transaction.id);
  add("asset_id", transaction.asset_id);
  add("operation", ledger::OperationName(transaction.operation));
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

void FillTxResult(const ledger::TxResult& result, pb::ExecTxResult* out) {
  FillTxResultOf(result, out);
}

void FillTxResult(const ledger::TxResult& result, pb::ResponseDeliverTx* out) {
  FillTxResultOf(result, out);
}

Responder::Responder(ledger::Application* app, std::string version, LogSink log)
    : app_(app), version_(std::move(version)), log_(std::move(log)) {}

void Responder::Log(LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

bool Responder::Info(const pb::RequestInfo& request, std::string_view service,
                     pb::ResponseInfo* response) {
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  const bool new_engine = request.version() != last_engine_version_;
  if (new_engine) {
    last_engine_version_ = request.version();
    Log(LogSeverity::kInfo,
        "consensus engine connected: version " + request.version() + ", ABCI " +
            (request.abci_version().empty() ? "(not reported)" : request.abci_version()) +
            ", block protocol " + std::to_string(request.block_version()) + ", via " +
            std::string(service));
  }
  const ledger::AppInfo info = app_->Info();
  response->set_data("ledgerd");
  response->set_version(version_);
  response->set_app_version(kAppVersion);
  response->set_last_block_height(info.last_height);
  response->set_last_block_app_hash(info.last_app_hash);
  return new_engine;
}

grpc::Status Responder::InitChain(const pb::RequestInitChain& request) {
  const std::string validators = ValidatorsJson(request.validators());
  std::string error;
  std::lock_guard<std::mutex> lock(consensus_mutex_);
  if (!app_->InitChain(request.chain_id(), request.initial_height(), validators, &error)) {
    Log(LogSeverity::kError, "InitChain: cannot store chain info: " + error);
    return grpc::Status(grpc::StatusCode::INTERNAL, "InitChain failed: " + error);
  }
  Log(LogSeverity::kInfo, "chain " + request.chain_id() + " initialized at height " +
                              std::to_string(request.initial_height()) + " with " +
                              std::to_string(request.validators_size()) + " validator(s)");
  return grpc::Status::OK;
}

void Responder::Query(const pb::RequestQuery& request, pb::ResponseQuery* response) const {
  const ledger::BlockStore& store = app_->store();
  response->set_height(store.LastHeight());
  if (request.path() != kQueryTxPath) {
    response->set_code(kQueryUnknownPath);
    response->set_log(BoundedUtf8(
        "unknown query path \"" + request.path() + "\"; supported: \"/tx\" with a transaction id",
        kMaxLogBytes));
    response->set_codespace(std::string(kCodespace));
    return;
  }
  const std::string id = TransactionIdOf(request.data());
  if (id.empty()) {
    response->set_code(kQueryBadTransactionId);
    response->set_log("data must be a transaction id: 64 hex characters or 32 bytes");
    response->set_codespace(std::string(kCodespace));
    return;
  }
  std::optional<std::string> transaction = store.GetTransaction(id);
  if (!transaction) {
    response->set_code(kQueryTransactionNotFound);
    response->set_log("transaction " + id + " not found");
    response->set_codespace(std::string(kCodespace));
    return;
  }
  response->set_key(id);
  response->set_value(std::move(*transaction));
}

void Responder::CheckTx(const pb::RequestCheckTx& request, pb::ResponseCheckTx* response) {
  const bool recheck = request.type() == pb::RECHECK;
  const ledger::TxResult result = app_->CheckTx(request.tx(), recheck);
  SetVerdict(result.status, response);
}

void Responder::PrepareProposal(const pb::RequestPrepareProposal& request,
                                pb::ResponsePrepareProposal* response) const {
  const int64_t budget = std::min(request.max_tx_bytes(), kMaxProposalBytes);
  int64_t total_bytes = 0;
  for (const std::string& tx : request.txs()) {
    total_bytes += ProtoSizeOfTx(tx);
    if (total_bytes > budget) break;
    if (static_cast<size_t>(response->txs_size()) == kMaxTxsPerProposal) break;
    response->add_txs(tx);
  }
}

void Responder::ProcessProposal(pb::ResponseProcessProposal* response) const {
  response->set_status(pb::ResponseProcessProposal::ACCEPT);
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

void Responder::ListSnapshots(pb::ResponseListSnapshots*) const {}

void Responder::OfferSnapshot(pb::ResponseOfferSnapshot* response) const {
  response->set_result(pb::ResponseOfferSnapshot::REJECT);
}

void Responder::LoadSnapshotChunk(pb::ResponseLoadSnapshotChunk*) const {}

void Responder::ApplySnapshotChunk(pb::ResponseApplySnapshotChunk* response) const {
  response->set_result(pb::ResponseApplySnapshotChunk::ABORT);
}

}  // namespace abci
