#include "api/comet_rpc_messages.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "api/reply.h"
#include "ledger/status.h"

namespace api {
namespace {

using nlohmann::json;

constexpr std::string_view kRefusedByCheckTx = "Transaction refused by CometBFT's CheckTx";

// An ABCI result code, written by CometBFT as a JSON number (uint32); older
// encoders used strings. Missing means 0 (OK).
int64_t CodeOf(const json& result) {
  auto it = result.find("code");
  if (it == result.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The 400 message for a transaction CometBFT's side refused. Our ABCI
// service logs ledger::Status::ToString(), "<ErrorName>: <message>", which
// becomes BigchainDB's wording; any other log is quoted with its code.
std::string RefusalMessage(const json& result, std::string_view refused_by) {
  const std::string log = StringField(result, "log");
  const size_t colon = log.find(": ");
  if (colon != std::string::npos) {
    const std::string_view name = std::string_view(log).substr(0, colon);
    for (int code = static_cast<int>(ledger::ErrorCode::kMalformedTransaction);
         code <= static_cast<int>(ledger::ErrorCode::kThresholdTooDeep); ++code) {
      if (ledger::ErrorName(static_cast<ledger::ErrorCode>(code)) == name) {
        return InvalidTransactionMessage(name, std::string_view(log).substr(colon + 2));
      }
    }
  }
  return std::string(refused_by) + " (code " + std::to_string(CodeOf(result)) + "): " + log;
}

SubmitResult InterpretError(const json& error) {
  const std::string message = StringField(error, "message");
  const std::string data = StringField(error, "data");
  const std::string text = data.empty() ? message : data;
  if (Contains(text, "tx already exists in cache")) {
    return SubmitResult::Failure(SubmitOutcome::kAlreadyPending,
                                 "Transaction is already in the mempool (CometBFT: " + text + ")");
  }
  if (Contains(text, "mempool is full") || Contains(text, "catching up") ||
      Contains(text, "max_subscription")) {
    return SubmitResult::Failure(SubmitOutcome::kUnavailable,
                                 "CometBFT cannot take the transaction now: " + text);
  }
  if (Contains(text, "timed out waiting for tx")) {
    return SubmitResult::Failure(
        SubmitOutcome::kTimeout,
        "Transaction was not committed in time (CometBFT: " + text + "); it may still be");
  }
  if (Contains(text, "tx too large")) {
    return SubmitResult::Failure(SubmitOutcome::kRejected,
                                 "Transaction refused by CometBFT: " + text);
  }
  // Since v1.0 a CheckTx refusal is a JSON-RPC error whose data spells the
  // answer out: "tx <hash> is invalid: code=7, data=, log='<log>', codespace='ledger'".
  const size_t code_at = text.find("code=");
  const size_t log_at = text.find("log='");
  const size_t codespace_at = text.rfind("', codespace='");
  if (Contains(text, " is invalid: ") && code_at != std::string::npos &&
      log_at != std::string::npos && codespace_at != std::string::npos && log_at < codespace_at) {
    const size_t code_end = text.find(',', code_at);
    const json refusal = {{"code", text.substr(code_at + 5, code_end - code_at - 5)},
                          {"log", text.substr(log_at + 5, codespace_at - log_at - 5)}};
    if (CodeOf(refusal) > 0) {
      return SubmitResult::Failure(SubmitOutcome::kRejected,
                                   RefusalMessage(refusal, kRefusedByCheckTx));
    }
  }
  std::string detail = message;
  if (!data.empty()) detail += (detail.empty() ? "" : ": ") + data;
  return SubmitResult::Failure(SubmitOutcome::kEngineError, "CometBFT error: " + detail);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP adds a NUL
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

std::string BroadcastRequestBody(std::string_view tx, BroadcastMode mode, uint64_t id) {
  json request = {{"jsonrpc", "2.0"},
                  {"id", id},
                  {"method", "broadcast_tx_" + std::string(BroadcastModeName(mode))},
                  {"params", {{"tx", Base64Encode(tx)}}}};
  return request.dump();
}

SubmitResult InterpretBroadcastReply(BroadcastMode mode, unsigned http_status,
                                     std::string_view body) {
  json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return SubmitResult::Failure(
        SubmitOutcome::kEngineError,
        "CometBFT answered HTTP " + std::to_string(http_status) + " without a JSON-RPC body");
  }
  if (auto error = reply.find("error"); error != reply.end() && !error->is_null()) {
    return InterpretError(error->is_object() ? *error : json::object());
  }
  auto result = reply.find("result");
  if (result == reply.end() || !result->is_object()) {
    return SubmitResult::Failure(
        SubmitOutcome::kEngineError,
        "CometBFT answered HTTP " + std::to_string(http_status) + " with neither result nor error");
  }
  if (mode != BroadcastMode::kCommit) {
    if (CodeOf(*result) != 0) {
      return SubmitResult::Failure(SubmitOutcome::kRejected,
                                   RefusalMessage(*result, kRefusedByCheckTx));
    }
    return SubmitResult::Accepted();
  }
  static const json kEmpty = json::object();
  auto section = [&](const char* key) -> const json& {
    auto it = result->find(key);
    return it != result->end() && it->is_object() ? *it : kEmpty;
  };
  if (CodeOf(section("check_tx")) != 0) {
    return SubmitResult::Failure(SubmitOutcome::kRejected,
                                 RefusalMessage(section("check_tx"), kRefusedByCheckTx));
  }
  // tx_result since v0.38 (FinalizeBlock), deliver_tx before.
  const json& executed =
      result->contains("tx_result") ? section("tx_result") : section("deliver_tx");
  if (CodeOf(executed) != 0) {
    return SubmitResult::Failure(
        SubmitOutcome::kRejected,
        RefusalMessage(executed, "Transaction failed when its block executed"));
  }
  return SubmitResult::Accepted();
}

}  // namespace api
