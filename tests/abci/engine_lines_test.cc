// The same blocks driven through every engine line's calls, each line on its
// own fresh store, over real gRPC channels: Tendermint v0.34 (BeginBlock,
// DeliverTx, EndBlock, Commit), CometBFT v0.37 (the same after
// PrepareProposal and ProcessProposal), CometBFT v0.38 and CometBFT v1.0
// (PrepareProposal, ProcessProposal, FinalizeBlock, Commit). Every line must
// give the same results (codes, logs, events), app hashes, rechecks and
// committed blocks.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cometbft/abci/v1/types.grpc.pb.h"
#include "ledger/committed_block.h"
#include "ledger/crypto.h"
#include "ledger/transaction.h"
#include "tendermint/abci/types.grpc.pb.h"
#include "tests/abci/served_ledger.h"
#include "tests/abci/test_ledger.h"

namespace {

namespace pb = tendermint::abci;
namespace v1 = cometbft::abci::v1;
using ledger_test::Call;
using ledger_test::SignedCreate;
using ledger_test::SignedTransfer;
using ledger_test::SignedTx;
using ledger_test::TestKeys;

// What one block gave back through one line. Answers are kept serialized:
// ResponseDeliverTx, v0.38's ExecTxResult and v1's ExecTxResult share their
// field numbers, as do the CheckTx answers, so equal answers are equal bytes.
struct BlockOutcome {
  std::vector<std::string> tx_results;
  std::string app_hash;       // as the line returns it
  std::string info_app_hash;  // as Info reports it afterwards
  int64_t info_height = 0;
  std::vector<std::string> rechecks;  // of the mempool's leftovers, in order
};

// One engine line's calls against a served ledger.
class EngineLine {
 public:
  virtual ~EngineLine() = default;
  // Info (height 0 on a fresh store) and InitChain.
  virtual void Handshake() = 0;
  // Runs block `height` of `txs` through the line's calls and commits it,
  // then rechecks `mempool`.
  virtual BlockOutcome RunBlock(int64_t height, const std::vector<std::string>& txs,
                                const std::vector<std::string>& mempool) = 0;
  // A first CheckTx of `tx`, serialized.
  virtual std::string CheckTx(const std::string& tx) = 0;
};

// Tendermint v0.34, or CometBFT v0.37 when `proposes`.
class LegacyLine : public EngineLine {
 public:
  using Stub = pb::ABCIApplication::Stub;

  LegacyLine(std::shared_ptr<grpc::Channel> channel, bool proposes)
      : stub_(pb::ABCIApplication::NewStub(channel)), proposes_(proposes) {}

  void Handshake() override {
    EXPECT_EQ(Info().last_block_height(), 0);
    pb::RequestInitChain request;
    request.set_chain_id("lines");
    request.set_initial_height(1);
    pb::ResponseInitChain response;
    EXPECT_TRUE(Call(*stub_, &Stub::InitChain, request, &response).ok());
  }

  BlockOutcome RunBlock(int64_t height, const std::vector<std::string>& txs,
                        const std::vector<std::string>& mempool) override {
    if (proposes_) Propose(height, txs);
    BlockOutcome outcome;
    pb::RequestBeginBlock begin;
    begin.mutable_header()->set_height(height);
    pb::ResponseBeginBlock begun;
    EXPECT_TRUE(Call(*stub_, &Stub::BeginBlock, begin, &begun).ok());
    for (const std::string& tx : txs) {
      pb::RequestDeliverTx deliver;
      deliver.set_tx(tx);
      pb::ResponseDeliverTx delivered;
      EXPECT_TRUE(Call(*stub_, &Stub::DeliverTx, deliver, &delivered).ok());
      outcome.tx_results.push_back(delivered.SerializeAsString());
    }
    pb::RequestEndBlock end;
    end.set_height(height);
    pb::ResponseEndBlock ended;
    EXPECT_TRUE(Call(*stub_, &Stub::EndBlock, end, &ended).ok());
    pb::ResponseCommit commit;
    EXPECT_TRUE(Call(*stub_, &Stub::Commit, pb::RequestCommit(), &commit).ok());
    outcome.app_hash = commit.data();
    const pb::ResponseInfo info = Info();
    outcome.info_app_hash = info.last_block_app_hash();
    outcome.info_height = info.last_block_height();
    for (const std::string& tx : mempool) outcome.rechecks.push_back(Check(tx, pb::RECHECK));
    return outcome;
  }

  std::string CheckTx(const std::string& tx) override { return Check(tx, pb::NEW); }

 private:
  pb::ResponseInfo Info() {
    pb::RequestInfo request;
    request.set_version(proposes_ ? "0.37.15" : "0.34.24");
    if (proposes_) request.set_abci_version("1.0.0");  // v0.34 reports none
    pb::ResponseInfo response;
    EXPECT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
    return response;
  }

  void Propose(int64_t height, const std::vector<std::string>& txs) {
    pb::RequestPrepareProposal prepare;
    prepare.set_height(height);
    prepare.set_max_tx_bytes(22020096);
    for (const std::string& tx : txs) prepare.add_txs(tx);
    pb::ResponsePrepareProposal prepared;
    EXPECT_TRUE(Call(*stub_, &Stub::PrepareProposal, prepare, &prepared).ok());
    EXPECT_EQ(prepared.txs_size(), static_cast<int>(txs.size()));
    pb::RequestProcessProposal process;
    process.set_height(height);
    *process.mutable_txs() = prepared.txs();
    pb::ResponseProcessProposal processed;
    EXPECT_TRUE(Call(*stub_, &Stub::ProcessProposal, process, &processed).ok());
    EXPECT_EQ(processed.status(), pb::ResponseProcessProposal::ACCEPT);
  }

  std::string Check(const std::string& tx, pb::CheckTxType type) {
    pb::RequestCheckTx request;
    request.set_tx(tx);
    request.set_type(type);
    pb::ResponseCheckTx response;
    EXPECT_TRUE(Call(*stub_, &Stub::CheckTx, request, &response).ok());
    return response.SerializeAsString();
  }

  std::unique_ptr<Stub> stub_;
  const bool proposes_;
};

// The message types and values of a line that finalizes whole blocks.
struct CometBft038 {
  using Service = pb::ABCI;
  using InfoRequest = pb::RequestInfo;
  using InfoResponse = pb::ResponseInfo;
  using InitChainRequest = pb::RequestInitChain;
  using InitChainResponse = pb::ResponseInitChain;
  using CheckTxRequest = pb::RequestCheckTx;
  using CheckTxResponse = pb::ResponseCheckTx;
  using PrepareProposalRequest = pb::RequestPrepareProposal;
  using PrepareProposalResponse = pb::ResponsePrepareProposal;
  using ProcessProposalRequest = pb::RequestProcessProposal;
  using ProcessProposalResponse = pb::ResponseProcessProposal;
  using FinalizeBlockRequest = pb::RequestFinalizeBlock;
  using FinalizeBlockResponse = pb::ResponseFinalizeBlock;
  using CommitRequest = pb::RequestCommit;
  using CommitResponse = pb::ResponseCommit;
  static constexpr auto kCheck = pb::NEW;
  static constexpr auto kRecheck = pb::RECHECK;
  static constexpr auto kAccept = pb::ResponseProcessProposal::ACCEPT;
  static constexpr const char* kVersion = "0.38.25";
  static constexpr const char* kAbciVersion = "2.0.0";
};

struct CometBft1 {
  using Service = v1::ABCIService;
  using InfoRequest = v1::InfoRequest;
  using InfoResponse = v1::InfoResponse;
  using InitChainRequest = v1::InitChainRequest;
  using InitChainResponse = v1::InitChainResponse;
  using CheckTxRequest = v1::CheckTxRequest;
  using CheckTxResponse = v1::CheckTxResponse;
  using PrepareProposalRequest = v1::PrepareProposalRequest;
  using PrepareProposalResponse = v1::PrepareProposalResponse;
  using ProcessProposalRequest = v1::ProcessProposalRequest;
  using ProcessProposalResponse = v1::ProcessProposalResponse;
  using FinalizeBlockRequest = v1::FinalizeBlockRequest;
  using FinalizeBlockResponse = v1::FinalizeBlockResponse;
  using CommitRequest = v1::CommitRequest;
  using CommitResponse = v1::CommitResponse;
  static constexpr auto kCheck = v1::CHECK_TX_TYPE_CHECK;
  static constexpr auto kRecheck = v1::CHECK_TX_TYPE_RECHECK;
  static constexpr auto kAccept = v1::PROCESS_PROPOSAL_STATUS_ACCEPT;
  static constexpr const char* kVersion = "1.0.1";
  static constexpr const char* kAbciVersion = "2.1.0";
};

// CometBFT v0.38 or v1.0, as `Line` says.
template <class Line>
class FinalizingLine : public EngineLine {
 public:
  using Stub = typename Line::Service::Stub;

  explicit FinalizingLine(std::shared_ptr<grpc::Channel> channel)
      : stub_(Line::Service::NewStub(channel)) {}

  void Handshake() override {
    EXPECT_EQ(Info().last_block_height(), 0);
    typename Line::InitChainRequest request;
    request.set_chain_id("lines");
    request.set_initial_height(1);
    typename Line::InitChainResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::InitChain, request, &response).ok());
  }

  BlockOutcome RunBlock(int64_t height, const std::vector<std::string>& txs,
                        const std::vector<std::string>& mempool) override {
    typename Line::PrepareProposalRequest prepare;
    prepare.set_height(height);
    prepare.set_max_tx_bytes(22020096);
    for (const std::string& tx : txs) prepare.add_txs(tx);
    typename Line::PrepareProposalResponse prepared;
    EXPECT_TRUE(Call(*stub_, &Stub::PrepareProposal, prepare, &prepared).ok());
    EXPECT_EQ(prepared.txs_size(), static_cast<int>(txs.size()));
    typename Line::ProcessProposalRequest process;
    process.set_height(height);
    *process.mutable_txs() = prepared.txs();
    typename Line::ProcessProposalResponse processed;
    EXPECT_TRUE(Call(*stub_, &Stub::ProcessProposal, process, &processed).ok());
    EXPECT_EQ(processed.status(), Line::kAccept);

    typename Line::FinalizeBlockRequest finalize;
    finalize.set_height(height);
    *finalize.mutable_txs() = prepared.txs();
    typename Line::FinalizeBlockResponse finalized;
    EXPECT_TRUE(Call(*stub_, &Stub::FinalizeBlock, finalize, &finalized).ok());
    typename Line::CommitResponse commit;
    EXPECT_TRUE(Call(*stub_, &Stub::Commit, typename Line::CommitRequest(), &commit).ok());
    EXPECT_EQ(commit.retain_height(), 0);

    BlockOutcome outcome;
    for (const auto& result : finalized.tx_results()) {
      outcome.tx_results.push_back(result.SerializeAsString());
    }
    outcome.app_hash = finalized.app_hash();
    const typename Line::InfoResponse info = Info();
    outcome.info_app_hash = info.last_block_app_hash();
    outcome.info_height = info.last_block_height();
    for (const std::string& tx : mempool) outcome.rechecks.push_back(Check(tx, Line::kRecheck));
    return outcome;
  }

  std::string CheckTx(const std::string& tx) override { return Check(tx, Line::kCheck); }

 private:
  typename Line::InfoResponse Info() {
    typename Line::InfoRequest request;
    request.set_version(Line::kVersion);
    request.set_abci_version(Line::kAbciVersion);
    typename Line::InfoResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::Info, request, &response).ok());
    return response;
  }

  template <class Type>
  std::string Check(const std::string& tx, Type type) {
    typename Line::CheckTxRequest request;
    request.set_tx(tx);
    request.set_type(type);
    typename Line::CheckTxResponse response;
    EXPECT_TRUE(Call(*stub_, &Stub::CheckTx, request, &response).ok());
    return response.SerializeAsString();
  }

  std::unique_ptr<Stub> stub_;
};

// A committed block in words, for comparison and failure messages.
std::string Describe(const ledger::CommittedBlock& block) {
  std::ostringstream out;
  out << "height " << block.height << ", app hash " << ledger::HexEncode(block.app_hash) << ":";
  for (const ledger::CommittedTransaction& tx : block.transactions) {
    out << " [" << tx.index << " " << tx.id << " " << ledger::OperationName(tx.operation) << " of "
        << tx.asset_id << ", keys";
    for (const std::string& key : tx.public_keys) out << " " << key;
    out << "]";
  }
  return out.str();
}

// One line on its own fresh store.
struct ServedLine {
  std::string name;
  std::unique_ptr<ledger_test::TempDir> dir;
  std::unique_ptr<ledger_test::ServedLedger> ledger;
  std::unique_ptr<EngineLine> calls;
};

std::vector<ServedLine> EveryLine() {
  std::vector<ServedLine> lines;
  for (const char* name :
       {"Tendermint v0.34", "CometBFT v0.37", "CometBFT v0.38", "CometBFT v1.0"}) {
    ServedLine line{name, std::make_unique<ledger_test::TempDir>(), nullptr, nullptr};
    line.ledger = std::make_unique<ledger_test::ServedLedger>(line.dir->path());
    lines.push_back(std::move(line));
  }
  lines[0].calls = std::make_unique<LegacyLine>(lines[0].ledger->Channel(), false);
  lines[1].calls = std::make_unique<LegacyLine>(lines[1].ledger->Channel(), true);
  lines[2].calls = std::make_unique<FinalizingLine<CometBft038>>(lines[2].ledger->Channel());
  lines[3].calls = std::make_unique<FinalizingLine<CometBft1>>(lines[3].ledger->Channel());
  return lines;
}

TEST(EngineLinesTest, SameBlocksGiveTheSameAnswersAppHashesAndCommittedBlocksOnEveryLine) {
  const ledger::KeyPair alice = TestKeys('a');
  const ledger::KeyPair bob = TestKeys('b');
  const ledger::KeyPair carol = TestKeys('c');
  const SignedTx create = SignedCreate(alice, 5, "lines");
  const SignedTx to_bob = SignedTransfer(alice, create, 0, create.id, 5, bob);
  const SignedTx to_carol = SignedTransfer(alice, create, 0, create.id, 5, carol);
  const SignedTx bob_on = SignedTransfer(bob, to_bob, 0, create.id, 5, carol);
  const SignedTx bobs = SignedCreate(bob, 1, "bob's");
  const SignedTx pending = SignedCreate(carol, 2, "pending");
  const std::vector<std::vector<std::string>> blocks = {
      {create.json, to_bob.json, to_carol.json, std::string("\xff{", 2)},
      {},
      {"garbage"},
      {create.json, bob_on.json, to_carol.json, bobs.json},
  };
  const std::vector<std::string> mempool = {to_carol.json, pending.json, bobs.json};

  std::vector<ServedLine> lines = EveryLine();
  for (ServedLine& line : lines) line.calls->Handshake();
  // The first checks before any block: the same admissions everywhere.
  std::vector<std::string> first_checks;
  for (const std::string& tx : mempool) first_checks.push_back(lines[0].calls->CheckTx(tx));
  for (size_t l = 1; l < lines.size(); ++l) {
    for (size_t i = 0; i < mempool.size(); ++i) {
      EXPECT_EQ(lines[l].calls->CheckTx(mempool[i]), first_checks[i]) << lines[l].name;
    }
  }

  for (size_t b = 0; b < blocks.size(); ++b) {
    const int64_t height = static_cast<int64_t>(b) + 1;
    const BlockOutcome expected = lines[0].calls->RunBlock(height, blocks[b], mempool);
    ASSERT_EQ(expected.tx_results.size(), blocks[b].size());
    EXPECT_EQ(expected.app_hash.size(), 32u);
    EXPECT_EQ(expected.info_app_hash, expected.app_hash);
    EXPECT_EQ(expected.info_height, height);
    for (size_t l = 1; l < lines.size(); ++l) {
      const BlockOutcome outcome = lines[l].calls->RunBlock(height, blocks[b], mempool);
      const std::string where = lines[l].name + ", height " + std::to_string(height);
      EXPECT_EQ(outcome.tx_results, expected.tx_results) << where;
      EXPECT_EQ(outcome.app_hash, expected.app_hash) << where;
      EXPECT_EQ(outcome.info_app_hash, expected.info_app_hash) << where;
      EXPECT_EQ(outcome.info_height, expected.info_height) << where;
      EXPECT_EQ(outcome.rechecks, expected.rechecks) << where;
    }
  }

  const std::vector<ledger::CommittedBlock> expected = lines[0].ledger->CommittedBlocks();
  ASSERT_EQ(expected.size(), blocks.size());
  EXPECT_EQ(expected[0].transactions.size(), 2u);  // create and to_bob
  EXPECT_EQ(expected[3].transactions.size(), 2u);  // bob_on and bob's create
  for (size_t l = 1; l < lines.size(); ++l) {
    const std::vector<ledger::CommittedBlock> committed = lines[l].ledger->CommittedBlocks();
    ASSERT_EQ(committed.size(), expected.size()) << lines[l].name;
    for (size_t b = 0; b < expected.size(); ++b) {
      EXPECT_EQ(Describe(committed[b]), Describe(expected[b])) << lines[l].name;
    }
  }
}

// The answers the comparison above rests on are not empty: a valid
// transaction's result carries its indexed event, an invalid one its code.
TEST(EngineLinesTest, ComparedAnswersCarryEventsAndCodes) {
  ledger_test::TempDir dir;
  ledger_test::ServedLedger ledger(dir.path());
  FinalizingLine<CometBft1> line(ledger.Channel());
  line.Handshake();
  const SignedTx create = SignedCreate(TestKeys('a'), 1, "carry");
  const BlockOutcome outcome = line.RunBlock(1, {create.json, "garbage"}, {});

  ASSERT_EQ(outcome.tx_results.size(), 2u);
  v1::ExecTxResult valid;
  ASSERT_TRUE(valid.ParseFromString(outcome.tx_results[0]));
  ASSERT_EQ(valid.events_size(), 1);
  EXPECT_EQ(valid.events(0).attributes(0).value(), create.id);
  EXPECT_TRUE(valid.events(0).attributes(0).index());
  v1::ExecTxResult invalid;
  ASSERT_TRUE(invalid.ParseFromString(outcome.tx_results[1]));
  EXPECT_NE(invalid.code(), 0u);
  EXPECT_FALSE(invalid.log().empty());
}

}  // namespace
