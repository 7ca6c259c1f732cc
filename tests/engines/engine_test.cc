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

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
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

// The code and log of a CheckTx answer (broadcast_tx_sync's result, or
// broadcast_tx_commit's check_tx).
int64_t CodeOf(const nlohmann::json& answer) { return answer.value("code", int64_t{0}); }
std::string LogOf(const nlohmann::json& answer) { return answer.value("log", ""); }

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

  // A fresh chain of the engine under test, with ledgerd beside it. Call
  // with ASSERT_NO_FATAL_FAILURE.
  void StartValidator(EngineOptions options = {}) {
    const std::string missing = MissingEngineMessage(GetParam());
    ASSERT_EQ(missing, "");
    validator_ = std::make_unique<Validator>(EngineBinaryPath(GetParam()), options);
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
    const std::optional<nlohmann::json> checked = validator_->Broadcast(tx.json, "sync", &error);
    ASSERT_TRUE(checked) << error;
    EXPECT_EQ(CodeOf(*checked), tx.code) << checked->dump();
    EXPECT_TRUE(LogOf(*checked).starts_with(tx.error_name + ": ")) << checked->dump();
    EXPECT_EQ(checked->value("codespace", ""), "ledger") << checked->dump();
    EXPECT_EQ(validator_->EngineHeightOf(tx.json), -1) << "the engine committed the " << tx.name;
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
  ASSERT_NE(before.app_hash_base64, "");
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
  EXPECT_EQ(after.app_hash_base64, before.app_hash_base64);
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

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest,
                         ::testing::Values("cometbft-v0.38", "tendermint-v0.34"), ParamName);

}  // namespace
}  // namespace engines_e2e
