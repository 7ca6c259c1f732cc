#include "api/endpoints.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction.h"

namespace api {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kV1Prefix = "/api/v1/";

// A transaction id as BigchainDB's valid_txid accepts it (64 hex digits,
// either case), lower-cased; nullopt otherwise.
std::optional<std::string> NormalizeTransactionId(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::string id(text);
  for (char& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return id;
}

// "true"/"false" in any case, as BigchainDB's valid_bool.
std::optional<bool> ParseBool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  if (lower == "true") return true;
  if (lower == "false") return false;
  return std::nullopt;
}

// A decimal number made of digits only (no sign, no spaces).
template <typename Integer>
std::optional<Integer> ParseDigits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Integer value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.front() == '-') {
    return std::nullopt;
  }
  return value;
}

Reply BadParameter(std::string_view name, std::string_view reason) {
  return ErrorReply(http::status::bad_request, std::string(name) + ": " + std::string(reason));
}

Reply MissingParameter(std::string_view name) {
  return BadParameter(name, "Missing required parameter in the query string");
}

Reply NotFound() { return ErrorReply(http::status::not_found, "Not found"); }

// Serializes `value`, replacing invalid UTF-8 (from configured strings)
// instead of throwing on a server thread.
std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json V1Links(std::string_view prefix, const EndpointSettings& settings) {
  auto link = [&](std::string_view resource) {
    return std::string(prefix) + std::string(resource);
  };
  return {{"docs", settings.docs_url},        {"transactions", link("transactions/")},
          {"assets", link("assets/")},        {"metadata", link("metadata/")},
          {"outputs", link("outputs/")},      {"blocks", link("blocks/")},
          {"validators", link("validators")}, {"streams", settings.streams_url}};
}

}  // namespace

Endpoints::Endpoints(ledger::Application& app, const ledger::BlockStore& store,
                     TransactionSubmitter& submitter, std::shared_ptr<Metrics> metrics,
                     EndpointSettings settings)
    : app_(app),
      store_(store),
      submitter_(submitter),
      metrics_(std::move(metrics)),
      settings_(std::move(settings)),
      page_(settings_.streams_url) {}

Reply Endpoints::Root(std::string_view accept, std::string_view if_none_match) const {
  if (WebPage::PrefersHtml(accept)) return page_.Page(if_none_match);
  nlohmann::json root = {{"api", {{"v1", V1Links(kV1Prefix, settings_)}}},
                         {"docs", settings_.docs_url},
                         {"software", "ledgerd"},
                         {"version", settings_.version}};
  Reply reply = JsonReply(http::status::ok, Dump(root));
  // A cache must not hand this to a browser that would get the page.
  reply.headers.emplace_back(http::field::vary, "Accept");
  return reply;
}

Reply Endpoints::ApiV1Root() const {
  return JsonReply(http::status::ok, Dump(V1Links(kV1Prefix, settings_)));
}

void Endpoints::PostTransaction(const RequestTarget& target, std::string body, Respond respond) {
  BroadcastMode mode = BroadcastMode::kAsync;
  if (std::optional<std::string_view> name = target.Param("mode")) {
    std::optional<BroadcastMode> parsed = ParseBroadcastMode(*name);
    if (!parsed) {
      respond(BadParameter("mode", "Mode must be \"async\", \"sync\" or \"commit\""));
      return;
    }
    mode = *parsed;
  }

  // CheckTx runs the stateless checks through the Application's cache (so
  // the engine's own CheckTx of the same bytes will not verify signatures
  // again) and then the checks against committed state, in BigchainDB's
  // order.
  ledger::TxResult verdict = app_.CheckTx(body);
  metrics_->CountCheckTx(verdict.status);
  if (!verdict.status.ok()) {
    respond(ErrorReply(http::status::bad_request,
                       InvalidTransactionMessage(verdict.status.name(), verdict.status.message())));
    return;
  }

  std::string accepted_body = body;
  const auto started = std::chrono::steady_clock::now();
  submitter_.Submit(std::move(body), mode,
                    [respond = std::move(respond), accepted_body = std::move(accepted_body), mode,
                     metrics = metrics_, started](const SubmitResult& result) mutable {
                      if (!result.ok()) {
                        respond(ErrorReply(static_cast<http::status>(HttpStatusOf(result.outcome)),
                                           result.message));
                        return;
                      }
                      if (mode == BroadcastMode::kCommit) {
                        metrics->ObserveCommitWait(std::chrono::steady_clock::now() - started);
                      }
                      respond(JsonReply(http::status::accepted, std::move(accepted_body)));
                    });
}

Reply Endpoints::GetTransaction(std::string_view id) const {
  std::optional<std::string> normalized = NormalizeTransactionId(id);
  if (!normalized) {
    return ErrorReply(http::status::bad_request,
                      "Invalid transaction id: expected 64 hexadecimal characters");
  }
  std::optional<std::string> raw = store_.GetTransaction(*normalized);
  if (!raw) return NotFound();
  return JsonReply(http::status::ok, std::move(*raw));
}

Reply Endpoints::ListTransactions(const RequestTarget& target) const {
  std::optional<std::string_view> asset_param = target.Param("asset_id");
  if (!asset_param) return MissingParameter("asset_id");
  std::optional<std::string> asset_id = NormalizeTransactionId(*asset_param);
  if (!asset_id) return BadParameter("asset_id", "Invalid hash");

  std::optional<ledger::Operation> operation;
  if (std::optional<std::string_view> name = target.Param("operation")) {
    std::string upper(*name);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
    operation = ledger::ParseOperation(upper);
    if (!operation)
      return BadParameter("operation", "Operation must be \"CREATE\" or \"TRANSFER\"");
  }
  bool last_only = false;
  if (std::optional<std::string_view> text = target.Param("last_tx")) {
    std::optional<bool> parsed = ParseBool(*text);
    if (!parsed) {
      return BadParameter("last_tx", "Boolean value must be \"true\" or \"false\" (lowercase)");
    }
    last_only = *parsed;
  }

  std::vector<std::string> ids = store_.TransactionsOfAsset(*asset_id);
  if (operation) {
    // An asset's only CREATE is the transaction whose id is the asset id.
    const bool want_create = *operation == ledger::Operation::kCreate;
    std::erase_if(ids, [&](const std::string& id) { return (id == *asset_id) != want_create; });
  }
  if (last_only && ids.size() > 1) ids.erase(ids.begin(), ids.end() - 1);
  return JsonReply(http::status::ok, TransactionArray(ids));
}

Reply Endpoints::ListOutputs(const RequestTarget& target) const {
  std::optional<std::string_view> public_key = target.Param("public_key");
  if (!public_key) return MissingParameter("public_key");
  std::optional<std::string> key_bytes = ledger::Base58Decode(*public_key);
  if (!key_bytes || key_bytes->size() != ledger::kPublicKeySize) {
    return BadParameter("public_key", "Invalid base58 ed25519 key");
  }
  std::optional<bool> spent;
  if (std::optional<std::string_view> text = target.Param("spent")) {
    spent = ParseBool(*text);
    if (!spent)
      return BadParameter("spent", "Boolean value must be \"true\" or \"false\" (lowercase)");
  }

  nlohmann::json outputs = nlohmann::json::array();
  for (const ledger::OwnedOutput& output : store_.OutputsOfPublicKey(*public_key)) {
    if (spent && output.spent != *spent) continue;
    outputs.push_back(
        {{"transaction_id", output.transaction_id}, {"output_index", output.output_index}});
  }
  return JsonReply(http::status::ok, Dump(outputs));
}

Reply Endpoints::GetBlock(std::string_view height_text) const {
  std::optional<int64_t> height = ParseDigits<int64_t>(height_text);
  if (!height || *height <= 0) {
    return ErrorReply(http::status::bad_request,
                      "Invalid block height: expected a positive integer");
  }
  std::optional<ledger::CommittedBlock> block = store_.BlockAt(*height);
  if (!block) return NotFound();
  std::vector<std::string> ids;
  ids.reserve(block->transactions.size());
  for (const ledger::CommittedTransaction& tx : block->transactions) ids.push_back(tx.id);
  return JsonReply(http::status::ok, "{\"height\":" + std::to_string(*height) +
                                         ",\"transactions\":" + TransactionArray(ids) + "}");
}

Reply Endpoints::ListBlocks(const RequestTarget& target) const {
  std::optional<std::string_view> id_param = target.Param("transaction_id");
  if (!id_param) return MissingParameter("transaction_id");
  std::optional<std::string> id = NormalizeTransactionId(*id_param);
  if (!id) return BadParameter("transaction_id", "Invalid hash");
  std::optional<ledger::TransactionLocation> location = store_.LocateTransaction(*id);
  return JsonReply(http::status::ok,
                   location ? "[" + std::to_string(location->height) + "]" : std::string("[]"));
}

Reply Endpoints::Validators() const {
  return JsonReply(http::status::ok, store_.LoadChainState().validators_json);
}

Reply Endpoints::SearchAssets(const RequestTarget& target) const {
  return Search(target, SearchField::kAssetData);
}

Reply Endpoints::SearchMetadata(const RequestTarget& target) const {
  return Search(target, SearchField::kMetadata);
}

Reply Endpoints::Search(const RequestTarget& target, SearchField field) const {
  std::optional<std::string_view> query = target.Param("search");
  if (!query) return MissingParameter("search");
  if (query->empty()) return ErrorReply(http::status::bad_request, "text_search cannot be empty");
  size_t limit = settings_.max_search_results;
  if (std::optional<std::string_view> text = target.Param("limit")) {
    std::optional<size_t> parsed = ParseDigits<size_t>(*text);
    if (!parsed) return BadParameter("limit", "expected a non-negative integer");
    // 0 means no limit, as in BigchainDB; the cap still applies.
    if (*parsed > 0) limit = std::min(*parsed, limit);
  }

  const bool assets = field == SearchField::kAssetData;
  std::vector<std::string> ids =
      assets ? store_.SearchAssets(*query, limit) : store_.SearchMetadata(*query, limit);
  std::string body = "[";
  for (const std::string& id : ids) {
    std::optional<std::string> raw = store_.GetTransaction(id);
    ledger::JsonValue document;
    if (!raw || !ledger::ParseJson(*raw, &document).ok()) continue;
    const ledger::JsonValue* value = assets ? document.Find("asset") : document.Find("metadata");
    if (value && assets) value = value->Find("data");
    if (!value) continue;
    if (body.size() > 1) body += ',';
    // Keys in alphabetical order, as Flask's jsonify writes them.
    if (assets) {
      body += "{\"data\":" + ledger::CanonicalJson(*value) + ",\"id\":\"" + id + "\"}";
    } else {
      body += "{\"id\":\"" + id + "\",\"metadata\":" + ledger::CanonicalJson(*value) + "}";
    }
  }
  body += ']';
  return JsonReply(http::status::ok, std::move(body));
}

Reply Endpoints::Health() const {
  nlohmann::json health = {{"status", "ok"}, {"height", store_.LastHeight()}};
  return JsonReply(http::status::ok, Dump(health));
}

Reply Endpoints::PrometheusMetrics() const {
  Reply reply = JsonReply(http::status::ok, metrics_->RenderPrometheus());
  reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return reply;
}

Reply Endpoints::PageFile(std::string_view name, std::string_view if_none_match) const {
  return page_.File(name, if_none_match);
}

std::string Endpoints::TransactionArray(const std::vector<std::string>& ids) const {
  std::string out = "[";
  for (const std::string& id : ids) {
    std::optional<std::string> raw = store_.GetTransaction(id);
    if (!raw) continue;
    if (out.size() > 1) out += ',';
    out += *raw;
  }
  out += ']';
  return out;
}

}  // namespace api
