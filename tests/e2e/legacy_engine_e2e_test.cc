// End-to-end: the real ledgerd binary driven over gRPC by clients that make
// exactly Tendermint v0.34's and CometBFT v0.37's calls
// (tendermint.abci.ABCIApplication), including crashes and restarts; and the
// same block sequence fed through the v0.34, v0.37 and v0.38 paths of three
// ledgerd processes, which must agree on every result, app hash, stored
// transaction and event stream message.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "abci/responder.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "tests/abci/test_ledger.h"
#include "tests/e2e/engine_client.h"
#include "tests/e2e/ledgerd_process.h"
#include "tests/e2e/legacy_engine_client.h"

namespace {

namespace pb = tendermint::abci;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;
using ledgerd_e2e::DeliveredBlock;
using ledgerd_e2e::EngineClient;
using ledgerd_e2e::LedgerdProcess;
using ledgerd_e2e::LegacyEngine;
using ledgerd_e2e::LegacyEngineClient;

constexpr char kChainId[] = "legacy-e2e-chain";
constexpr std::chrono::seconds kConnectGiveUp(30);
// Bounds a wait for stream messages; a test that runs into it failed.
constexpr std::chrono::seconds kStreamReadTimeout(30);

uint32_t CodeOf(ledger::ErrorCode code) { return static_cast<uint32_t>(code); }

std::vector<uint32_t> CodesOf(const DeliveredBlock &block) {
  std::vector<uint32_t> codes;
  for (const pb::ResponseDeliverTx &result : block.results) codes.push_back(result.code());
  return codes;
}

// DESIGN.md §4: SHA3-256(previous ‖ SHA3-256(ids of the valid txs)).
std::string NextAppHash(const std::string &previous, const std::vector<std::string> &valid_ids) {
  std::string ids;
  for (const std::string &id : valid_ids) ids += id;
  return ledger::DigestBytes(
      ledger::Sha3_256(previous + ledger::DigestBytes(ledger::Sha3_256(ids))));
}

// One ledgerd binary on its own data directory, ports and log file.
class LedgerdUnderTest {
 public:
  explicit LedgerdUnderTest(const std::string &dir)
      : data_dir_(dir + "/data"),
        log_path_(dir + "/ledgerd.log"),
        abci_port_(ledgerd_e2e::FreeLoopbackPort()),
        ws_port_(ledgerd_e2e::FreeLoopbackPort()) {}

  int abci_port() const { return abci_port_; }
  int ws_port() const { return ws_port_; }

  // Starts the process (again, after Kill) on the same directory and ports.
  void Start() {
    process_ = std::make_unique<LedgerdProcess>(
        LEDGERD_BINARY,
        std::vector<std::string>{
            "--data-dir", data_dir_, "--abci-addr", "127.0.0.1:" + std::to_string(abci_port_),
            "--http-addr", "127.0.0.1:" + std::to_string(ledgerd_e2e::FreeLoopbackPort()),
            "--ws-addr", "127.0.0.1:" + std::to_string(ws_port_), "--log-level", "info"},
        log_path_);
    process_->Start();
  }

  // SIGKILL: a crash at this very point.
  void Kill() { process_->Kill(); }

  std::string LogText() const {
    std::ifstream log(log_path_);
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  }

 private:
  const std::string data_dir_;
  const std::string log_path_;
  const int abci_port_;
  const int ws_port_;
  std::unique_ptr<LedgerdProcess> process_;
};

// Starts `node` while `engine` is already dialing (start order is the
// engine's problem, as with the real engines); true once all four
// connections answered Echo, after at least one unanswered attempt.
template <typename Engine>
bool StartBehindDialingEngine(LedgerdUnderTest *node, Engine *engine) {
  std::future<bool> connected = std::async(
      std::launch::async, [engine] { return engine->WaitUntilConnected(kConnectGiveUp); });
  while (engine->unanswered_echoes() == 0 &&
         connected.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
  }
  node->Start();
  return connected.get();
}

// A subscriber of a ledgerd's WebSocket event stream (blocking reads with a
// receive timeout, so that a missing message fails the test).
class StreamSubscriber {
 public:
  // Connects to ws://127.0.0.1:`port`/api/v1/streams/valid_transactions
  // resuming at height 1, so that no committed block is missed.
  explicit StreamSubscriber(int port) : ws_(io_) {
    namespace net = boost::asio;
    net::ip::tcp::resolver resolver(io_);
    net::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    ws_.handshake("127.0.0.1:" + std::to_string(port),
                  "/api/v1/streams/valid_transactions?from_height=1");
    timeval timeout{};
    timeout.tv_sec = kStreamReadTimeout.count();
    setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
               sizeof(timeout));
  }

  // The next `count` messages, in order; fewer if they do not come in time.
  std::vector<std::string> Read(size_t count) {
    std::vector<std::string> messages;
    try {
      while (messages.size() < count) {
        boost::beast::flat_buffer buffer;
        ws_.read(buffer);
        messages.push_back(boost::beast::buffers_to_string(buffer.data()));
      }
    } catch (const boost::system::system_error &error) {
      ADD_FAILURE() << "stream read: " << error.what();
    }
    return messages;
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
};

std::string LegacyEngineName(const ::testing::TestParamInfo<LegacyEngine> &info) {
  return info.param == LegacyEngine::kTendermint034 ? "Tendermint034" : "CometBft037";
}

class LegacyEngineE2eTest : public ::testing::TestWithParam<LegacyEngine> {
 protected:
  LegacyEngineE2eTest() : node_(dir_.path()) {}

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- ledgerd log ---\n" << node_.LogText() << "--- end of log ---\n";
    }
  }

  // Starts ledgerd behind a dialing engine of this test's line.
  std::unique_ptr<LegacyEngineClient> StartNode() {
    auto engine = std::make_unique<LegacyEngineClient>(node_.abci_port(), GetParam());
    EXPECT_TRUE(StartBehindDialingEngine(&node_, engine.get())) << "ledgerd never answered Echo";
    return engine;
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir dir_;
  LedgerdUnderTest node_;
};

INSTANTIATE_TEST_SUITE_P(EngineLines, LegacyEngineE2eTest,
                         ::testing::Values(LegacyEngine::kTendermint034,
                                           LegacyEngine::kCometBft037),
                         LegacyEngineName);

TEST_P(LegacyEngineE2eTest, EngineStartedFirstConnectsAndHandshakesAtHeightZero) {
  std::unique_ptr<LegacyEngineClient> engine = StartNode();
  EXPECT_GT(engine->unanswered_echoes(), 0);

  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.data(), "ledgerd");
  EXPECT_EQ(info.app_version(), 1u);
  EXPECT_EQ(info.last_block_height(), 0);
  EXPECT_EQ(info.last_block_app_hash(), "");
  EXPECT_EQ(engine->ListSnapshots().snapshots_size(), 0);
  const std::string log = node_.LogText();
  EXPECT_NE(log.find("consensus engine connected: version " + engine->version()),
            std::string::npos);
  EXPECT_NE(log.find("via tendermint.abci.ABCIApplication"), std::string::npos);
  EXPECT_NE(log.find("chain " + std::string(kChainId) + " initialized"), std::string::npos);
}

TEST_P(LegacyEngineE2eTest, BlocksOfValidAndInvalidTxsThenRecheckOfLeftovers) {
  std::unique_ptr<LegacyEngineClient> engine = StartNode();
  engine->Handshake(kChainId);

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
  const DeliveredBlock first = engine->ProposeAndCommit(1, block1, &proposed);
  EXPECT_EQ(proposed, block1);
  EXPECT_EQ(CodesOf(first),
            (std::vector<uint32_t>{0, 0, CodeOf(ledger::ErrorCode::kDoubleSpend),
                                   CodeOf(ledger::ErrorCode::kMalformedTransaction), 0}));
  EXPECT_EQ(first.results[2].codespace(), "ledger");
  ASSERT_EQ(first.results[1].events_size(), 1);
  EXPECT_EQ(first.results[1].events(0).attributes(0).value(), a_to_bob.id);
  EXPECT_EQ(first.app_hash, NextAppHash("", {create_a.id, a_to_bob.id, create_b.id}));
  pb::ResponseInfo info = engine->Info();
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), first.app_hash);

  // Two conflicting spends of create_b wait in the mempool with a CREATE;
  // height 2 takes one spend, and the recheck drops the other.
  const SignedTx b_to_alice = SignedTransfer(bob_, create_b, 0, create_b.id, 2, alice_);
  const SignedTx b_to_carol = SignedTransfer(bob_, create_b, 0, create_b.id, 2, carol_);
  const SignedTx create_c = SignedCreate(carol_, 1, "c");
  for (const SignedTx *tx : {&b_to_alice, &b_to_carol, &create_c}) {
    EXPECT_EQ(engine->CheckTx(tx->json, pb::NEW).code(), 0u) << tx->id;
  }
  const DeliveredBlock second = engine->ExecuteDecidedBlock(2, {b_to_alice.json});
  EXPECT_EQ(CodesOf(second), (std::vector<uint32_t>{0}));
  EXPECT_EQ(second.app_hash, NextAppHash(first.app_hash, {b_to_alice.id}));
  EXPECT_EQ(engine->Recheck({b_to_carol.json, create_c.json}),
            (std::vector<uint32_t>{CodeOf(ledger::ErrorCode::kDoubleSpend), 0}));

  // A height without transactions keeps the app hash.
  EXPECT_EQ(engine->ExecuteDecidedBlock(3, {}).app_hash, second.app_hash);
  EXPECT_EQ(engine->Info().last_block_height(), 3);

  const pb::ResponseQuery query = engine->Query("/tx", a_to_bob.id);
  EXPECT_EQ(query.code(), 0u) << query.log();
  EXPECT_EQ(query.value(), a_to_bob.json);
  EXPECT_EQ(engine->Query("/tx", a_to_carol.id).code(), abci::kQueryTransactionNotFound);
}

TEST_P(LegacyEngineE2eTest, CrashBetweenDeliverTxAndCommitReplaysToTheSameAppHash) {
  std::unique_ptr<LegacyEngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  const SignedTx create = SignedCreate(alice_, 1, "replay");
  const SignedTx transfer = SignedTransfer(alice_, create, 0, create.id, 1, bob_);
  const std::string hash1 = engine->ExecuteDecidedBlock(1, {create.json}).app_hash;

  const std::vector<std::string> block2 = {transfer.json, "garbage"};
  engine->DeliverBlock(2, block2);
  node_.Kill();  // dies after EndBlock, before Commit

  engine = StartNode();
  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), hash1);

  // The engine replays the block the app lacks.
  const DeliveredBlock replayed = engine->ExecuteDecidedBlock(2, block2);
  EXPECT_EQ(CodesOf(replayed),
            (std::vector<uint32_t>{0, CodeOf(ledger::ErrorCode::kMalformedTransaction)}));
  EXPECT_EQ(replayed.app_hash, NextAppHash(hash1, {transfer.id}));
  const pb::ResponseInfo after = engine->Info();
  EXPECT_EQ(after.last_block_height(), 2);
  EXPECT_EQ(after.last_block_app_hash(), replayed.app_hash);
}

TEST_P(LegacyEngineE2eTest, CrashAfterCommitKeepsTheCommittedHeightAndContinues) {
  std::unique_ptr<LegacyEngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  const SignedTx create = SignedCreate(alice_, 1, "durable");
  const std::string hash1 = engine->ExecuteDecidedBlock(1, {create.json}).app_hash;
  node_.Kill();

  engine = StartNode();
  const pb::ResponseInfo info = engine->Handshake(kChainId);
  EXPECT_EQ(info.last_block_height(), 1);
  EXPECT_EQ(info.last_block_app_hash(), hash1);
  EXPECT_EQ(engine->Query("/tx", create.id).value(), create.json);

  const SignedTx transfer = SignedTransfer(alice_, create, 0, create.id, 1, bob_);
  EXPECT_EQ(CodesOf(engine->ExecuteDecidedBlock(2, {transfer.json})), (std::vector<uint32_t>{0}));
  EXPECT_EQ(engine->Info().last_block_height(), 2);
}

TEST_P(LegacyEngineE2eTest, ConcurrentCheckTxWhileTxsAreDeliveredMatchesSequentialResults) {
  std::unique_ptr<LegacyEngineClient> engine = StartNode();
  engine->Handshake(kChainId);
  std::vector<SignedTx> creates;
  for (int i = 0; i < 8; ++i) {
    creates.push_back(SignedCreate(alice_, 2, "owned " + std::to_string(i)));
  }
  std::vector<std::string> create_json;
  for (const SignedTx &create : creates) create_json.push_back(create.json);
  engine->ExecuteDecidedBlock(1, create_json);

  std::vector<std::string> checked;
  for (const SignedTx &create : creates) {
    checked.push_back(SignedTransfer(alice_, create, 0, create.id, 2, carol_).json);
    checked.push_back(create.json);
  }
  checked.push_back("garbage");
  std::vector<uint32_t> sequential;
  for (const std::string &tx : checked) sequential.push_back(engine->CheckTx(tx, pb::NEW).code());

  // Height 2 spends every output to bob, delivered tx by tx while four
  // threads check the mempool's view (the engine never overlaps CheckTx
  // with Commit, so they finish first).
  constexpr int kThreads = 4;
  std::vector<std::vector<uint32_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const std::string &tx : checked) seen[t].push_back(engine->CheckTx(tx, pb::NEW).code());
    });
  }
  std::vector<std::string> block;
  for (const SignedTx &create : creates) {
    block.push_back(SignedTransfer(alice_, create, 0, create.id, 2, bob_).json);
  }
  const std::vector<pb::ResponseDeliverTx> results = engine->DeliverBlock(2, block);
  for (std::thread &thread : threads) thread.join();
  for (const pb::ResponseDeliverTx &result : results) EXPECT_EQ(result.code(), 0u) << result.log();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(seen[t], sequential) << "thread " << t;

  engine->FlushMempool();
  engine->Commit();
  EXPECT_EQ(engine->Info().last_block_height(), 2);
}

// The same block sequence through the v0.34, v0.37 and v0.38 paths.
class EngineVersionsE2eTest : public ::testing::Test {
 protected:
  EngineVersionsE2eTest()
      : v034_(v034_dir_.path()), v037_(v037_dir_.path()), v038_(v038_dir_.path()) {}

  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto &[name, node] : {std::pair<const char *, LedgerdUnderTest *>{"v0.34", &v034_},
                                     {"v0.37", &v037_},
                                     {"v0.38", &v038_}}) {
      std::cerr << "--- ledgerd log (" << name << ") ---\n" << node->LogText() << "--- end ---\n";
    }
  }

  const ledger::KeyPair alice_ = TestKeys('a');
  const ledger::KeyPair bob_ = TestKeys('b');
  const ledger::KeyPair carol_ = TestKeys('c');
  ledger_test::TempDir v034_dir_;
  ledger_test::TempDir v037_dir_;
  ledger_test::TempDir v038_dir_;
  LedgerdUnderTest v034_;
  LedgerdUnderTest v037_;
  LedgerdUnderTest v038_;
};

TEST_F(EngineVersionsE2eTest, SameBlocksGiveIdenticalResultsAppHashesStateAndStream) {
  LegacyEngineClient tendermint(v034_.abci_port(), LegacyEngine::kTendermint034);
  LegacyEngineClient comet037(v037_.abci_port(), LegacyEngine::kCometBft037);
  EngineClient comet038(v038_.abci_port());
  ASSERT_TRUE(StartBehindDialingEngine(&v034_, &tendermint));
  ASSERT_TRUE(StartBehindDialingEngine(&v037_, &comet037));
  ASSERT_TRUE(StartBehindDialingEngine(&v038_, &comet038));
  tendermint.Handshake(kChainId);
  comet037.Handshake(kChainId);
  comet038.Handshake(kChainId);
  StreamSubscriber stream034(v034_.ws_port());
  StreamSubscriber stream037(v037_.ws_port());
  StreamSubscriber stream038(v038_.ws_port());

  // Chains inside a block, double spends, duplicates, a forged signature,
  // garbage, an empty block, a block with nothing valid, a bigger block.
  const SignedTx create_a = SignedCreate(alice_, 4, "a");
  const SignedTx a_to_bob = SignedTransfer(alice_, create_a, 0, create_a.id, 4, bob_);
  const SignedTx a_to_carol = SignedTransfer(alice_, create_a, 0, create_a.id, 4, carol_);
  const SignedTx bob_to_carol = SignedTransfer(bob_, a_to_bob, 0, create_a.id, 4, carol_);
  const SignedTx create_b = SignedCreate(bob_, 2, "b");
  const SignedTx forged = SignedTransfer(carol_, create_b, 0, create_b.id, 2, carol_);
  const SignedTx b_to_alice = SignedTransfer(bob_, create_b, 0, create_b.id, 2, alice_);
  std::vector<std::vector<std::string>> blocks = {
      {create_a.json, a_to_bob.json, a_to_carol.json, "\x01\x02 garbage", create_b.json},
      {},
      {bob_to_carol.json, create_a.json, forged.json, b_to_alice.json, a_to_carol.json},
      {"garbage", create_b.json},
      {},
  };
  std::vector<SignedTx> signed_txs = {create_a, a_to_bob, a_to_carol, bob_to_carol,
                                      create_b, forged,   b_to_alice};
  for (int i = 0; i < 40; ++i) {
    signed_txs.push_back(SignedCreate(carol_, 1 + i, "bulk " + std::to_string(i)));
    blocks.back().push_back(signed_txs.back().json);
  }
  blocks.back().push_back(blocks.back().front());  // a duplicate inside the block

  size_t valid_txs = 0;
  std::vector<std::string> all_txs;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const int64_t height = static_cast<int64_t>(i) + 1;
    const std::vector<std::string> &txs = blocks[i];
    all_txs.insert(all_txs.end(), txs.begin(), txs.end());
    std::vector<std::string> proposed;
    const DeliveredBlock by034 = tendermint.ProposeAndCommit(height, txs, &proposed);
    EXPECT_EQ(proposed, txs);
    const DeliveredBlock by037 = comet037.ProposeAndCommit(height, txs, &proposed);
    EXPECT_EQ(proposed, txs);
    const pb::ResponseFinalizeBlock by038 = comet038.ProposeAndCommit(height, txs, &proposed);
    EXPECT_EQ(proposed, txs);

    ASSERT_EQ(by034.results.size(), txs.size());
    ASSERT_EQ(by037.results.size(), txs.size());
    ASSERT_EQ(static_cast<size_t>(by038.tx_results_size()), txs.size());
    for (size_t k = 0; k < txs.size(); ++k) {
      // Same field numbers: equal results are equal bytes.
      const std::string expected = by038.tx_results(static_cast<int>(k)).SerializeAsString();
      EXPECT_EQ(by034.results[k].SerializeAsString(), expected)
          << "height " << height << " tx " << k;
      EXPECT_EQ(by037.results[k].SerializeAsString(), expected)
          << "height " << height << " tx " << k;
      valid_txs += by038.tx_results(static_cast<int>(k)).code() == 0;
    }
    EXPECT_EQ(by034.app_hash, by038.app_hash()) << "height " << height;
    EXPECT_EQ(by037.app_hash, by038.app_hash()) << "height " << height;

    const pb::ResponseInfo info034 = tendermint.Info();
    const pb::ResponseInfo info037 = comet037.Info();
    const pb::ResponseInfo info038 = comet038.Info();
    EXPECT_EQ(info034.SerializeAsString(), info038.SerializeAsString()) << "height " << height;
    EXPECT_EQ(info037.SerializeAsString(), info038.SerializeAsString()) << "height " << height;
    EXPECT_EQ(info038.last_block_height(), height);
  }
  EXPECT_GT(valid_txs, 40u);

  // The mempool's verdicts after the last block, NEW and RECHECK.
  for (const std::string &tx : all_txs) {
    for (const pb::CheckTxType type : {pb::NEW, pb::RECHECK}) {
      const std::string expected = comet038.CheckTx(tx, type).SerializeAsString();
      EXPECT_EQ(tendermint.CheckTx(tx, type).SerializeAsString(), expected);
      EXPECT_EQ(comet037.CheckTx(tx, type).SerializeAsString(), expected);
    }
  }

  // Stored state: every signed transaction offered, committed or refused.
  size_t stored = 0;
  for (const SignedTx &tx : signed_txs) {
    const pb::ResponseQuery expected = comet038.Query("/tx", tx.id);
    EXPECT_EQ(tendermint.Query("/tx", tx.id).SerializeAsString(), expected.SerializeAsString());
    EXPECT_EQ(comet037.Query("/tx", tx.id).SerializeAsString(), expected.SerializeAsString());
    if (expected.code() == 0) {
      EXPECT_EQ(expected.value(), tx.json);
      ++stored;
    }
  }
  EXPECT_EQ(stored, valid_txs);
  EXPECT_EQ(comet038.Query("/tx", a_to_carol.id).code(), abci::kQueryTransactionNotFound);
  EXPECT_EQ(comet038.Query("/tx", forged.id).code(), abci::kQueryTransactionNotFound);

  // The event stream: one message per valid transaction, in block order.
  const std::vector<std::string> messages038 = stream038.Read(valid_txs);
  ASSERT_EQ(messages038.size(), valid_txs);
  EXPECT_NE(messages038.front().find(create_a.id), std::string::npos) << messages038.front();
  EXPECT_EQ(stream034.Read(valid_txs), messages038);
  EXPECT_EQ(stream037.Read(valid_txs), messages038);
}

}  // namespace
