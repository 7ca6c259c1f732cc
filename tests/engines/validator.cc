#include "tests/engines/validator.h"

#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/crypto.h"

namespace engines_e2e {
namespace {

using boost::beast::http::verb;

// The engines write heights as JSON strings ("12"), some fields as numbers.
int64_t ToInt64(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_string()) return std::stoll(value.get<std::string>());
  return -1;
}

// The last `count` lines of the file at `path`.
std::string Tail(const std::filesystem::path& path, size_t count = 40) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    tail += lines[i] + "\n";
  }
  return tail;
}

}  // namespace

std::string EngineTxHash(const std::string& bytes) {
  std::string hex = ledger::HexEncode(ledger::Sha256(bytes));
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return hex;
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kDigits[c >> 4];
      encoded += kDigits[c & 0xf];
    }
  }
  return encoded;
}

Validator::Validator(const std::string& engine_binary, EngineOptions options)
    : abci_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())),
      http_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())),
      ws_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())) {
  options.abci_address = "127.0.0.1:" + std::to_string(abci_port_);
  engine_ = std::make_unique<EngineProcess>(
      engine_binary, (std::filesystem::path(dir_.path()) / "engine").string(),
      (std::filesystem::path(dir_.path()) / "engine.log").string(), std::move(options));
}

Validator::~Validator() {
  // The engine first, so that it does not see ledgerd vanish mid-block.
  engine_->Kill();
  if (ledgerd_ && ledgerd_->running()) ledgerd_->Kill();
}

bool Validator::Start(std::string* error) {
  return engine_->Init(error) && StartLedgerd(error) && StartEngine(error);
}

bool Validator::StartLedgerd(std::string* error) {
  const std::string data_dir =
      (std::filesystem::path(dir_.path()) / ("ledgerd-data-" + std::to_string(ledgerd_data_dirs_)))
          .string();
  ledgerd_ = std::make_unique<ledgerd_e2e::LedgerdProcess>(
      LEDGERD_BINARY,
      std::vector<std::string>{
          "--data-dir", data_dir, "--abci-addr", "127.0.0.1:" + std::to_string(abci_port_),
          "--http-addr", "127.0.0.1:" + std::to_string(http_port_), "--ws-addr",
          "127.0.0.1:" + std::to_string(ws_port_), "--comet-rpc",
          "http://127.0.0.1:" + std::to_string(engine_->rpc_port()), "--log-level", "info"},
      (std::filesystem::path(dir_.path()) / "ledgerd.log").string());
  ledgerd_->Start();
  if (hardening::WaitFor([&] { return Get("/health").status == 200; }, kStartBound)) return true;
  *error = "ledgerd's HTTP API did not answer GET /health";
  return false;
}

int Validator::TerminateLedgerd() { return ledgerd_->Terminate(); }

void Validator::KillLedgerd() { ledgerd_->Kill(); }

void Validator::UseFreshLedgerdDataDir() { ++ledgerd_data_dirs_; }

bool Validator::StartEngine(std::string* error) {
  engine_->Start();
  return engine_->WaitForRpc(kStartBound, error);
}

hardening::HttpResult Validator::Post(const std::string& json, const std::string& mode) const {
  return hardening::HttpRequest(http_port_, verb::post, "/api/v1/transactions?mode=" + mode, json,
                                kCommitBound);
}

hardening::HttpResult Validator::Get(const std::string& target) const {
  return hardening::HttpRequest(http_port_, verb::get, target);
}

bool Validator::WaitUntilStored(const std::string& id) const {
  return hardening::WaitFor([&] { return Get("/api/v1/transactions/" + id).status == 200; },
                            kStartBound);
}

std::optional<nlohmann::json> Validator::Rpc(const std::string& target, std::string* error,
                                             std::chrono::milliseconds bound) const {
  const hardening::HttpResult answer =
      hardening::HttpRequest(engine_->rpc_port(), verb::get, target, "", bound);
  if (answer.status == 0) {
    *error = "GET " + target + ": " + answer.error;
    return std::nullopt;
  }
  nlohmann::json reply = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) {
    *error = "GET " + target + ": HTTP " + std::to_string(answer.status) + " " + answer.body;
    return std::nullopt;
  }
  if (reply.contains("error") && !reply["error"].is_null()) {
    *error = "GET " + target + ": " + reply["error"].dump();
    return std::nullopt;
  }
  if (!reply.contains("result")) {
    *error = "GET " + target + ": no result in " + answer.body;
    return std::nullopt;
  }
  return reply["result"];
}

std::optional<nlohmann::json> Validator::Broadcast(const std::string& json, const std::string& mode,
                                                   std::string* error) const {
  return Rpc("/broadcast_tx_" + mode + "?tx=0x" + Hex(json), error, kCommitBound);
}

int64_t Validator::EngineHeightOf(const std::string& json, std::chrono::milliseconds wait) const {
  const std::string target = "/tx?hash=0x" + EngineTxHash(json);
  int64_t height = -1;
  hardening::WaitFor(
      [&] {
        std::string error;
        const std::optional<nlohmann::json> found = Rpc(target, &error);
        if (found && found->contains("height")) height = ToInt64((*found)["height"]);
        return height > 0;
      },
      wait);
  return height;
}

int64_t Validator::EngineHeight() const {
  std::string error;
  const std::optional<nlohmann::json> status = Rpc("/status", &error, 2s);
  if (!status) return -1;
  return ToInt64(status->value("sync_info", nlohmann::json::object())
                     .value("latest_block_height", nlohmann::json()));
}

bool Validator::WaitUntilIdle(std::chrono::milliseconds quiet) const {
  int64_t height = EngineHeight();
  auto since = std::chrono::steady_clock::now();
  return hardening::WaitFor(
      [&] {
        const int64_t now_height = EngineHeight();
        if (now_height != height) {
          height = now_height;
          since = std::chrono::steady_clock::now();
        }
        return height > 0 && std::chrono::steady_clock::now() - since >= quiet;
      },
      kStartBound);
}

AppInfo Validator::EngineAppInfo() const {
  std::string error;
  const std::optional<nlohmann::json> info = Rpc("/abci_info", &error);
  if (!info) return {};
  const nlohmann::json response = info->value("response", nlohmann::json::object());
  // Zero values are left out of the JSON.
  AppInfo app_info;
  app_info.height =
      response.contains("last_block_height") ? ToInt64(response["last_block_height"]) : 0;
  // Base64 in the engines' JSON; ledger decodes the URL-safe alphabet.
  std::string base64 = response.value("last_block_app_hash", "");
  for (char& c : base64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (base64.ends_with("=")) base64.pop_back();
  const std::optional<std::string> app_hash = ledger::Base64UrlDecode(base64);
  app_info.app_hash_hex = app_hash ? ledger::HexEncode(*app_hash) : "(not base64: " + base64 + ")";
  return app_info;
}

std::optional<std::vector<std::pair<std::string, int64_t>>> Validator::TxSearch(
    const std::string& query, std::string* error) const {
  const std::optional<nlohmann::json> found =
      Rpc("/tx_search?query=" + UrlEncode("\"" + query + "\"") + "&per_page=100", error);
  if (!found) return std::nullopt;
  std::vector<std::pair<std::string, int64_t>> transactions;
  for (const nlohmann::json& tx : found->value("txs", nlohmann::json::array())) {
    transactions.emplace_back(tx.value("hash", ""), ToInt64(tx.value("height", nlohmann::json())));
  }
  return transactions;
}

std::string Validator::Logs() const {
  return "--- ledgerd log (tail) ---\n" + Tail(std::filesystem::path(dir_.path()) / "ledgerd.log") +
         "--- engine log (tail) ---\n" + Tail(engine_->log_path()) + "--- end of logs ---\n";
}

}  // namespace engines_e2e
