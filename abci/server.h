// A gRPC server that serves the ABCI services on one address, sized for
// the consensus engine: large blocks and many concurrent CheckTx calls. The
// engine picks the service by the method path it calls
// (`/tendermint.abci.ABCI/...` for CometBFT v0.38,
// `/tendermint.abci.ABCIApplication/...` for Tendermint v0.34 and CometBFT
// v0.37, `/cometbft.abci.v1.ABCIService/...` for CometBFT v1.0), so one
// abci::EngineService per line (abci/engine_service.h) serves them all.
//
// Thread safety: call Shutdown from one thread; calls after the first do
// nothing.
#ifndef ABCI_SERVER_H_
#define ABCI_SERVER_H_

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace abci {

struct ServerOptions {
  // gRPC's default 4 MiB receive limit would refuse big FinalizeBlock
  // requests; CometBFT's default block limit is 21 MiB.
  int max_receive_message_bytes = 64 << 20;
  // Upper bound on the threads serving calls at once (concurrent CheckTx
  // from the mempool connection plus the consensus and query calls).
  int max_threads = 32;
};

class Server {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one) and serves
  // every one of `services` (distinct gRPC services), which must outlive the
  // server. Returns null with `*error` set when the address cannot be bound
  // or is malformed.
  static std::unique_ptr<Server> Start(const std::string& address,
                                       const std::vector<grpc::Service*>& services,
                                       const ServerOptions& options, std::string* error);

  // Shuts down if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port actually bound (differs from the address's when it said 0).
  int port() const { return port_; }

  // Stops accepting calls and lets calls in flight answer until `deadline`;
  // then cancels what remains and closes every connection (idle clients
  // keep theirs open until then). Returns once every handler has returned,
  // so the service and what it uses may be destroyed afterwards.
  void Shutdown(std::chrono::milliseconds deadline);

 private:
  Server(std::unique_ptr<grpc::Server> server, int port);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace abci

#endif  // ABCI_SERVER_H_
