#include "tests/e2e/engine_calls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

namespace ledgerd_e2e {

std::shared_ptr<grpc::Channel> DialEngineConnection(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(4 << 20);
  // Test speed only.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> EngineCallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_wait_for_ready(true);
  context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  return context;
}

void ExpectOk(const grpc::Status& status, const char* method) {
  EXPECT_TRUE(status.ok()) << method << ": " << status.error_code() << " "
                           << status.error_message();
}

void SetBlockTime(int64_t height, google::protobuf::Timestamp* time) {
  time->set_seconds(1700000000 + height);
}

std::string FakeHash(int64_t height) {
  return std::string(32, static_cast<char>('A' + height % 26));
}

std::string FakeProposerAddress() { return std::string(20, '\x07'); }

}  // namespace ledgerd_e2e
