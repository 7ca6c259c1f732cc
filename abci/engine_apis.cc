// The engine lines ledgerd serves, each a table of what differs: service
// name, ABCI versions, and which handler answers each method with which
// message types and enum values. The handlers themselves are written once,
// in abci/engine_handlers.h.
#include "abci/engine_handlers.h"
#include "abci/engine_service.h"
#include "cometbft/abci/v1/types.pb.h"
#include "tendermint/abci/types.pb.h"

namespace abci {
namespace {

namespace pb = tendermint::abci;
namespace v1 = cometbft::abci::v1;

// The state-sync handlers convert ledgerd's results as they are.
template <auto kAccept, auto kAbort, auto kReject, auto kRejectFormat, auto kRejectSender>
constexpr bool NumbersOfferResults() {
  using ledger::OfferResult;
  return int{kAccept} == int(OfferResult::kAccept) && int{kAbort} == int(OfferResult::kAbort) &&
         int{kReject} == int(OfferResult::kReject) &&
         int{kRejectFormat} == int(OfferResult::kRejectFormat) &&
         int{kRejectSender} == int(OfferResult::kRejectSender);
}
template <auto kAccept, auto kAbort, auto kRetry, auto kRetrySnapshot, auto kRejectSnapshot>
constexpr bool NumbersApplyResults() {
  using ledger::ApplyResult;
  return int{kAccept} == int(ApplyResult::kAccept) && int{kAbort} == int(ApplyResult::kAbort) &&
         int{kRetry} == int(ApplyResult::kRetry) &&
         int{kRetrySnapshot} == int(ApplyResult::kRetrySnapshot) &&
         int{kRejectSnapshot} == int(ApplyResult::kRejectSnapshot);
}
using PbOffer = pb::ResponseOfferSnapshot;
using PbApply = pb::ResponseApplySnapshotChunk;
static_assert(NumbersOfferResults<PbOffer::ACCEPT, PbOffer::ABORT, PbOffer::REJECT,
                                  PbOffer::REJECT_FORMAT, PbOffer::REJECT_SENDER>());
static_assert(NumbersApplyResults<PbApply::ACCEPT, PbApply::ABORT, PbApply::RETRY,
                                  PbApply::RETRY_SNAPSHOT, PbApply::REJECT_SNAPSHOT>());
static_assert(NumbersOfferResults<v1::OFFER_SNAPSHOT_RESULT_ACCEPT, v1::OFFER_SNAPSHOT_RESULT_ABORT,
                                  v1::OFFER_SNAPSHOT_RESULT_REJECT,
                                  v1::OFFER_SNAPSHOT_RESULT_REJECT_FORMAT,
                                  v1::OFFER_SNAPSHOT_RESULT_REJECT_SENDER>());
static_assert(NumbersApplyResults<
              v1::APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT, v1::APPLY_SNAPSHOT_CHUNK_RESULT_ABORT,
              v1::APPLY_SNAPSHOT_CHUNK_RESULT_RETRY, v1::APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT,
              v1::APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT>());

}  // namespace

// Up to v0.38 the key is a PublicKey message with one field per key type.
template <>
GenesisValidator GenesisValidatorOf(const pb::ValidatorUpdate& update) {
  const tendermint::crypto::PublicKey& key = update.pub_key();
  switch (key.sum_case()) {
    case tendermint::crypto::PublicKey::kEd25519:
      return {"ed25519", key.ed25519(), update.power()};
    case tendermint::crypto::PublicKey::kSecp256K1:
      return {"secp256k1", key.secp256k1(), update.power()};
    case tendermint::crypto::PublicKey::SUM_NOT_SET:
      break;
  }
  return {"unknown", "", update.power()};
}

// v1 names the key type ("ed25519", "secp256k1", ...) beside the raw key.
template <>
GenesisValidator GenesisValidatorOf(const v1::ValidatorUpdate& update) {
  return {update.pub_key_type().empty() ? "unknown" : update.pub_key_type(), update.pub_key_bytes(),
          update.power()};
}

const EngineApi& CometBft038Api() {
  static const EngineApi api{
      "tendermint.abci.ABCI",
      "ABCI 2.0 (CometBFT v0.38); older engines call tendermint.abci.ABCIApplication",
      {"2."},
      {
          Unary<pb::RequestEcho, pb::ResponseEcho>("Echo", &Echo),
          Unary<pb::RequestFlush, pb::ResponseFlush>("Flush", &EmptyAnswer),
          Unary<pb::RequestInfo, pb::ResponseInfo>("Info", &Info),
          Unary<pb::RequestInitChain, pb::ResponseInitChain>("InitChain", &InitChain),
          Unary<pb::RequestQuery, pb::ResponseQuery>("Query", &Query),
          Unary<pb::RequestCheckTx, pb::ResponseCheckTx>("CheckTx", &CheckTx<pb::RECHECK>),
          Unary<pb::RequestPrepareProposal, pb::ResponsePrepareProposal>("PrepareProposal",
                                                                         &PrepareProposal),
          Unary<pb::RequestProcessProposal, pb::ResponseProcessProposal>(
              "ProcessProposal", &Accept<pb::ResponseProcessProposal::ACCEPT>),
          Unary<pb::RequestExtendVote, pb::ResponseExtendVote>("ExtendVote", &EmptyAnswer),
          Unary<pb::RequestVerifyVoteExtension, pb::ResponseVerifyVoteExtension>(
              "VerifyVoteExtension", &Accept<pb::ResponseVerifyVoteExtension::ACCEPT>),
          Unary<pb::RequestFinalizeBlock, pb::ResponseFinalizeBlock>("FinalizeBlock",
                                                                     &FinalizeBlock),
          Unary<pb::RequestCommit, pb::ResponseCommit>("Commit", &Commit),
          Unary<pb::RequestListSnapshots, pb::ResponseListSnapshots>("ListSnapshots",
                                                                     &ListSnapshots),
          Unary<pb::RequestOfferSnapshot, pb::ResponseOfferSnapshot>("OfferSnapshot",
                                                                     &OfferSnapshot),
          Unary<pb::RequestLoadSnapshotChunk, pb::ResponseLoadSnapshotChunk>("LoadSnapshotChunk",
                                                                             &LoadSnapshotChunk),
          Unary<pb::RequestApplySnapshotChunk, pb::ResponseApplySnapshotChunk>(
              "ApplySnapshotChunk", &ApplySnapshotChunk),
      }};
  return api;
}

// One service for both lines: each calls only the methods it has (v0.34
// SetOption, v0.37 PrepareProposal and ProcessProposal).
const EngineApi& Tendermint034Api() {
  static const EngineApi api{
      "tendermint.abci.ABCIApplication",
      "ABCI 0.17 and 1.0 (Tendermint v0.34, CometBFT v0.37); newer engines call "
      "tendermint.abci.ABCI or cometbft.abci.v1.ABCIService",
      {"0.", "1."},
      {
          Unary<pb::RequestEcho, pb::ResponseEcho>("Echo", &Echo),
          Unary<pb::RequestFlush, pb::ResponseFlush>("Flush", &EmptyAnswer),
          Unary<pb::RequestInfo, pb::ResponseInfo>("Info", &Info),
          Unary<pb::RequestSetOption, pb::ResponseSetOption>("SetOption", &SetOption),
          Unary<pb::RequestInitChain, pb::ResponseInitChain>("InitChain", &InitChain),
          Unary<pb::RequestQuery, pb::ResponseQuery>("Query", &Query),
          Unary<pb::RequestCheckTx, pb::ResponseCheckTx>("CheckTx", &CheckTx<pb::RECHECK>),
          Unary<pb::RequestPrepareProposal, pb::ResponsePrepareProposal>("PrepareProposal",
                                                                         &PrepareProposal),
          Unary<pb::RequestProcessProposal, pb::ResponseProcessProposal>(
              "ProcessProposal", &Accept<pb::ResponseProcessProposal::ACCEPT>),
          Unary<pb::RequestBeginBlock, pb::ResponseBeginBlock>("BeginBlock", &BeginBlock),
          Unary<pb::RequestDeliverTx, pb::ResponseDeliverTx>("DeliverTx", &DeliverTx),
          Unary<pb::RequestEndBlock, pb::ResponseEndBlock>("EndBlock", &EndBlock),
          Unary<pb::RequestCommit, pb::ResponseCommit>("Commit", &CommitWithAppHash),
          Unary<pb::RequestListSnapshots, pb::ResponseListSnapshots>("ListSnapshots",
                                                                     &ListSnapshots),
          Unary<pb::RequestOfferSnapshot, pb::ResponseOfferSnapshot>("OfferSnapshot",
                                                                     &OfferSnapshot),
          Unary<pb::RequestLoadSnapshotChunk, pb::ResponseLoadSnapshotChunk>("LoadSnapshotChunk",
                                                                             &LoadSnapshotChunk),
          Unary<pb::RequestApplySnapshotChunk, pb::ResponseApplySnapshotChunk>(
              "ApplySnapshotChunk", &ApplySnapshotChunk),
      }};
  return api;
}

// As v0.38 with v1's message names, CheckTx type numbering and enum values.
const EngineApi& CometBft1Api() {
  static const EngineApi api{
      "cometbft.abci.v1.ABCIService",
      "ABCI 2.1 (CometBFT v1.0)",
      {"2."},
      {
          Unary<v1::EchoRequest, v1::EchoResponse>("Echo", &Echo),
          Unary<v1::FlushRequest, v1::FlushResponse>("Flush", &EmptyAnswer),
          Unary<v1::InfoRequest, v1::InfoResponse>("Info", &Info),
          Unary<v1::InitChainRequest, v1::InitChainResponse>("InitChain", &InitChain),
          Unary<v1::QueryRequest, v1::QueryResponse>("Query", &Query),
          Unary<v1::CheckTxRequest, v1::CheckTxResponse>("CheckTx",
                                                         &CheckTx<v1::CHECK_TX_TYPE_RECHECK>),
          Unary<v1::PrepareProposalRequest, v1::PrepareProposalResponse>("PrepareProposal",
                                                                         &PrepareProposal),
          Unary<v1::ProcessProposalRequest, v1::ProcessProposalResponse>(
              "ProcessProposal", &Accept<v1::PROCESS_PROPOSAL_STATUS_ACCEPT>),
          Unary<v1::ExtendVoteRequest, v1::ExtendVoteResponse>("ExtendVote", &EmptyAnswer),
          Unary<v1::VerifyVoteExtensionRequest, v1::VerifyVoteExtensionResponse>(
              "VerifyVoteExtension", &Accept<v1::VERIFY_VOTE_EXTENSION_STATUS_ACCEPT>),
          Unary<v1::FinalizeBlockRequest, v1::FinalizeBlockResponse>("FinalizeBlock",
                                                                     &FinalizeBlock),
          Unary<v1::CommitRequest, v1::CommitResponse>("Commit", &Commit),
          Unary<v1::ListSnapshotsRequest, v1::ListSnapshotsResponse>("ListSnapshots",
                                                                     &ListSnapshots),
          Unary<v1::OfferSnapshotRequest, v1::OfferSnapshotResponse>("OfferSnapshot",
                                                                     &OfferSnapshot),
          Unary<v1::LoadSnapshotChunkRequest, v1::LoadSnapshotChunkResponse>("LoadSnapshotChunk",
                                                                             &LoadSnapshotChunk),
          Unary<v1::ApplySnapshotChunkRequest, v1::ApplySnapshotChunkResponse>(
              "ApplySnapshotChunk", &ApplySnapshotChunk),
      }};
  return api;
}

}  // namespace abci
