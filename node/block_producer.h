// The --dev block producer: a single validator standing in for CometBFT.
// It drives the same Application calls CometBFT makes (CheckTx on admission,
// FinalizeBlock + Commit per block, CheckTx RECHECK of what is left) but
// there is one node and no Byzantine fault tolerance.
//
// Thread safety: Submit may be called from any thread. Start and Stop from
// one thread.
#ifndef NODE_BLOCK_PRODUCER_H_
#define NODE_BLOCK_PRODUCER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "ledger/application.h"

namespace node {

class BlockProducer {
 public:
  struct Options {
    // At most one block per interval; a block starts as soon as a
    // transaction waits and the interval since the last block has passed.
    std::chrono::milliseconds block_interval{200};
    size_t max_block_txs = 5000;
    size_t max_mempool_txs = 20000;
  };

  // How a transaction left the mempool: committed at `height`, or refused
  // when its block executed (`status` not ok, `height` 0) or at shutdown.
  using Outcome = std::function<void(const ledger::Status& status, int64_t height)>;

  enum class Admission { kAccepted, kRejected, kAlreadyPending, kMempoolFull };

  // `app` must outlive the producer.
  BlockProducer(ledger::Application* app, Options options);
  ~BlockProducer();
  BlockProducer(const BlockProducer&) = delete;
  BlockProducer& operator=(const BlockProducer&) = delete;

  // Runs CheckTx on `raw`. Accepted transactions wait in the mempool and
  // `outcome` (may be empty) is called exactly once, from the producer
  // thread, when they leave it. Rejections return kRejected with the reason
  // in `*status`; a transaction already waiting returns kAlreadyPending, a
  // full mempool kMempoolFull. `outcome` is not called for any of these.
  Admission Submit(std::string raw, Outcome outcome, ledger::Status* status);

  // Starts producing blocks. Records a chain id on a fresh store.
  void Start();

  // Finishes the block in progress, then stops; transactions still waiting
  // get their outcome with a "node shutting down" status.
  void Stop();

  size_t mempool_size() const;

 private:
  struct Pending {
    std::string raw;
    std::string id;
    Outcome outcome;
  };

  void Run();
  void ProduceBlock(std::deque<Pending> batch);
  void Recheck();

  ledger::Application* app_;
  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> mempool_;        // guarded by mutex_
  std::set<std::string> mempool_ids_;  // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  std::thread thread_;
};

}  // namespace node

#endif  // NODE_BLOCK_PRODUCER_H_
