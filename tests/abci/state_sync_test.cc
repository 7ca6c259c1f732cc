// State sync through each engine line's gRPC service: one served ledger takes
// snapshots as blocks commit and serves them (ListSnapshots,
// LoadSnapshotChunk); a second, empty one restores from them (OfferSnapshot,
// ApplySnapshotChunk) as the engine drives it, then reports the restored
// height and app hash in Info.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cometbft/abci/v1/types.grpc.pb.h"
#include "tendermint/abci/types.grpc.pb.h"
#include "tests/abci/served_ledger.h"
#include "tests/abci/test_ledger.h"

namespace {

namespace pb = tendermint::abci;
namespace v1 = cometbft::abci::v1;
using ledger_test::Call;
using ledger_test::ServedLedger;
using ledger_test::SignedCreate;
using ledger_test::TestKeys;

// The message types of one line, and how to reach its service.
struct CometBft038 {
  using Service = pb::ABCI;
  using ListRequest = pb::RequestListSnapshots;
  using ListResponse = pb::ResponseListSnapshots;
  using LoadRequest = pb::RequestLoadSnapshotChunk;
  using LoadResponse = pb::ResponseLoadSnapshotChunk;
  using OfferRequest = pb::RequestOfferSnapshot;
  using OfferResponse = pb::ResponseOfferSnapshot;
  using ApplyRequest = pb::RequestApplySnapshotChunk;
  using ApplyResponse = pb::ResponseApplySnapshotChunk;
  using InfoRequest = pb::RequestInfo;
  using InfoResponse = pb::ResponseInfo;
  static constexpr int kAccept = pb::ResponseOfferSnapshot::ACCEPT;
  static constexpr int kReject = pb::ResponseOfferSnapshot::REJECT;
  static constexpr int kApplied = pb::ResponseApplySnapshotChunk::ACCEPT;
  static constexpr int kRetry = pb::ResponseApplySnapshotChunk::RETRY;
};

struct Tendermint034 : CometBft038 {
  using Service = pb::ABCIApplication;
};

struct CometBft1 {
  using Service = v1::ABCIService;
  using ListRequest = v1::ListSnapshotsRequest;
  using ListResponse = v1::ListSnapshotsResponse;
  using LoadRequest = v1::LoadSnapshotChunkRequest;
  using LoadResponse = v1::LoadSnapshotChunkResponse;
  using OfferRequest = v1::OfferSnapshotRequest;
  using OfferResponse = v1::OfferSnapshotResponse;
  using ApplyRequest = v1::ApplySnapshotChunkRequest;
  using ApplyResponse = v1::ApplySnapshotChunkResponse;
  using InfoRequest = v1::InfoRequest;
  using InfoResponse = v1::InfoResponse;
  static constexpr int kAccept = v1::OFFER_SNAPSHOT_RESULT_ACCEPT;
  static constexpr int kReject = v1::OFFER_SNAPSHOT_RESULT_REJECT;
  static constexpr int kApplied = v1::APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT;
  static constexpr int kRetry = v1::APPLY_SNAPSHOT_CHUNK_RESULT_RETRY;
};

template <class Line>
class StateSyncTest : public ::testing::Test {
 protected:
  using Stub = typename Line::Service::Stub;

  StateSyncTest()
      : source_(source_dir_.path(), /*snapshot_interval=*/3), joiner_(joiner_dir_.path()) {
    const ledger::KeyPair alice = TestKeys('a');
    for (int64_t height = 1; height <= 7; ++height) {
      std::vector<std::string> txs;
      for (int i = 0; i < 4; ++i) {
        txs.push_back(
            SignedCreate(alice, 1, std::to_string(height * 10 + i), /*padding_bytes=*/300).json);
      }
      source_.app().FinalizeBlock(height, txs);
      std::string error;
      EXPECT_TRUE(source_.app().Commit(&error)) << error;
      source_.snapshots().WaitIdle();
    }
  }

  typename Line::ListResponse List() {
    typename Line::ListResponse listed;
    auto stub = Line::Service::NewStub(source_.Channel());
    EXPECT_TRUE(Call(*stub, &Stub::ListSnapshots, typename Line::ListRequest(), &listed).ok());
    return listed;
  }

  std::string Chunk(uint64_t height, uint32_t format, uint32_t index) {
    typename Line::LoadRequest request;
    request.set_height(height);
    request.set_format(format);
    request.set_chunk(index);
    typename Line::LoadResponse loaded;
    auto stub = Line::Service::NewStub(source_.Channel());
    EXPECT_TRUE(Call(*stub, &Stub::LoadSnapshotChunk, request, &loaded).ok());
    return loaded.chunk();
  }

  ledger_test::TempDir source_dir_;
  ledger_test::TempDir joiner_dir_;
  ServedLedger source_;
  ServedLedger joiner_;
};

using Lines = ::testing::Types<CometBft038, Tendermint034, CometBft1>;
TYPED_TEST_SUITE(StateSyncTest, Lines);

TYPED_TEST(StateSyncTest, ANewNodeRestoresFromTheSnapshotsAnotherServes) {
  using Line = TypeParam;
  using JoinerStub = typename TestFixture::Stub;
  const typename Line::ListResponse listed = this->List();
  ASSERT_EQ(listed.snapshots_size(), 2);
  EXPECT_EQ(listed.snapshots(0).height(), 6u);
  EXPECT_EQ(listed.snapshots(1).height(), 3u);
  const auto& snapshot = listed.snapshots(0);
  ASSERT_GT(snapshot.chunks(), 1u);
  EXPECT_EQ(this->Chunk(snapshot.height(), snapshot.format(), snapshot.chunks()), "");

  const ledger::ChainState at_six{6, this->source_.store().BlockAt(6)->app_hash, "", 1, ""};
  auto joiner = Line::Service::NewStub(this->joiner_.Channel());

  typename Line::OfferRequest offer;
  *offer.mutable_snapshot() = snapshot;
  offer.set_app_hash(std::string(32, '\x01'));
  typename Line::OfferResponse offered;
  ASSERT_TRUE(Call(*joiner, &JoinerStub::OfferSnapshot, offer, &offered).ok());
  EXPECT_EQ(static_cast<int>(offered.result()), Line::kReject) << "not the trusted app hash";

  offer.set_app_hash(at_six.last_app_hash);
  ASSERT_TRUE(Call(*joiner, &JoinerStub::OfferSnapshot, offer, &offered).ok());
  ASSERT_EQ(static_cast<int>(offered.result()), Line::kAccept);

  for (uint32_t index = 0; index < snapshot.chunks(); ++index) {
    std::string chunk = this->Chunk(snapshot.height(), snapshot.format(), index);
    typename Line::ApplyRequest apply;
    apply.set_index(index);
    apply.set_sender("peer-b");
    typename Line::ApplyResponse applied;
    if (index == 1) {
      // Peer a serves it corrupted: fetched again from another peer.
      std::string corrupted = chunk;
      corrupted[0] ^= 1;
      apply.set_chunk(corrupted);
      apply.set_sender("peer-a");
      ASSERT_TRUE(Call(*joiner, &JoinerStub::ApplySnapshotChunk, apply, &applied).ok());
      EXPECT_EQ(static_cast<int>(applied.result()), Line::kRetry);
      ASSERT_EQ(applied.refetch_chunks_size(), 1);
      EXPECT_EQ(applied.refetch_chunks(0), 1u);
      ASSERT_EQ(applied.reject_senders_size(), 1);
      EXPECT_EQ(applied.reject_senders(0), "peer-a");
      apply.set_sender("peer-b");
    }
    apply.set_chunk(chunk);
    ASSERT_TRUE(Call(*joiner, &JoinerStub::ApplySnapshotChunk, apply, &applied).ok());
    ASSERT_EQ(static_cast<int>(applied.result()), Line::kApplied) << "chunk " << index;
  }

  typename Line::InfoResponse info;
  ASSERT_TRUE(Call(*joiner, &JoinerStub::Info, typename Line::InfoRequest(), &info).ok());
  EXPECT_EQ(info.last_block_height(), 6);
  EXPECT_EQ(info.last_block_app_hash(), at_six.last_app_hash);
  for (int64_t height = 1; height <= 6; ++height) {
    const ledger::CommittedBlock block = *this->source_.store().BlockAt(height);
    for (const ledger::CommittedTransaction& tx : block.transactions) {
      EXPECT_EQ(this->joiner_.store().GetTransaction(tx.id),
                this->source_.store().GetTransaction(tx.id));
    }
  }
  EXPECT_FALSE(this->joiner_.store().BlockAt(7));

  // The restored node is the same after a restart.
  this->joiner_.Reopen();
  joiner = Line::Service::NewStub(this->joiner_.Channel());
  ASSERT_TRUE(Call(*joiner, &JoinerStub::Info, typename Line::InfoRequest(), &info).ok());
  EXPECT_EQ(info.last_block_height(), 6);
  EXPECT_EQ(info.last_block_app_hash(), at_six.last_app_hash);
}

}  // namespace
