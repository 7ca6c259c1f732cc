// A running ledgerd: owns the LevelDB store, the ledger Application and the
// servers in front of it, and starts and stops them in dependency order.
//
// Wiring another component (HTTP API, WebSocket stream, the --dev block
// producer) takes a few lines here:
//   1. a setting in Config (node/config.h) if it needs one;
//   2. a member declared after the members it uses (members are destroyed in
//      reverse order, so it is gone before what it depends on);
//   3. create and start it in Start() after its dependencies, returning null
//      with `*error` if it cannot start;
//   4. stop it in Shutdown() before the members it uses are stopped.
// Block observers (the stream) are added with app_->AddObserver() before the
// ABCI server starts, so that no committed block is missed.
//
// Thread safety: Start and Shutdown are called from one thread (main).
#ifndef NODE_NODE_H_
#define NODE_NODE_H_

#include <chrono>
#include <memory>
#include <string>

#include "abci/abci_service.h"
#include "abci/server.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "node/config.h"

namespace node {

class Node {
 public:
  // Opens the store in config.data_dir (creating the directory), builds the
  // Application and starts the ABCI server on config.abci_addr. Returns null
  // with `*error` set when the store cannot be opened (e.g. locked by another
  // ledgerd) or the address cannot be bound.
  static std::unique_ptr<Node> Start(const Config& config, std::string* error);

  // Shuts down if still running.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The port the ABCI server listens on.
  int abci_port() const { return abci_server_->port(); }

  // Stops the servers (calls in flight get until `grace` to finish), then
  // closes the store. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  Node() = default;

  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  std::unique_ptr<abci::AbciService> abci_service_;
  std::unique_ptr<abci::Server> abci_server_;
};

}  // namespace node

#endif  // NODE_NODE_H_
