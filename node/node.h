// A running ledgerd: owns the LevelDB store, the ledger Application and the
// servers in front of it, and starts and stops them in dependency order.
//
// Two modes share everything but the block source:
//   - with CometBFT (default): the gRPC ABCI server takes CometBFT's calls,
//     and POSTed transactions go to CometBFT's RPC;
//   - --dev: a built-in block producer makes the blocks and takes the POSTed
//     transactions; no ABCI server runs.
// Either way the HTTP API and the event stream serve the same ledger.
//
// Wiring another component takes a few lines here:
//   1. a setting in Config (node/config.h) if it needs one;
//   2. a member declared after the members it uses (members are destroyed in
//      reverse order, so it is gone before what it depends on);
//   3. create and start it in Start() after its dependencies, returning null
//      with `*error` if it cannot start;
//   4. stop it in Shutdown() before the members it uses are stopped.
// Block observers (the stream, metrics) are added with app_->AddObserver()
// before any block source starts, so that no committed block is missed.
//
// Thread safety: Start and Shutdown are called from one thread (main).
#ifndef NODE_NODE_H_
#define NODE_NODE_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "abci/engine_service.h"
#include "abci/responder.h"
#include "abci/server.h"
#include "api/http_api.h"
#include "api/transaction_submitter.h"
#include "ledger/application.h"
#include "ledger/snapshot.h"
#include "ledger/block_store.h"
#include "node/block_producer.h"
#include "node/config.h"
#include "stream/event_stream.h"

namespace node {

class Node {
 public:
  // Opens the store in config.data_dir (creating the directory), builds the
  // Application, then starts the HTTP API and either the --dev block
  // producer or the ABCI server. Returns null with `*error` set when the
  // store cannot be opened (e.g. locked by another ledgerd) or an address
  // cannot be bound.
  static std::unique_ptr<Node> Start(const Config& config, std::string* error);

  // Shuts down if still running.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The port the ABCI server listens on; 0 in --dev mode.
  int abci_port() const { return abci_server_ ? abci_server_->port() : 0; }
  // The port the HTTP API listens on.
  uint16_t http_port() const { return http_api_ ? http_api_->port() : 0; }
  // The port the event stream listens on.
  uint16_t stream_port() const { return event_stream_ ? event_stream_->port() : 0; }

  // Stops taking requests, lets the block producer finish its block, stops
  // the servers (calls in flight get until `grace` to finish), then closes
  // the store. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  Node() = default;

  bool StartEventStream(const Config& config, std::string* error);
  bool StartHttpApi(const Config& config, std::string* error);
  bool StartAbciServer(const Config& config, std::string* error);

  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  // Beside an engine only: state-sync snapshots taken as blocks commit.
  std::unique_ptr<ledger::SnapshotStore> snapshots_;
  std::unique_ptr<stream::EventStream> event_stream_;

  // Runs the HTTP API and the submitters' timers and connections.
  boost::asio::io_context io_context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> io_threads_;

  std::unique_ptr<BlockProducer> producer_;               // --dev only
  std::unique_ptr<api::TransactionSubmitter> submitter_;  // producer or CometBFT RPC
  std::unique_ptr<api::HttpApi> http_api_;
  // With a consensus engine only: one Responder behind the ABCI service of
  // every engine line (CometBFT v0.38; Tendermint v0.34 and CometBFT v0.37;
  // CometBFT v1.0).
  std::unique_ptr<abci::Responder> abci_responder_;
  std::vector<std::unique_ptr<abci::EngineService>> abci_services_;
  std::unique_ptr<abci::Server> abci_server_;
};

}  // namespace node

#endif  // NODE_NODE_H_
