// One validator as an operator runs it: the real ledgerd binary beside one
// real consensus engine, each a child process on loopback ports, with the
// calls the engine suites make to ledgerd's HTTP API and to the engine's
// RPC.
#ifndef TESTS_ENGINES_VALIDATOR_H_
#define TESTS_ENGINES_VALIDATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/abci/test_ledger.h"
#include "tests/e2e/hardening/hardening_test_util.h"
#include "tests/e2e/ledgerd_process.h"
#include "tests/engines/engine_process.h"

namespace engines_e2e {

using namespace std::chrono_literals;

// Bounds that only catch hangs: reaching one means the test failed.
inline constexpr std::chrono::seconds kStartBound(60);
// Above the engines' own timeout_broadcast_tx_commit (10 s), so that the
// engine's answer, not ours, says what happened.
inline constexpr std::chrono::seconds kCommitBound(30);
inline constexpr std::chrono::seconds kIndexBound(10);

// What the engine says its application reported last (/abci_info).
struct AppInfo {
  int64_t height = -1;
  std::string app_hash_hex;  // lowercase; "" for none
};

// ledgerd and its engine, in a temporary directory that outlives restarts
// of either.
//
// Thread safety: starting and stopping from one thread; the HTTP and RPC
// calls from any thread (each opens its own connection).
class Validator {
 public:
  // `engine_binary` is the engine's executable; `options` configure it
  // (abci_address is filled in here).
  Validator(const std::string& engine_binary, EngineOptions options);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Inits the engine's home, starts ledgerd and then the engine, and waits
  // until the engine's RPC answers (it has shaken hands with ledgerd).
  // Returns false with the reason in *error.
  bool Start(std::string* error);

  // Starts ledgerd on its current data directory and waits until its HTTP
  // API answers GET /health. Returns false with the reason in *error.
  bool StartLedgerd(std::string* error);
  // SIGTERM to ledgerd; returns its exit status (0 for a clean shutdown).
  int TerminateLedgerd();
  // SIGKILL to ledgerd, as a crash would end it.
  void KillLedgerd();
  // Points ledgerd at a new, empty data directory for its next start.
  void UseFreshLedgerdDataDir();

  // Starts the engine on its home and waits for its RPC (see
  // EngineProcess::WaitForRpc). Returns false with the reason in *error.
  bool StartEngine(std::string* error);
  // The engine's process, to stop, kill or watch it.
  EngineProcess& engine() { return *engine_; }

  // POST /api/v1/transactions?mode=`mode` to ledgerd.
  hardening::HttpResult Post(const std::string& json, const std::string& mode) const;
  // GET `target` on ledgerd's HTTP API.
  hardening::HttpResult Get(const std::string& target) const;
  // True once GET /api/v1/transactions/`id` answers 200, within kStartBound.
  bool WaitUntilStored(const std::string& id) const;

  // GET `target` on the engine's RPC; the parsed JSON-RPC `result`, or
  // nullopt with the reason (transport error, HTTP status, JSON-RPC error)
  // in *error.
  std::optional<nlohmann::json> Rpc(const std::string& target, std::string* error,
                                    std::chrono::milliseconds bound = 10s) const;
  // broadcast_tx_`mode` (sync or commit) of `json` straight to the engine,
  // as `GET /broadcast_tx_<mode>?tx=0x<hex>`; the result, or nullopt with
  // *error.
  std::optional<nlohmann::json> Broadcast(const std::string& json, const std::string& mode,
                                          std::string* error) const;
  // The height of the block holding the transaction whose bytes are
  // `json`, from the engine's /tx?hash=; -1 if the engine has none within
  // `wait` (the engine indexes a block after it commits it, so a
  // transaction broadcast_tx_commit has answered for may take a moment).
  int64_t EngineHeightOf(const std::string& json,
                         std::chrono::milliseconds wait = kIndexBound) const;
  // The engine's latest block height (/status); -1 if it does not answer.
  int64_t EngineHeight() const;
  // Waits until the engine's height has not moved for `quiet` (no block is
  // in flight); false if that does not happen within kStartBound.
  bool WaitUntilIdle(std::chrono::milliseconds quiet) const;
  // The application's last height and app hash as the engine learnt them
  // (/abci_info); height -1 if the engine does not answer.
  AppInfo EngineAppInfo() const;
  // `tx_search` for `query` (e.g. ledger.id='<id>'): each matching
  // transaction's hash (uppercase hex) and height, in the engine's order,
  // or nullopt with *error.
  std::optional<std::vector<std::pair<std::string, int64_t>>> TxSearch(const std::string& query,
                                                                       std::string* error) const;

  uint16_t http_port() const { return http_port_; }
  uint16_t ws_port() const { return ws_port_; }
  // The tails of both logs, for a failure message.
  std::string Logs() const;

 private:
  ledger_test::TempDir dir_;
  const uint16_t abci_port_;
  const uint16_t http_port_;
  const uint16_t ws_port_;
  int ledgerd_data_dirs_ = 1;  // numbers the data directories
  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<ledgerd_e2e::LedgerdProcess> ledgerd_;
};

// The SHA-256 of `bytes` in uppercase hex: how the engines name a
// transaction.
std::string EngineTxHash(const std::string& bytes);

// `bytes` as lowercase hex.
std::string Hex(const std::string& bytes);

// `text` with every byte outside [A-Za-z0-9-_.~] percent-encoded.
std::string UrlEncode(const std::string& text);

}  // namespace engines_e2e

#endif  // TESTS_ENGINES_VALIDATOR_H_
