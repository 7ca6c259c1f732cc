// A ledger on its own LevelDB store whose ABCI services, one per engine line
// (abci/engine_apis.cc), are served over gRPC on a loopback port exactly as
// ledgerd serves them, so that tests call them with the generated stubs
// over a real channel: the proof of wire compatibility.
#ifndef TESTS_ABCI_SERVED_LEDGER_H_
#define TESTS_ABCI_SERVED_LEDGER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "abci/engine_service.h"
#include "abci/responder.h"
#include "abci/server.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/committed_block.h"
#include "ledger/snapshot.h"

namespace ledger_test {

// Thread safety: construct, Reopen and destroy from one thread; the log and
// committed blocks may be read while gRPC threads add to them.
class ServedLedger {
 public:
  // Opens the store in `dir` (which must outlive this) and serves it,
  // taking a state-sync snapshot every `snapshot_interval` heights (none for
  // 0) and restoring from snapshots offered; a failure is a fatal test
  // failure.
  explicit ServedLedger(std::string dir, int64_t snapshot_interval = 0);
  ~ServedLedger();
  ServedLedger(const ServedLedger&) = delete;
  ServedLedger& operator=(const ServedLedger&) = delete;

  // Shuts the server down and opens everything again on the same directory,
  // as a restarted process would; the port (and so the channel) changes,
  // the log and the committed blocks are kept.
  void Reopen();

  // A new channel to the current server.
  std::shared_ptr<grpc::Channel> Channel() const;

  const ledger::BlockStore& store() const { return *store_; }
  ledger::Application& app() { return *app_; }
  ledger::SnapshotStore& snapshots() { return *snapshots_; }

  // The lines logged at `severity` so far, oldest first.
  std::vector<std::string> LogLinesAt(abci::LogSeverity severity) const;

  // Every block the Application reported committed, in order.
  std::vector<ledger::CommittedBlock> CommittedBlocks() const;

 private:
  // Records what the Application reports committed.
  class Recorder : public ledger::BlockObserver {
   public:
    void OnBlockCommitted(const ledger::CommittedBlock& block) override;
    std::vector<ledger::CommittedBlock> blocks() const;

   private:
    mutable std::mutex mutex_;
    std::vector<ledger::CommittedBlock> blocks_;  // guarded by mutex_
  };

  void Open();
  void Close();

  const std::string dir_;
  const int64_t snapshot_interval_;
  Recorder recorder_;
  mutable std::mutex log_mutex_;
  std::vector<std::pair<abci::LogSeverity, std::string>> log_;  // guarded by log_mutex_
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  std::unique_ptr<ledger::SnapshotStore> snapshots_;
  std::unique_ptr<abci::Responder> responder_;
  std::vector<std::unique_ptr<abci::EngineService>> services_;
  std::unique_ptr<abci::Server> server_;
};

// Calls `method` of `stub` with `request` and a deadline far above what any
// call here needs, filling `*response`.
template <class Stub, class Request, class Response>
grpc::Status Call(Stub& stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return (stub.*method)(&context, request, response);
}

}  // namespace ledger_test

#endif  // TESTS_ABCI_SERVED_LEDGER_H_
