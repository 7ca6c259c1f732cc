// ledgerd beside each real consensus engine (scripts/engines.txt), one fresh
// single-validator chain per test: every submission path commits, the
// stream carries each valid transaction once at the height the engine
// reports, CheckTx refuses invalid ones by BigchainDB's error names, the
// engine's tx_search finds our events, and restarts, crashes and a replay
// from an empty store keep the chain and the app hash.
//
// The crash test's randomness is seeded; the seed is in every failure, and
// LEDGERD_ENGINES_SEED=<seed> reruns the same schedule of kills.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction.h"
#include "tests/abci/test_ledger.h"
#include "tests/e2e/hardening/hardening_test_util.h"
#include "tests/engines/engine_process.h"
#include "tests/engines/validator.h"

namespace engines_e2e {
namespace {

using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;

const std::string kStreamPath = "/api/v1/streams/valid_transactions";

// A stream message: which transaction, at which height.
struct Streamed {
  std::string id;
  int64_t height = -1;
};

std::optional<Streamed> Parse(const std::string& text) {
  const nlohmann::json message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object() || !message.contains("transaction_id") || !message.contains("height")) {
    return std::nullopt;
  }
  return Streamed{message["transaction_id"].get<std::string>(), message["height"].get<int64_t>()};
}

// A CREATE of one unit owned by `owner`; `nonce` makes it unique.
SignedTx Create(const ledger::KeyPair& owner, const std::string& nonce) {
  return SignedCreate(owner, 1, nonce);
}

// A TRANSFER of the only output of `spent` (one unit of `asset_id`, owned
// by `owner`) to `to`.
SignedTx Transfer(const SignedTx& spent, const std::string& asset_id, const ledger::KeyPair& owner,
                  const ledger::KeyPair& to) {
  return SignedTransfer(owner, spent, 0, asset_id, 1, to);
}

// `tx` with the fulfillment of `other` (by the same owner) and the id that
// matches: well formed, but its signature is over another message.
SignedTx WithForeignSignature(const SignedTx& tx, const SignedTx& other) {
  ledger::JsonValue forged;
  ledger::JsonValue donor;
  EXPECT_TRUE(ledger::ParseJson(tx.json, &forged).ok());
  EXPECT_TRUE(ledger::ParseJson(other.json, &donor).ok());
  forged.FindMutable("inputs")->mutable_items()[0].Set(
      "fulfillment", *donor.Find("inputs")->items()[0].Find("fulfillment"));
  forged.Set("id", ledger::JsonValue::String(ledger::ComputeId(forged)));
  return SignedTx{forged.Find("id")->text(), ledger::CanonicalJson(forged)};
}

// The code of a CheckTx or execution answer (broadcast_tx_commit's
// check_tx and tx_result).
int64_t CodeOf(const nlohmann::json& answer) { return answer.value("code", int64_t{0}); }

// What CheckTx said of a transaction broadcast_tx_sync carried.
struct CheckTxAnswer {
  int64_t code = -1;
  std::string log;
  std::string codespace;
};

// broadcast_tx_sync's answer: a result with code, log and codespace up to
// v0.38; since v1.0 a refusal is a JSON-RPC error whose data spells them out
// ("... is invalid: code=7, data=, log='DoubleSpend: ...', codespace='ledger'").
// Code -1 when neither form is there.
CheckTxAnswer CheckTxAnswerOf(const std::optional<nlohmann::json>& result,
                              const std::string& error) {
  if (result) {
    return {CodeOf(*result), result->value("log", ""), result->value("codespace", "")};
  }
  static const std::regex kRefusal(R"(code=(\d+), data=[^,]*, log='(.*)', codespace='([^']*)')");
  std::smatch match;
  if (!std::regex_search(error, match, kRefusal)) return {};
  return {std::stoll(match[1]), match[2], match[3]};
}

// broadcast_tx_commit's execution result: tx_result since v0.38
// (FinalizeBlock), deliver_tx before.
nlohmann::json ExecutionOf(const nlohmann::json& answer) {
  if (answer.contains("tx_result")) return answer["tx_result"];
  return answer.value("deliver_tx", nlohmann::json::object());
}

// Reads the stream from `from_height` until a message names `last_id`,
// then for `linger` more, to catch anything sent after it; every message
// in order.
std::vector<Streamed> ReadStream(uint16_t ws_port, int64_t from_height, const std::string& last_id,
                                 std::chrono::milliseconds linger = 1s) {
  hardening::StreamClient client;
  std::vector<Streamed> messages;
  if (!client.Connect(ws_port, kStreamPath + "?from_height=" + std::to_string(from_height))) {
    ADD_FAILURE() << "cannot subscribe to the stream on port " << ws_port;
    return messages;
  }
  const auto deadline = std::chrono::steady_clock::now() + hardening::kWaitBound;
  bool seen_last = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::optional<std::string> text = client.Read(seen_last ? linger : 2s);
    if (!text) {
      if (client.timed_out() && !seen_last) continue;
      break;
    }
    const std::optional<Streamed> message = Parse(*text);
    if (!message) {
      ADD_FAILURE() << "malformed stream message " << *text;
      continue;
    }
    messages.push_back(*message);
    seen_last = seen_last || message->id == last_id;
  }
  EXPECT_TRUE(seen_last) << "the stream never carried " << last_id;
  return messages;
}

// Each id the stream carried, with every height it carried it at.
std::map<std::string, std::vector<int64_t>> HeightsById(const std::vector<Streamed>& messages) {
  std::map<std::string, std::vector<int64_t>> heights;
  for (const Streamed& message : messages) heights[message.id].push_back(message.height);
  return heights;
}

// The engine's name as a test name's suffix: cometbft-v0.38 -> cometbft_v0_38.
std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    if (HasFailure() && validator_) std::cerr << validator_->Logs();
  }

  // A fresh chain of the engine under test, with ledgerd beside it; blocks
  // only when there are transactions, so heights say which submission made
  // which block. Fails (never skips) when the engine is not installed. Call
  // with ASSERT_NO_FATAL_FAILURE.
  void StartValidator() {
    const std::string missing = MissingEngineMessage(GetParam());
    ASSERT_EQ(missing, "");
    validator_ = std::make_unique<Validator>(EngineBinaryPath(GetParam()), EngineOptions{});
    std::string error;
    ASSERT_TRUE(validator_->Start(&error)) << error;
  }

  // POSTs `tx` with mode=commit and expects 202: then it is stored.
  void PostCommitted(const SignedTx& tx) {
    const hardening::HttpResult answer = validator_->Post(tx.json, "commit");
    ASSERT_EQ(answer.status, 202u) << answer.error << answer.body;
    ASSERT_EQ(validator_->Get("/api/v1/transactions/" + tx.id).status, 200u)
        << tx.id << " was acknowledged with mode=commit but is not stored";
  }

  // The height the engine reports for `tx`, which must be committed.
  int64_t EngineHeightOf(const SignedTx& tx) {
    const int64_t height = validator_->EngineHeightOf(tx.json);
    EXPECT_GT(height, 0) << "the engine has no block holding " << tx.id;
    return height;
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  std::unique_ptr<Validator> validator_;
};

TEST_P(EngineTest, EverySubmissionPathCommitsAndIsStreamedOnceAtTheEngineHeight) {
  ASSERT_NO_FATAL_FAILURE(StartValidator());
  hardening::StreamClient live;
  ASSERT_TRUE(live.Connect(validator_->ws_port()));

  const SignedTx by_async = Create(alice_, "async");
  const SignedTx by_sync = Create(alice_, "sync");
  const SignedTx by_commit = Create(alice_, "commit");
  const SignedTx by_engine = Create(alice_, "engine");
  const SignedTx transfer = Transfer(by_commit, by_commit.id, alice_, bob_);

  for (const auto& [tx, mode] : {std::pair{&by_async, "async"}, {&by_sync, "sync"}}) {
    const hardening::HttpResult answer = validator_->Post(tx->json, mode);
    EXPECT_EQ(answer.status, 202u) << mode << ": " << answer.error << answer.body;
    EXPECT_EQ(answer.body, tx->json) << mode;
  }
  ASSERT_NO_FATAL_FAILURE(PostCommitted(by_commit));
  std::string error;
  const std::optional<nlohmann::json> committed =
      validator_->Broadcast(by_engine.json, "commit", &error);
  ASSERT_TRUE(committed) << error;
  EXPECT_EQ(CodeOf((*committed)["check_tx"]), 0) << committed->dump();
  EXPECT_EQ(CodeOf(ExecutionOf(*committed)), 0) << committed->dump();
  ASSERT_NO_FATAL_FAILURE(PostCommitted(transfer));
  for (const SignedTx* tx : {&by_async, &by_sync, &by_engine}) {
    EXPECT_TRUE(validator_->WaitUntilStored(tx->id)) << tx->id << " was never stored";
  }

  // Every transaction once, at the height the engine gives, live and on a
  // replay from the first block; ledgerd's blocks agree.
  std::map<std::string, std::vector<int64_t>> expected;
  for (const SignedTx* tx : {&by_async, &by_sync, &by_commit, &by_engine, &transfer}) {
    const int64_t height = EngineHeightOf(*tx);
    expected[tx->id] = {height};
    EXPECT_EQ(nlohmann::json::parse(validator_->Get("/api/v1/blocks?transaction_id=" + tx->id).body,
                                    nullptr,
                                    /*allow_exceptions=*/false),
              nlohmann::json::array({height}))
        << "ledgerd's block of " << tx->id;
  }
  EXPECT_EQ(expected[by_engine.id][0], std::stoll((*committed)["height"].get<std::string>()));
  std::vector<Streamed> live_messages;
  while (live_messages.size() < expected.size()) {
    const std::optional<std::string> text = live.Read(hardening::kWaitBound);
    ASSERT_TRUE(text) << "the live stream ended after " << live_messages.size() << " messages";
    const std::optional<Streamed> message = Parse(*text);
    ASSERT_TRUE(message) << *text;
    live_messages.push_back(*message);
  }
  EXPECT_FALSE(live.Read(1s)) << "the live stream carried more than the five transactions";
  EXPECT_EQ(HeightsById(live_messages), expected);
  EXPECT_EQ(HeightsById(ReadStream(validator_->ws_port(), 1, transfer.id)), expected);
}

TEST_P(EngineTest, CheckTxRefusesInvalidTransactionsByNameAndNoneIsStreamed) {
  ASSERT_NO_FATAL_FAILURE(StartValidator());
  const SignedTx asset = Create(alice_, "asset");
  const SignedTx spend = Transfer(asset, asset.id, alice_, bob_);
  ASSERT_NO_FATAL_FAILURE(PostCommitted(asset));
  ASSERT_NO_FATAL_FAILURE(PostCommitted(spend));

  const SignedTx double_spend = Transfer(asset, asset.id, alice_, carol_);
  const SignedTx forged = WithForeignSignature(Create(alice_, "forged"), Create(alice_, "other"));
  const struct {
    std::string name;
    std::string json;
    std::string error_name;
    int64_t code;  // docs/cometbft.md, "Result codes"
  } invalid[] = {
      {"double spend", double_spend.json, "DoubleSpend", 7},
      {"bad signature", forged.json, "InvalidSignature", 4},
      // The engine's cache knows bytes, not ids: other bytes of the same
      // transaction reach CheckTx.
      {"duplicate", asset.json + " ", "DuplicateTransaction", 5},
  };
  for (const auto& tx : invalid) {
    SCOPED_TRACE(tx.name);
    for (const char* mode : {"sync", "commit"}) {
      const hardening::HttpResult answer = validator_->Post(tx.json, mode);
      EXPECT_EQ(answer.status, 400u) << mode << ": " << answer.body;
      EXPECT_NE(answer.body.find("Invalid transaction (" + tx.error_name + ")"), std::string::npos)
          << mode << ": " << answer.body;
    }
    std::string error;
    const std::optional<nlohmann::json> result = validator_->Broadcast(tx.json, "sync", &error);
    const CheckTxAnswer checked = CheckTxAnswerOf(result, error);
    const std::string answer = result ? result->dump() : error;
    EXPECT_EQ(checked.code, tx.code) << answer;
    EXPECT_TRUE(checked.log.starts_with(tx.error_name + ": ")) << answer;
    EXPECT_EQ(checked.codespace, "ledger") << answer;
    EXPECT_EQ(validator_->EngineHeightOf(tx.json, 0ms), -1)
        << "the engine committed the " << tx.name;
  }

  // A valid transaction after them: by the time it is streamed, anything
  // refused would have been too.
  const SignedTx last = Create(alice_, "last");
  ASSERT_NO_FATAL_FAILURE(PostCommitted(last));
  const std::map<std::string, std::vector<int64_t>> expected = {{asset.id, {EngineHeightOf(asset)}},
                                                                {spend.id, {EngineHeightOf(spend)}},
                                                                {last.id, {EngineHeightOf(last)}}};
  EXPECT_EQ(HeightsById(ReadStream(validator_->ws_port(), 1, last.id)), expected);
  EXPECT_EQ(validator_->Get("/api/v1/transactions/" + double_spend.id).status, 404u);
  EXPECT_EQ(validator_->Get("/api/v1/transactions/" + forged.id).status, 404u);
}

TEST_P(EngineTest, TxSearchFindsTransactionsByTheirLedgerEvent) {
  ASSERT_NO_FATAL_FAILURE(StartValidator());
  const SignedTx first = Create(alice_, "first");
  const SignedTx second = Create(alice_, "second");
  const SignedTx transfer = Transfer(first, first.id, alice_, bob_);
  for (const SignedTx* tx : {&first, &second, &transfer}) {
    ASSERT_NO_FATAL_FAILURE(PostCommitted(*tx));
  }
  using Found = std::vector<std::pair<std::string, int64_t>>;
  auto found = [&](const SignedTx& tx) {
    return std::pair{EngineTxHash(tx.json), EngineHeightOf(tx)};
  };
  // The attributes of event type `ledger` (docs/cometbft.md).
  const struct {
    std::string query;
    Found expected;
  } searches[] = {
      {"ledger.id='" + first.id + "'", {found(first)}},
      {"ledger.id='" + transfer.id + "'", {found(transfer)}},
      {"ledger.asset_id='" + first.id + "'", {found(first), found(transfer)}},
      {"ledger.asset_id='" + second.id + "'", {found(second)}},
      {"ledger.operation='CREATE'", {found(first), found(second)}},
      {"ledger.operation='TRANSFER'", {found(transfer)}},
      {"ledger.operation='TRANSFER' AND ledger.asset_id='" + first.id + "'", {found(transfer)}},
      {"ledger.id='" + std::string(64, '0') + "'", {}},
  };
  for (const auto& search : searches) {
    std::string error;
    const std::optional<Found> result = validator_->TxSearch(search.query, &error);
    ASSERT_TRUE(result) << search.query << ": " << error;
    // tx_search orders by height, then by position in the block.
    EXPECT_EQ(*result, search.expected) << search.query;
  }
}

TEST_P(EngineTest, ChainContinuesAfterLedgerdRestartsAndThenTheEngine) {
  ASSERT_NO_FATAL_FAILURE(StartValidator());
  const SignedTx before = Create(alice_, "before");
  ASSERT_NO_FATAL_FAILURE(PostCommitted(before));

  // No block in flight: a clean stop between blocks, as an operator's
  // restart would be.
  ASSERT_TRUE(validator_->WaitUntilIdle(1s));
  EXPECT_EQ(validator_->TerminateLedgerd(), 0);
  std::string error;
  ASSERT_TRUE(validator_->StartLedgerd(&error)) << error;
  // The engine kept running and reconnects by itself.
  const SignedTx after_ledgerd = Transfer(before, before.id, alice_, bob_);
  ASSERT_NO_FATAL_FAILURE(PostCommitted(after_ledgerd));
  EXPECT_FALSE(validator_->engine().HasExited())
      << "the engine exited with " << validator_->engine().exit_status();

  ASSERT_TRUE(validator_->WaitUntilIdle(1s));
  EXPECT_EQ(validator_->engine().Terminate(), 0);
  ASSERT_TRUE(validator_->StartEngine(&error)) << error;
  const SignedTx after_engine = Transfer(after_ledgerd, before.id, bob_, carol_);
  ASSERT_NO_FATAL_FAILURE(PostCommitted(after_engine));

  const int64_t heights[] = {EngineHeightOf(before), EngineHeightOf(after_ledgerd),
                             EngineHeightOf(after_engine)};
  EXPECT_LT(heights[0], heights[1]);
  EXPECT_LT(heights[1], heights[2]);
  const std::map<std::string, std::vector<int64_t>> expected = {
      {before.id, {heights[0]}}, {after_ledgerd.id, {heights[1]}}, {after_engine.id, {heights[2]}}};
  EXPECT_EQ(HeightsById(ReadStream(validator_->ws_port(), 1, after_engine.id)), expected);
}

TEST_P(EngineTest, ReplayIntoAnEmptyStoreGivesTheSameAppHash) {
  ASSERT_NO_FATAL_FAILURE(StartValidator());
  // Several blocks, some with several transactions, some with a chain of
  // spends.
  std::vector<SignedTx> txs;
  for (int round = 0; round < 4; ++round) {
    const SignedTx create = Create(alice_, "replay-" + std::to_string(round));
    const SignedTx transfer = Transfer(create, create.id, alice_, bob_);
    for (const SignedTx& tx : {create, Create(bob_, "extra-" + std::to_string(round))}) {
      const hardening::HttpResult answer = validator_->Post(tx.json, "async");
      ASSERT_EQ(answer.status, 202u) << answer.error << answer.body;
      txs.push_back(tx);
    }
    ASSERT_TRUE(validator_->WaitUntilStored(create.id));
    ASSERT_NO_FATAL_FAILURE(PostCommitted(transfer));
    txs.push_back(transfer);
  }
  ASSERT_TRUE(validator_->WaitUntilIdle(1s));
  const AppInfo before = validator_->EngineAppInfo();
  ASSERT_GT(before.height, 0);
  ASSERT_NE(before.app_hash_hex, "");
  // Every block as ledgerd serves it, by height.
  auto blocks = [&](int64_t tip) {
    std::vector<std::string> bodies;
    for (int64_t height = 1; height <= tip; ++height) {
      bodies.push_back(validator_->Get("/api/v1/blocks/" + std::to_string(height)).body);
    }
    return bodies;
  };
  const std::vector<std::string> blocks_before = blocks(before.height);

  EXPECT_EQ(validator_->engine().Terminate(), 0);
  EXPECT_EQ(validator_->TerminateLedgerd(), 0);
  validator_->UseFreshLedgerdDataDir();
  std::string error;
  ASSERT_TRUE(validator_->StartLedgerd(&error)) << error;
  ASSERT_EQ(validator_->Get("/api/v1/transactions/" + txs.front().id).status, 404u)
      << "the new data directory is not empty";
  // The handshake replays every block before the engine opens its RPC; it
  // would halt on an app hash that differs from the one it recorded.
  ASSERT_TRUE(validator_->StartEngine(&error)) << error;
  const AppInfo after = validator_->EngineAppInfo();
  EXPECT_EQ(after.height, before.height);
  EXPECT_EQ(after.app_hash_hex, before.app_hash_hex);
  EXPECT_EQ(blocks(before.height), blocks_before);
  for (const SignedTx& tx : txs) {
    const hardening::HttpResult stored = validator_->Get("/api/v1/transactions/" + tx.id);
    EXPECT_EQ(stored.status, 200u) << tx.id;
    EXPECT_EQ(stored.body, tx.json);
  }
  EXPECT_EQ(HeightsById(ReadStream(validator_->ws_port(), 1, txs.back().id)).size(), txs.size());
  // And the chain goes on from there.
  ASSERT_NO_FATAL_FAILURE(PostCommitted(Create(carol_, "after the replay")));
}

// What the posting threads were told.
struct Acknowledged {
  std::mutex mutex;
  std::map<std::string, std::string> committed;  // id -> JSON, answered 202 to mode=commit
  std::vector<std::string> unexpected;           // answers no outage explains
  int posted = 0;
};

// Posts fresh CREATEs with mode=commit until told to stop. While ledgerd
// is down the connection fails (status 0); while the engine is down or
// restarting, ledgerd answers 502 or 504; anything else but 202 is
// unexpected.
void PostUntilStopped(const Validator& validator, int poster, const std::atomic<bool>& stop,
                      Acknowledged* acknowledged) {
  const ledger::KeyPair owner = TestKeys(static_cast<char>('p' + poster));
  for (int n = 0; !stop; ++n) {
    const SignedTx tx = Create(owner, "load-" + std::to_string(poster) + "-" + std::to_string(n));
    const hardening::HttpResult answer = validator.Post(tx.json, "commit");
    {
      std::lock_guard lock(acknowledged->mutex);
      ++acknowledged->posted;
      if (answer.status == 202) {
        acknowledged->committed.emplace(tx.id, tx.json);
      } else if (answer.status != 0 && answer.status != 502 && answer.status != 504) {
        acknowledged->unexpected.push_back(std::to_string(answer.status) + " " + answer.body);
      }
    }
    if (answer.status != 202) std::this_thread::sleep_for(20ms);
  }
}

// A subscriber that resumes after every disconnect with from_height = the
// height of the last message it saw, dropping the ids it already has from
// that block only.
//
// Thread safety: the accessors may be called from any thread.
class ResumingSubscriber {
 public:
  explicit ResumingSubscriber(uint16_t port) : thread_([this, port] { Run(port); }) {}
  ~ResumingSubscriber() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::map<std::string, int64_t> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mutex_);
    return violations_;
  }
  int connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  void Run(uint16_t port) {
    while (!stop_) {
      int64_t from = 1;
      {
        std::lock_guard lock(mutex_);
        from = std::max<int64_t>(last_height_, 1);
      }
      hardening::StreamClient client;
      if (!client.Connect(port, kStreamPath + "?from_height=" + std::to_string(from), nullptr,
                          2s)) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      int64_t previous = from;
      while (!stop_) {
        const std::optional<std::string> text = client.Read(200ms);
        if (!text) {
          if (client.timed_out()) continue;
          break;  // ledgerd went away: resume
        }
        Receive(*text, from, &previous);
      }
    }
  }

  void Receive(const std::string& text, int64_t from, int64_t* previous) {
    const std::optional<Streamed> message = Parse(text);
    std::lock_guard lock(mutex_);
    if (!message) {
      violations_.push_back("malformed message " + text);
      return;
    }
    if (message->height < *previous) {
      violations_.push_back("height " + std::to_string(message->height) + " after " +
                            std::to_string(*previous) + ": " + text);
    }
    *previous = message->height;
    const auto known = seen_.find(message->id);
    if (known != seen_.end()) {
      // Only the block named by from_height comes again.
      if (message->height != from || known->second != from) {
        violations_.push_back("duplicate " + message->id + " at height " +
                              std::to_string(message->height) + " (first at " +
                              std::to_string(known->second) + ", from_height " +
                              std::to_string(from) + ")");
      }
      return;
    }
    seen_.emplace(message->id, message->height);
    last_height_ = std::max(last_height_, message->height);
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::string, int64_t> seen_;  // guarded by mutex_
  int64_t last_height_ = 0;              // guarded by mutex_
  std::vector<std::string> violations_;  // guarded by mutex_
  int connections_ = 0;                  // guarded by mutex_
  std::thread thread_;
};

uint64_t Seed() {
  if (const char* text = std::getenv("LEDGERD_ENGINES_SEED")) return std::stoull(text);
  std::random_device random;
  return (static_cast<uint64_t>(random()) << 32) | random();
}

std::string Bytes(const ledger::Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

TEST_P(EngineTest, SigkilledLedgerdUnderLoadLosesNoCommittedTransaction) {
  constexpr int kKills = 10;
  constexpr int kPosters = 4;
  constexpr std::chrono::milliseconds kLongestRun(1500);  // between recovery and the next kill
  // Under load a live chain makes a block every few hundred milliseconds.
  constexpr std::chrono::seconds kProgressBound(10);
  const uint64_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun: LEDGERD_ENGINES_SEED=" + std::to_string(seed) + ")");
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  ASSERT_NO_FATAL_FAILURE(StartValidator());
  Acknowledged acknowledged;
  std::atomic<bool> stop_posting{false};
  std::vector<std::thread> posters;
  for (int i = 0; i < kPosters; ++i) {
    posters.emplace_back(PostUntilStopped, std::cref(*validator_), i, std::cref(stop_posting),
                         &acknowledged);
  }
  auto stop_load = [&] {
    stop_posting = true;
    for (std::thread& poster : posters) poster.join();
    posters.clear();
  };
  ResumingSubscriber subscriber(validator_->ws_port());

  // What the engine did after each kill of ledgerd. Every engine line does
  // one of three things, depending on which of its calls the kill broke
  // (seen with CometBFT v0.38.25 and v1.0.1 and Tendermint v0.34.24):
  // - nothing was in flight: its gRPC client waits for ledgerd (calls are
  //   made WaitForReady) and carries on, most of the time;
  // - a mempool or consensus call failed: it logs "... connection
  //   terminated. Did the application crash? Please restart ..." and stops
  //   itself (exit 0);
  // - a call of Commit failed (e.g. the mempool flush inside it): it logs
  //   "CONSENSUS FAILURE!!!" and halts, its process and RPC still up but
  //   the chain stuck.
  // The last two need the engine restarted, which its handshake then
  // replays from ledgerd's last committed height.
  std::map<std::string, int> outcomes;
  std::string error;
  // The engine, supervised: restarted when it exits or stalls, as an
  // operator's supervisor (systemd, Docker's restart policy with a health
  // check on the height) would. Waits until the chain grows past `height`;
  // false with *error if it does not.
  auto recover = [&](int64_t height) {
    bool restarted = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto deadline = std::chrono::steady_clock::now() + kProgressBound;
      while (std::chrono::steady_clock::now() < deadline) {
        if (validator_->engine().HasExited()) {
          ++outcomes["exited with " + std::to_string(validator_->engine().exit_status()) +
                     ", restarted"];
          restarted = true;
          if (!validator_->StartEngine(&error)) return false;
          continue;
        }
        if (validator_->EngineHeight() > height) {
          if (!restarted) ++outcomes["kept running and reconnected"];
          return true;
        }
        std::this_thread::sleep_for(50ms);
      }
      // Running but stuck: a supervisor's liveness check restarts it.
      ++outcomes["stalled, restarted"];
      restarted = true;
      validator_->engine().Terminate(5s);
      if (!validator_->StartEngine(&error)) return false;
    }
    error = "the chain did not grow past height " + std::to_string(height);
    return false;
  };

  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1) + " of " + std::to_string(kKills));
    std::uniform_int_distribution<int64_t> delay(0, kLongestRun.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(random)));
    const int64_t height = validator_->EngineHeight();
    validator_->KillLedgerd();
    if (!validator_->StartLedgerd(&error) || !recover(height)) {
      stop_load();
      FAIL() << error;
    }
  }
  stop_load();
  if (validator_->engine().HasExited()) {
    ASSERT_TRUE(validator_->StartEngine(&error)) << error;
  }
  ASSERT_TRUE(validator_->WaitUntilIdle(1s));

  // ledgerd's chain, block by block: every transaction once, and the app
  // hash those blocks give (DESIGN.md §4) is the one the engine holds.
  const AppInfo app = validator_->EngineAppInfo();
  ASSERT_GT(app.height, 0);
  std::map<std::string, int64_t> committed;
  std::string app_hash;
  hardening::HttpConnection http(validator_->http_port());
  for (int64_t height = 1; height <= app.height; ++height) {
    const hardening::HttpResult block = http.Get("/api/v1/blocks/" + std::to_string(height));
    ASSERT_EQ(block.status, 200u) << "block " << height << ": " << block.error << block.body;
    std::string ids;
    const nlohmann::json parsed = nlohmann::json::parse(block.body);
    for (const nlohmann::json& tx : parsed["transactions"]) {
      const std::string id = tx["id"];
      ASSERT_TRUE(committed.emplace(id, height).second)
          << id << " is in block " << height << " and in block " << committed[id];
      ids += id;
    }
    if (!ids.empty()) app_hash = Bytes(ledger::Sha3_256(app_hash + Bytes(ledger::Sha3_256(ids))));
  }
  EXPECT_EQ(ledger::HexEncode(app_hash), app.app_hash_hex);
  EXPECT_EQ(http.Get("/api/v1/blocks/" + std::to_string(app.height + 1)).status, 404u);

  // Every acknowledged transaction is stored, in the block the engine has
  // it in.
  for (const auto& [id, json] : acknowledged.committed) {
    const hardening::HttpResult stored = http.Get("/api/v1/transactions/" + id);
    ASSERT_EQ(stored.status, 200u) << "acknowledged with mode=commit, then lost: " << id;
    EXPECT_EQ(stored.body, json);
    ASSERT_TRUE(committed.contains(id)) << id << " is stored but in no block";
    EXPECT_EQ(validator_->EngineHeightOf(json), committed[id]) << id;
  }
  for (const std::string& answer : acknowledged.unexpected) {
    ADD_FAILURE() << "unexpected answer to a POST: " << answer;
  }

  // The subscriber saw every committed transaction once, at its height.
  EXPECT_TRUE(hardening::WaitFor([&] { return subscriber.seen().size() >= committed.size(); }))
      << "the subscriber saw " << subscriber.seen().size() << " of " << committed.size();
  subscriber.Stop();
  EXPECT_EQ(subscriber.seen(), committed);
  for (const std::string& violation : subscriber.violations()) ADD_FAILURE() << violation;
  EXPECT_GT(subscriber.connections(), kKills);
  EXPECT_GT(acknowledged.committed.size(), static_cast<size_t>(kKills));

  std::string what_the_engine_did;
  for (const auto& [outcome, count] : outcomes) {
    what_the_engine_did += std::to_string(count) + "x " + outcome + "; ";
  }
  RecordProperty("engine_after_kill", what_the_engine_did);
  std::cout << "[ stats    ] " << GetParam() << ": " << kKills << " kills: " << what_the_engine_did
            << app.height << " blocks, " << committed.size() << " transactions committed, "
            << acknowledged.committed.size() << " acknowledged of " << acknowledged.posted
            << " posted, " << subscriber.connections() << " stream connections\n";
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest,
                         ::testing::Values("cometbft-v0.38", "cometbft-v1.0", "tendermint-v0.34"),
                         ParamName);

}  // namespace
}  // namespace engines_e2e
