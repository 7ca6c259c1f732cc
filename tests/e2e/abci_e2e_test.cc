// End-to-end: the real ledgerd binary, driven over gRPC by a client that
// makes exactly CometBFT v0.38's calls (DESIGN.md §7, §8), including crashes
// and restarts of the process.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "abci/responder.h"
#include "ledger/status.h"
#include "tests/abci/test_ledger.h"
#include "tests/e2e/engine_client.h"
#include "tests/e2e/ledgerd_process.h"

namespace {

namespace pb = tendermint::abci;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;
using ledgerd_e2e::EngineClient;
using ledgerd_e2e::LedgerdProcess;

constexpr char kChainId[] = "e2e-chain";
constexpr std::chrono::seconds kConnectGiveUp(30);

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

std::vector<std::string> JsonOf(const std::vector<SignedTx>& txs) {
  std::vector<std::string> json;
  for (const SignedTx& tx : txs) json.push_back(tx.json);
  return json;
}

std::vector<uint32_t> CodesOf(const pb::ResponseFinalizeBlock& block) {
  std::vector<uint32_t> codes;
  for (const pb::ExecTxResult& result : block.tx_results()) codes.push_back(result.code());
  return codes;
}

class LedgerdE2eTest : public ::testing::Test {
 protected:
  LedgerdE2eTest()
      : port_(ledgerd_e2e::FreeLoopbackPort()),
        data_dir_(dir_.path() + "/data"),
        log_path_(dir_.path() + "/ledgerd.log") {}

  void TearDown() override {
    process_.reset();
    if (HasFailure()) {
      std::ifstream log(log_path_);
      std::cerr << "--- ledgerd log ---\n" << log.rdbuf() << "--- end of log ---\n";
    }
  }

  std::unique_ptr<LedgerdProcess> NewProcess(const std::string& data_dir, int port) {
    return std::make_unique<LedgerdProcess>(
        LEDGERD_BINARY,
        std::vector<std::string>{"--data-dir", data_dir, "--abci-addr",
                                 "127.0.0.1:" + std::to_string(port), "--http-addr",
                                 "127.0.0.1:" + std::to_string(ledgerd_e2e::FreeLoopbackPort()),
                                 "--ws-addr",
                                 "127.0.0.1:" + std::to_string(ledgerd_e2e::FreeLoopbackPort()),
                                 "--log-level", "info"},
        log_path_);
  }

  // Starts ledgerd on this test's directory and port behind an engine that
  // is already dialing (so start order is the engine's problem, as with
  // CometBFT), and returns that engine once all four connections answered.
  std::unique_ptr<EngineClient> StartNode() {
    auto engine = std::make_unique<EngineClient>(port_);
    std::future<bool> connected = std::async(
        std::launch::async, [&engine] { return engine->WaitUntilConnected(kConnectGiveUp); });
    // Let the engine's first Echo go unanswered before the server exists.
    while (engine->unanswered_echoes() == 0 &&
           connected.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
    }
    process_ = NewProcess(data_dir_, port_);
    process_->Start();
    EXPECT_TRUE(connected.get()) << "ledgerd never answered Echo";
    return engine;
  }

  std::string LogText() const {
    std::ifstream log(log_path_);
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir dir_;
  const int port_;
  const std::string data_dir_;
  const std::string log_path_;
  std::unique_ptr<LedgerdProcess> process_;
};

TEST_F(LedgerdE2eTest, EngineStartedFirstConnectsAndHandshakesAtHeightZero) {
  std::unique_ptr<EngineClient> engine = StartNode();
  EXPECT_GT(engine->unanswered_echoes(), 0);

  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.data(), "ledgerd");
  EXPECT_FALSE(info.version().empty());
  EXPECT_EQ(info.app_version(), 1u);
  EXPECT_EQ(info.last_block_height(), 0);
  EXPECT_EQ(info.last_block_app_hash(), "");
  EXPECT_EQ(engine->ListSnapshots().snapshots_size(), 0);
  EXPECT_NE(LogText().find("consensus engine connected: version 0.38.25"), std::string::npos);
}

TEST_F(LedgerdE2eTest, BlocksOfValidAndInvalidTxsThenRecheckOfLeftovers) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);

  // Height 1: a CREATE, a TRANSFER of it in the same block, a conflicting
  // double spend, garbage bytes, and an unrelated CREATE.
  const SignedTx create_a = SignedCreate(alice_, 4, "a");
  const SignedTx a_to_bob = SignedTransfer(alice_, create_a, 0, create_a.id, 4, bob_);
  const SignedTx a_to_carol = SignedTransfer(alice_, create_a, 0, create_a.id, 4, carol_);
  const SignedTx create_b = SignedCreate(bob_, 2, "b");
  const std::vector<std::string> block1 = {create_a.json, a_to_bob.json, a_to_carol.json,
                                           "\x01\x02 garbage", create_b.json};
  EXPECT_EQ(engine->CheckTx(create_a.json, pb::NEW).code(), 0u);
  EXPECT_EQ(engine->CheckTx("\x01\x02 garbage", pb::NEW).code(),
            CodeOf(ledger::ErrorCode::kMalformedTransaction));

  std::vector<std::string> proposed;
  const pb::ResponseFinalizeBlock first = engine->ProposeAndCommit(1, block1, &proposed);
  EXPECT_EQ(proposed, block1);
  EXPECT_EQ(CodesOf(first),
            (std::vector<uint32_t>{0, 0, CodeOf(ledger::ErrorCode::kDoubleSpend),
                                   CodeOf(ledger::ErrorCode::kMalformedTransaction), 0}));
  EXPECT_EQ(first.tx_results(2).codespace(), "ledger");
  EXPECT_EQ(first.tx_results(1).events(0).attributes(0).value(), a_to_bob.id);
  ASSERT_EQ(first.app_hash().size(), 32u);
  pb::ResponseInfo info = engine->Info();
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), first.app_hash());

  // The mempool now holds two conflicting spends of create_b and a CREATE;
  // height 2 takes one spend, and the recheck drops the other.
  const SignedTx b_to_alice = SignedTransfer(bob_, create_b, 0, create_b.id, 2, alice_);
  const SignedTx b_to_carol = SignedTransfer(bob_, create_b, 0, create_b.id, 2, carol_);
  const SignedTx create_c = SignedCreate(carol_, 1, "c");
  for (const SignedTx* tx : {&b_to_alice, &b_to_carol, &create_c}) {
    EXPECT_EQ(engine->CheckTx(tx->json, pb::NEW).code(), 0u) << tx->id;
  }
  const pb::ResponseFinalizeBlock second = engine->ExecuteDecidedBlock(2, {b_to_alice.json});
  EXPECT_EQ(CodesOf(second), (std::vector<uint32_t>{0}));
  EXPECT_NE(second.app_hash(), first.app_hash());
  EXPECT_EQ(engine->Recheck({b_to_carol.json, create_c.json}),
            (std::vector<uint32_t>{CodeOf(ledger::ErrorCode::kDoubleSpend), 0}));

  // Height 3 without transactions keeps the app hash.
  const pb::ResponseFinalizeBlock third = engine->ExecuteDecidedBlock(3, {});
  EXPECT_EQ(third.app_hash(), second.app_hash());
  EXPECT_EQ(engine->Info().last_block_height(), 3);

  const pb::ResponseQuery query = engine->Query("/tx", a_to_bob.id);
  EXPECT_EQ(query.code(), 0u) << query.log();
  EXPECT_EQ(query.value(), a_to_bob.json);
}

TEST_F(LedgerdE2eTest, CrashBetweenFinalizeBlockAndCommitReplaysToTheSameAppHash) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  const SignedTx create = SignedCreate(alice_, 1, "replay");
  const SignedTx transfer = SignedTransfer(alice_, create, 0, create.id, 1, bob_);
  const std::string hash1 = engine->ExecuteDecidedBlock(1, {create.json}).app_hash();

  const std::vector<std::string> block2 = {transfer.json, "garbage"};
  const std::string hash2 = engine->FinalizeBlock(2, block2).app_hash();
  process_->Kill();  // dies before Commit

  engine = StartNode();
  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), hash1);

  // The engine replays the block the app lacks and compares app hashes.
  const pb::ResponseFinalizeBlock replayed = engine->ExecuteDecidedBlock(2, block2);
  EXPECT_EQ(replayed.app_hash(), hash2);
  EXPECT_EQ(CodesOf(replayed),
            (std::vector<uint32_t>{0, CodeOf(ledger::ErrorCode::kMalformedTransaction)}));
  const pb::ResponseInfo after = engine->Info();
  EXPECT_EQ(after.last_block_height(), 2);
  EXPECT_EQ(after.last_block_app_hash(), hash2);
}

TEST_F(LedgerdE2eTest, CrashAfterCommitKeepsTheCommittedHeight) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  const SignedTx create = SignedCreate(alice_, 1, "durable");
  const std::string hash1 = engine->ExecuteDecidedBlock(1, {create.json}).app_hash();
  process_->Kill();

  engine = StartNode();
  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), hash1);
  EXPECT_EQ(engine->Query("/tx", create.id).value(), create.json);

  // It continues at the next height.
  const SignedTx transfer = SignedTransfer(alice_, create, 0, create.id, 1, bob_);
  EXPECT_EQ(CodesOf(engine->ExecuteDecidedBlock(2, {transfer.json})), (std::vector<uint32_t>{0}));
  EXPECT_EQ(engine->Info().last_block_height(), 2);
}

TEST_F(LedgerdE2eTest, SigtermShutsDownCleanlyAndReleasesTheStore) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  engine->ExecuteDecidedBlock(1, {SignedCreate(alice_, 1, "sigterm").json});

  EXPECT_EQ(process_->Terminate(), 0);
  EXPECT_NE(LogText().find("stopped; store closed"), std::string::npos);

  engine = StartNode();
  EXPECT_EQ(engine->Handshake(kChainId).last_block_height(), 1);
}

TEST_F(LedgerdE2eTest, SecondLedgerdOnTheSameDataDirRefusesToStart) {
  std::unique_ptr<EngineClient> engine = StartNode();
  std::unique_ptr<LedgerdProcess> second = NewProcess(data_dir_, ledgerd_e2e::FreeLoopbackPort());
  second->Start();
  EXPECT_EQ(second->Wait(), 1);
  EXPECT_NE(LogText().find("another ledgerd is using --data-dir"), std::string::npos);
  EXPECT_EQ(engine->Info().last_block_height(), 0);  // the first one still serves
}

TEST_F(LedgerdE2eTest, ConcurrentCheckTxWhileBlocksFinalizeMatchesSequentialResults) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  std::vector<SignedTx> creates;
  for (int i = 0; i < 12; ++i)
    creates.push_back(SignedCreate(alice_, 2, "owned " + std::to_string(i)));
  engine->ExecuteDecidedBlock(1, JsonOf(creates));

  constexpr int kThreads = 8;
  constexpr int kPasses = 3;
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    const int64_t height = 2 + round;
    // The mempool's view: spends of every committed output (two conflicting
    // ones each), new CREATEs, replays of committed CREATEs, and garbage.
    std::vector<std::string> checked;
    for (const SignedTx& create : creates) {
      checked.push_back(SignedTransfer(alice_, create, 0, create.id, 2, bob_).json);
      checked.push_back(SignedTransfer(alice_, create, 0, create.id, 2, carol_).json);
      checked.push_back(create.json);
    }
    for (int i = 0; i < 6; ++i) {
      checked.push_back(
          SignedCreate(bob_, 1, "fresh " + std::to_string(round) + "/" + std::to_string(i)).json);
      checked.push_back("garbage " + std::to_string(i));
    }
    std::vector<uint32_t> sequential;
    for (const std::string& tx : checked) sequential.push_back(engine->CheckTx(tx, pb::NEW).code());

    // This height's block spends four of the outputs; it is finalized over
    // and over while the CheckTx threads run, and committed after them (the
    // engine never overlaps CheckTx with Commit).
    std::vector<std::string> block;
    for (int i = 0; i < 4; ++i) {
      const SignedTx& create = creates[round * 4 + i];
      block.push_back(SignedTransfer(alice_, create, 0, create.id, 2, carol_).json);
    }
    std::atomic<int> threads_running{kThreads};
    std::vector<std::vector<uint32_t>> seen(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const pb::CheckTxType type = t % 2 == 0 ? pb::NEW : pb::RECHECK;
        for (int pass = 0; pass < kPasses; ++pass) {
          for (const std::string& tx : checked) seen[t].push_back(engine->CheckTx(tx, type).code());
        }
        --threads_running;
      });
    }
    int finalizations = 0;
    do {
      EXPECT_EQ(CodesOf(engine->FinalizeBlock(height, block)), std::vector<uint32_t>(4, 0));
      ++finalizations;
    } while (threads_running.load() > 0);
    for (std::thread& thread : threads) thread.join();

    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(seen[t].size(), kPasses * checked.size());
      for (size_t i = 0; i < seen[t].size(); ++i) {
        ASSERT_EQ(seen[t][i], sequential[i % checked.size()])
            << "thread " << t << ", round " << round << ", tx " << i % checked.size();
      }
    }
    EXPECT_GE(finalizations, 1);
    engine->FlushMempool();
    engine->Commit();
    EXPECT_EQ(engine->Info().last_block_height(), height);
  }
}

TEST_F(LedgerdE2eTest, TenMebibyteBlockIsAccepted) {
  std::unique_ptr<EngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  std::vector<std::string> txs;
  size_t total_bytes = 0;
  for (int i = 0; total_bytes < (size_t{10} << 20); ++i) {
    txs.push_back(SignedCreate(alice_, 1, "bulk " + std::to_string(i), 4000).json);
    total_bytes += txs.back().size();
  }

  // As proposer, ledgerd proposes an in-order prefix that the engine's 4 MiB
  // receive limit lets through (the client here has the same limit).
  const pb::ResponsePrepareProposal prepared =
      engine->PrepareProposal(1, txs, ledgerd_e2e::kDefaultMaxBlockBytes);
  ASSERT_GT(prepared.txs_size(), 0);
  EXPECT_LT(static_cast<size_t>(prepared.txs_size()), txs.size());
  for (int i = 0; i < prepared.txs_size(); ++i) ASSERT_EQ(prepared.txs(i), txs[i]);

  // A 10 MiB block decided elsewhere is executed in full.
  const pb::ResponseFinalizeBlock finalized = engine->ExecuteDecidedBlock(1, txs);
  ASSERT_EQ(static_cast<size_t>(finalized.tx_results_size()), txs.size());
  for (const pb::ExecTxResult& result : finalized.tx_results()) {
    ASSERT_EQ(result.code(), 0u) << result.log();
  }
  EXPECT_EQ(engine->Info().last_block_height(), 1);
}

TEST_F(LedgerdE2eTest, UnknownQueryPathIsAnsweredWithACode) {
  std::unique_ptr<EngineClient> engine = StartNode();
  const pb::ResponseQuery response = engine->Query("/store", "key");
  EXPECT_EQ(response.code(), abci::kQueryUnknownPath);
  EXPECT_EQ(response.codespace(), "ledger");
  EXPECT_FALSE(response.log().empty());
}

}  // namespace
