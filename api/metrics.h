// The node's counters and gauges, served by GET /metrics in Prometheus text
// format.
#ifndef API_METRICS_H_
#define API_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "api/thread_annotations.h"
#include "ledger/committed_block.h"
#include "ledger/status.h"

namespace api {

enum class MetricType { kGauge, kCounter };

// Counts what the HTTP API sees (responses by status, local CheckTx
// outcomes, how long ?mode=commit waits) and, registered as a block observer,
// committed blocks and transactions. Other parts of the node add their own
// values with AddSampled.
//
// Thread safety: every method may be called from any thread at any time.
class Metrics : public ledger::BlockObserver {
 public:
  // Adds a metric whose value `read` returns at every scrape; `read` runs on
  // a server thread and must be thread-safe and quick (read an atomic, say).
  // Returns false and adds nothing if `name` is not a valid Prometheus metric
  // name ([a-zA-Z_:][a-zA-Z0-9_:]*) or is already taken.
  bool AddSampled(std::string name, std::string help, MetricType type,
                  std::function<double()> read);

  // Counts one HTTP response with status `status` (100..599; others are
  // ignored).
  void CountResponse(unsigned status);

  // Counts one local CheckTx verdict on a POSTed transaction.
  void CountCheckTx(const ledger::Status& status);

  // Records how long a POST with ?mode=commit waited for its block.
  void ObserveCommitWait(std::chrono::steady_clock::duration wait);

  // Counts the block and its transactions. Register with
  // ledger::Application::AddObserver to feed it.
  void OnBlockCommitted(const ledger::CommittedBlock& block) override;

  // Every metric in the Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;

  // Responses sent with status `status` since start.
  uint64_t responses_with_status(unsigned status) const;
  // Responses sent since start, all statuses.
  uint64_t responses_total() const;
  // Transactions in blocks committed since start.
  uint64_t transactions_committed() const;

 private:
  struct Sampled {
    std::string name;
    std::string help;
    MetricType type;
    std::function<double()> read;
  };

  static constexpr unsigned kMaxStatus = 600;
  static constexpr size_t kErrorCodes =
      static_cast<size_t>(ledger::ErrorCode::kThresholdTooDeep) + 1;
  // Upper bounds (seconds) of the commit-wait histogram's buckets; +Inf is
  // implied.
  static constexpr std::array<double, 10> kCommitWaitBuckets = {0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,  1,     2.5,  5,   10};

  std::array<std::atomic<uint64_t>, kMaxStatus> responses_by_status_{};
  std::array<std::atomic<uint64_t>, kErrorCodes> check_tx_by_code_{};
  std::atomic<uint64_t> blocks_committed_{0};
  std::atomic<uint64_t> transactions_committed_{0};
  std::array<std::atomic<uint64_t>, kCommitWaitBuckets.size()> commit_wait_buckets_{};
  std::atomic<uint64_t> commit_wait_count_{0};
  std::atomic<uint64_t> commit_wait_micros_{0};

  mutable std::mutex sampled_mutex_;
  std::vector<Sampled> sampled_ LEDGERD_GUARDED_BY(sampled_mutex_);
};

}  // namespace api

#endif  // API_METRICS_H_
