// The ABCI gRPC server over real sockets on the loopback interface.
#include "abci/server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "abci/engine_service.h"
#include "cometbft/abci/v1/types.grpc.pb.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/status.h"
#include "tendermint/abci/types.grpc.pb.h"
#include "tests/abci/test_ledger.h"

namespace {

namespace pb = tendermint::abci;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.path(), &error);
    EXPECT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
    responder_ = std::make_unique<abci::Responder>(app_.get(), "test", nullptr);
    service_ = std::make_unique<abci::EngineService>(abci::CometBft038Api(), responder_.get());
  }

  std::unique_ptr<abci::Server> StartServer(const std::string& address, std::string* error) {
    return abci::Server::Start(address, {service_.get()}, abci::ServerOptions(), error);
  }

  static std::unique_ptr<pb::ABCI::Stub> Connect(int port) {
    return pb::ABCI::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                 grpc::InsecureChannelCredentials()));
  }

  ledger_test::TempDir dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  std::unique_ptr<abci::Responder> responder_;
  std::unique_ptr<abci::EngineService> service_;
};

TEST_F(ServerTest, ServesEchoOnThePortItPicked) {
  std::string error;
  std::unique_ptr<abci::Server> server = StartServer("127.0.0.1:0", &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_GT(server->port(), 0);

  grpc::ClientContext context;
  pb::RequestEcho request;
  request.set_message("ping");
  pb::ResponseEcho response;
  ASSERT_TRUE(Connect(server->port())->Echo(&context, request, &response).ok());
  EXPECT_EQ(response.message(), "ping");
}

TEST_F(ServerTest, ServesEveryEngineLinesServiceOnOnePort) {
  abci::EngineService legacy(abci::Tendermint034Api(), responder_.get());
  abci::EngineService v1(abci::CometBft1Api(), responder_.get());
  std::string error;
  std::unique_ptr<abci::Server> server = abci::Server::Start(
      "127.0.0.1:0", {service_.get(), &legacy, &v1}, abci::ServerOptions(), &error);
  ASSERT_NE(server, nullptr) << error;
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server->port()), grpc::InsecureChannelCredentials());

  grpc::ClientContext current_context;
  pb::RequestInfo request;
  pb::ResponseInfo response;
  ASSERT_TRUE(pb::ABCI::NewStub(channel)->Info(&current_context, request, &response).ok());
  EXPECT_EQ(response.data(), "ledgerd");

  grpc::ClientContext legacy_context;
  pb::RequestBeginBlock begin;
  begin.mutable_header()->set_height(1);
  pb::ResponseBeginBlock begun;
  ASSERT_TRUE(
      pb::ABCIApplication::NewStub(channel)->BeginBlock(&legacy_context, begin, &begun).ok());

  grpc::ClientContext v1_context;
  cometbft::abci::v1::InfoRequest v1_request;
  cometbft::abci::v1::InfoResponse v1_response;
  ASSERT_TRUE(cometbft::abci::v1::ABCIService::NewStub(channel)
                  ->Info(&v1_context, v1_request, &v1_response)
                  .ok());
  EXPECT_EQ(v1_response.data(), "ledgerd");
}

TEST_F(ServerTest, AcceptsRequestsAboveGrpcsDefaultFourMebibytes) {
  std::string error;
  std::unique_ptr<abci::Server> server = StartServer("127.0.0.1:0", &error);
  ASSERT_NE(server, nullptr) << error;

  grpc::ClientContext context;
  pb::RequestCheckTx request;
  request.set_tx(std::string(8 << 20, 'x'));
  pb::ResponseCheckTx response;
  const grpc::Status status = Connect(server->port())->CheckTx(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.code(), static_cast<uint32_t>(ledger::ErrorCode::kMalformedTransaction));
}

TEST_F(ServerTest, RefusesAPortAlreadyInUse) {
  std::string error;
  std::unique_ptr<abci::Server> first = StartServer("127.0.0.1:0", &error);
  ASSERT_NE(first, nullptr) << error;

  std::unique_ptr<abci::Server> second =
      StartServer("127.0.0.1:" + std::to_string(first->port()), &error);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
}

TEST_F(ServerTest, RefusesAMalformedAddress) {
  std::string error;
  EXPECT_EQ(StartServer("no port here", &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST_F(ServerTest, ShutdownStopsServing) {
  std::string error;
  std::unique_ptr<abci::Server> server = StartServer("127.0.0.1:0", &error);
  ASSERT_NE(server, nullptr) << error;
  const int port = server->port();
  server->Shutdown(std::chrono::milliseconds(100));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pb::RequestEcho request;
  pb::ResponseEcho response;
  EXPECT_FALSE(Connect(port)->Echo(&context, request, &response).ok());
}

}  // namespace
