#include "abci/server.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <utility>

namespace abci {

std::unique_ptr<Server> Server::Start(const std::string& address,
                                      const std::vector<grpc::Service*>& services,
                                      const ServerOptions& options, std::string* error) {
  grpc::ServerBuilder builder;
  int port = 0;
  // CometBFT's gRPC client connects without TLS; the ABCI port is meant to be
  // reachable only by the local engine (DESIGN.md §1).
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // gRPC sets SO_REUSEPORT by default: a second ledgerd on the same port
  // would then share the engine's calls instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  grpc::ResourceQuota quota("abci");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    *error = "cannot listen on " + address + " (address in use, or not host:port)";
    return nullptr;
  }
  return std::unique_ptr<Server>(new Server(std::move(server), port));
}

Server::Server(std::unique_ptr<grpc::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

void Server::Shutdown(std::chrono::milliseconds deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + deadline);
  server_->Wait();
}

}  // namespace abci
