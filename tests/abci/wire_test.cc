// The ABCI wire definitions serve three engine lines from one package
// (tendermint.abci) and CometBFT v1.0 from its own (cometbft.abci.v1): these
// tests pin the field numbers, enum values and method paths that the lines
// rely on (proto/README.md lists where each was checked), and that the v0.38
// answers still carry nothing in the fields v0.38 retired.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cometbft/abci/v1/types.grpc.pb.h"
#include "tendermint/abci/types.grpc.pb.h"
#include "tendermint/types/types.pb.h"

namespace {

namespace pb = tendermint::abci;
using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;

struct Field {
  const char* message;  // full name
  const char* name;
  int number;
  FieldDescriptor::Type type;
};

TEST(WireTest, OlderLinesFieldsHaveTheirUpstreamNumbers) {
  const Field fields[] = {
      {"tendermint.abci.RequestInfo", "abci_version", 4, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.RequestSetOption", "key", 1, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.RequestSetOption", "value", 2, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.ResponseSetOption", "code", 1, FieldDescriptor::TYPE_UINT32},
      {"tendermint.abci.ResponseSetOption", "log", 3, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.ResponseSetOption", "info", 4, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.RequestBeginBlock", "hash", 1, FieldDescriptor::TYPE_BYTES},
      {"tendermint.abci.RequestBeginBlock", "header", 2, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.RequestBeginBlock", "last_commit_info", 3, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.RequestBeginBlock", "byzantine_validators", 4,
       FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.ResponseBeginBlock", "events", 1, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.RequestDeliverTx", "tx", 1, FieldDescriptor::TYPE_BYTES},
      {"tendermint.abci.ResponseDeliverTx", "code", 1, FieldDescriptor::TYPE_UINT32},
      {"tendermint.abci.ResponseDeliverTx", "data", 2, FieldDescriptor::TYPE_BYTES},
      {"tendermint.abci.ResponseDeliverTx", "log", 3, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.ResponseDeliverTx", "info", 4, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.ResponseDeliverTx", "gas_wanted", 5, FieldDescriptor::TYPE_INT64},
      {"tendermint.abci.ResponseDeliverTx", "gas_used", 6, FieldDescriptor::TYPE_INT64},
      {"tendermint.abci.ResponseDeliverTx", "events", 7, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.ResponseDeliverTx", "codespace", 8, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.RequestEndBlock", "height", 1, FieldDescriptor::TYPE_INT64},
      {"tendermint.abci.ResponseEndBlock", "validator_updates", 1, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.ResponseEndBlock", "consensus_param_updates", 2,
       FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.ResponseEndBlock", "events", 3, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.ResponseCommit", "data", 2, FieldDescriptor::TYPE_BYTES},
      {"tendermint.abci.ResponseCommit", "retain_height", 3, FieldDescriptor::TYPE_INT64},
      {"tendermint.abci.ResponseCheckTx", "sender", 9, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.ResponseCheckTx", "priority", 10, FieldDescriptor::TYPE_INT64},
      {"tendermint.abci.ResponseCheckTx", "mempool_error", 11, FieldDescriptor::TYPE_STRING},
      {"tendermint.abci.VoteInfo", "signed_last_block", 2, FieldDescriptor::TYPE_BOOL},
      {"tendermint.abci.VoteInfo", "block_id_flag", 3, FieldDescriptor::TYPE_ENUM},
      {"tendermint.abci.ExtendedVoteInfo", "signed_last_block", 2, FieldDescriptor::TYPE_BOOL},
      {"tendermint.abci.ExtendedVoteInfo", "vote_extension", 3, FieldDescriptor::TYPE_BYTES},
      {"tendermint.abci.Request", "set_option", 4, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Request", "begin_block", 7, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Request", "deliver_tx", 9, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Request", "end_block", 10, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Request", "prepare_proposal", 16, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Response", "set_option", 5, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Response", "begin_block", 8, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Response", "deliver_tx", 10, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Response", "end_block", 11, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.abci.Response", "prepare_proposal", 17, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.types.Header", "version", 1, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.types.Header", "chain_id", 2, FieldDescriptor::TYPE_STRING},
      {"tendermint.types.Header", "height", 3, FieldDescriptor::TYPE_INT64},
      {"tendermint.types.Header", "time", 4, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.types.Header", "last_block_id", 5, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.types.Header", "app_hash", 11, FieldDescriptor::TYPE_BYTES},
      {"tendermint.types.Header", "proposer_address", 14, FieldDescriptor::TYPE_BYTES},
      {"tendermint.types.BlockID", "part_set_header", 2, FieldDescriptor::TYPE_MESSAGE},
      {"tendermint.types.PartSetHeader", "total", 1, FieldDescriptor::TYPE_UINT32},
      {"tendermint.version.Consensus", "app", 2, FieldDescriptor::TYPE_UINT64},
  };
  // The generated code registers its descriptors on first use.
  pb::ResponseCommit::descriptor();
  tendermint::types::Header::descriptor();
  for (const Field& field : fields) {
    const Descriptor* message =
        DescriptorPool::generated_pool()->FindMessageTypeByName(field.message);
    ASSERT_NE(message, nullptr) << field.message;
    const FieldDescriptor* found = message->FindFieldByName(field.name);
    ASSERT_NE(found, nullptr) << field.message << "." << field.name;
    EXPECT_EQ(found->number(), field.number) << field.message << "." << field.name;
    EXPECT_EQ(found->type(), field.type) << field.message << "." << field.name;
  }
}

TEST(WireTest, EachServiceHasItsLinesMethods) {
  const auto* current = pb::ABCI::service_full_name();
  const auto* legacy = pb::ABCIApplication::service_full_name();
  EXPECT_STREQ(current, "tendermint.abci.ABCI");
  EXPECT_STREQ(legacy, "tendermint.abci.ABCIApplication");

  const google::protobuf::ServiceDescriptor* v038 =
      DescriptorPool::generated_pool()->FindServiceByName(current);
  const google::protobuf::ServiceDescriptor* v034_v037 =
      DescriptorPool::generated_pool()->FindServiceByName(legacy);
  ASSERT_NE(v038, nullptr);
  ASSERT_NE(v034_v037, nullptr);
  for (const char* method :
       {"Echo", "Flush", "Info", "SetOption", "DeliverTx", "CheckTx", "Query", "Commit",
        "InitChain", "BeginBlock", "EndBlock", "ListSnapshots", "OfferSnapshot",
        "LoadSnapshotChunk", "ApplySnapshotChunk", "PrepareProposal", "ProcessProposal"}) {
    EXPECT_NE(v034_v037->FindMethodByName(method), nullptr) << method;
  }
  EXPECT_EQ(v034_v037->method_count(), 17);
  for (const char* method : {"BeginBlock", "DeliverTx", "EndBlock", "SetOption"}) {
    EXPECT_EQ(v038->FindMethodByName(method), nullptr) << method;
  }
  EXPECT_EQ(v038->method_count(), 16);
}

TEST(WireTest, CommitAppHashIsFieldTwoOnTheWire) {
  pb::ResponseCommit commit;
  commit.set_data(std::string(32, '\xab'));
  const std::string bytes = commit.SerializeAsString();
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0], '\x12');  // field 2, length-delimited
  EXPECT_EQ(bytes[1], '\x20');  // 32 bytes
}

// Checks each of `fields` against the generated descriptors.
void ExpectNumbers(const std::vector<Field>& fields) {
  for (const Field& field : fields) {
    const Descriptor* message =
        DescriptorPool::generated_pool()->FindMessageTypeByName(field.message);
    ASSERT_NE(message, nullptr) << field.message;
    const FieldDescriptor* found = message->FindFieldByName(field.name);
    ASSERT_NE(found, nullptr) << field.message << "." << field.name;
    EXPECT_EQ(found->number(), field.number) << field.message << "." << field.name;
    EXPECT_EQ(found->type(), field.type) << field.message << "." << field.name;
  }
}

TEST(WireTest, CometBft1FieldsHaveTheirUpstreamNumbers) {
  const std::vector<Field> fields = {
      {"cometbft.abci.v1.EchoRequest", "message", 1, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.InfoRequest", "version", 1, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.InfoRequest", "block_version", 2, FieldDescriptor::TYPE_UINT64},
      {"cometbft.abci.v1.InfoRequest", "abci_version", 4, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.InfoResponse", "data", 1, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.InfoResponse", "app_version", 3, FieldDescriptor::TYPE_UINT64},
      {"cometbft.abci.v1.InfoResponse", "last_block_height", 4, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.InfoResponse", "last_block_app_hash", 5, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.InitChainRequest", "chain_id", 2, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.InitChainRequest", "validators", 4, FieldDescriptor::TYPE_MESSAGE},
      {"cometbft.abci.v1.InitChainRequest", "initial_height", 6, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.ValidatorUpdate", "power", 2, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.ValidatorUpdate", "pub_key_bytes", 3, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.ValidatorUpdate", "pub_key_type", 4, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.QueryRequest", "data", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.QueryRequest", "path", 2, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.QueryResponse", "code", 1, FieldDescriptor::TYPE_UINT32},
      {"cometbft.abci.v1.QueryResponse", "log", 3, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.QueryResponse", "key", 6, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.QueryResponse", "value", 7, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.QueryResponse", "height", 9, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.QueryResponse", "codespace", 10, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.CheckTxRequest", "tx", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.CheckTxRequest", "type", 3, FieldDescriptor::TYPE_ENUM},
      {"cometbft.abci.v1.CheckTxResponse", "code", 1, FieldDescriptor::TYPE_UINT32},
      {"cometbft.abci.v1.CheckTxResponse", "log", 3, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.CheckTxResponse", "codespace", 8, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.CommitResponse", "retain_height", 3, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.PrepareProposalRequest", "max_tx_bytes", 1, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.PrepareProposalRequest", "txs", 2, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.PrepareProposalResponse", "txs", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.ProcessProposalRequest", "txs", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.ProcessProposalResponse", "status", 1, FieldDescriptor::TYPE_ENUM},
      {"cometbft.abci.v1.ExtendVoteResponse", "vote_extension", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.VerifyVoteExtensionResponse", "status", 1, FieldDescriptor::TYPE_ENUM},
      {"cometbft.abci.v1.FinalizeBlockRequest", "txs", 1, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.FinalizeBlockRequest", "height", 5, FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.FinalizeBlockRequest", "syncing_to_height", 9,
       FieldDescriptor::TYPE_INT64},
      {"cometbft.abci.v1.FinalizeBlockResponse", "events", 1, FieldDescriptor::TYPE_MESSAGE},
      {"cometbft.abci.v1.FinalizeBlockResponse", "tx_results", 2, FieldDescriptor::TYPE_MESSAGE},
      {"cometbft.abci.v1.FinalizeBlockResponse", "app_hash", 5, FieldDescriptor::TYPE_BYTES},
      {"cometbft.abci.v1.ExecTxResult", "code", 1, FieldDescriptor::TYPE_UINT32},
      {"cometbft.abci.v1.ExecTxResult", "log", 3, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.ExecTxResult", "events", 7, FieldDescriptor::TYPE_MESSAGE},
      {"cometbft.abci.v1.ExecTxResult", "codespace", 8, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.Event", "type", 1, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.Event", "attributes", 2, FieldDescriptor::TYPE_MESSAGE},
      {"cometbft.abci.v1.EventAttribute", "key", 1, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.EventAttribute", "value", 2, FieldDescriptor::TYPE_STRING},
      {"cometbft.abci.v1.EventAttribute", "index", 3, FieldDescriptor::TYPE_BOOL},
      {"cometbft.abci.v1.OfferSnapshotResponse", "result", 1, FieldDescriptor::TYPE_ENUM},
      {"cometbft.abci.v1.ApplySnapshotChunkResponse", "result", 1, FieldDescriptor::TYPE_ENUM},
  };
  cometbft::abci::v1::FinalizeBlockResponse::descriptor();
  ExpectNumbers(fields);
}

TEST(WireTest, CometBft1EnumsHaveTheirUpstreamValues) {
  namespace v1 = cometbft::abci::v1;
  EXPECT_EQ(v1::CHECK_TX_TYPE_UNKNOWN, 0);
  EXPECT_EQ(v1::CHECK_TX_TYPE_RECHECK, 1);
  EXPECT_EQ(v1::CHECK_TX_TYPE_CHECK, 2);
  EXPECT_EQ(v1::PROCESS_PROPOSAL_STATUS_ACCEPT, 1);
  EXPECT_EQ(v1::PROCESS_PROPOSAL_STATUS_REJECT, 2);
  EXPECT_EQ(v1::VERIFY_VOTE_EXTENSION_STATUS_ACCEPT, 1);
  EXPECT_EQ(v1::OFFER_SNAPSHOT_RESULT_REJECT, 3);
  EXPECT_EQ(v1::APPLY_SNAPSHOT_CHUNK_RESULT_ABORT, 2);
}

// v1 moved the CheckTx type from field 2 to field 3: a v1 recheck is
// field 3 = 1, which the v0.38 message would not read as a recheck.
TEST(WireTest, CometBft1RecheckIsFieldThreeOnTheWire) {
  cometbft::abci::v1::CheckTxRequest request;
  request.set_type(cometbft::abci::v1::CHECK_TX_TYPE_RECHECK);
  EXPECT_EQ(request.SerializeAsString(), std::string("\x18\x01", 2));
  tendermint::abci::RequestCheckTx v038;
  ASSERT_TRUE(v038.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(v038.type(), tendermint::abci::NEW);
}

TEST(WireTest, CometBft1ServiceHasV1sMethods) {
  EXPECT_STREQ(cometbft::abci::v1::ABCIService::service_full_name(),
               "cometbft.abci.v1.ABCIService");
  const google::protobuf::ServiceDescriptor* service =
      DescriptorPool::generated_pool()->FindServiceByName("cometbft.abci.v1.ABCIService");
  ASSERT_NE(service, nullptr);
  for (const char* method :
       {"Echo", "Flush", "Info", "CheckTx", "Query", "Commit", "InitChain", "ListSnapshots",
        "OfferSnapshot", "LoadSnapshotChunk", "ApplySnapshotChunk", "PrepareProposal",
        "ProcessProposal", "ExtendVote", "VerifyVoteExtension", "FinalizeBlock"}) {
    EXPECT_NE(service->FindMethodByName(method), nullptr) << method;
  }
  EXPECT_EQ(service->method_count(), 16);
}

}  // namespace
