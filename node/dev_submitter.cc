#include "node/dev_submitter.h"

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "api/reply.h"

namespace node {
namespace {

std::string Refusal(const ledger::Status& status) {
  return api::InvalidTransactionMessage(status.name(), status.message());
}

// Whichever answers first, the commit or the timer, answers the client.
struct PendingCommit {
  PendingCommit(boost::asio::io_context& io_context, api::SubmitCallback callback)
      : timer(io_context), done(std::move(callback)) {}

  void Answer(api::SubmitResult result) {
    if (answered.exchange(true)) return;
    done(std::move(result));
  }

  std::atomic<bool> answered{false};
  boost::asio::steady_timer timer;
  api::SubmitCallback done;
};

}  // namespace

DevSubmitter::DevSubmitter(BlockProducer* producer, boost::asio::io_context& io_context,
                           std::chrono::milliseconds commit_timeout)
    : producer_(producer), io_context_(io_context), commit_timeout_(commit_timeout) {}

void DevSubmitter::Submit(std::string tx, api::BroadcastMode mode, api::SubmitCallback done) {
  std::shared_ptr<PendingCommit> pending;
  BlockProducer::Outcome outcome;
  if (mode == api::BroadcastMode::kCommit) {
    pending = std::make_shared<PendingCommit>(io_context_, std::move(done));
    outcome = [pending](const ledger::Status& status, int64_t height) {
      boost::system::error_code ignored;
      pending->timer.cancel(ignored);
      if (height > 0) {
        pending->Answer(api::SubmitResult::Accepted());
      } else {
        pending->Answer(api::SubmitResult::Failure(
            api::SubmitOutcome::kRejected, "Transaction failed when its block executed: " +
                                               Refusal(status)));
      }
    };
  }
  ledger::Status status;
  BlockProducer::Admission admission = producer_->Submit(std::move(tx), outcome, &status);
  api::SubmitResult refusal;
  switch (admission) {
    case BlockProducer::Admission::kAccepted:
      if (!pending) {
        done(api::SubmitResult::Accepted());
        return;
      }
      pending->timer.expires_after(commit_timeout_);
      pending->timer.async_wait([pending](const boost::system::error_code& ec) {
        if (ec) return;
        pending->Answer(api::SubmitResult::Failure(
            api::SubmitOutcome::kTimeout,
            "Transaction was not committed in time; it is still in the mempool and may be"));
      });
      return;
    case BlockProducer::Admission::kMempoolFull:
      refusal = api::SubmitResult::Failure(api::SubmitOutcome::kUnavailable,
                                           "The mempool is full; retry later");
      break;
    case BlockProducer::Admission::kAlreadyPending:
      refusal = api::SubmitResult::Failure(api::SubmitOutcome::kAlreadyPending, Refusal(status));
      break;
    case BlockProducer::Admission::kRejected:
      refusal = api::SubmitResult::Failure(api::SubmitOutcome::kRejected, Refusal(status));
      break;
  }
  if (pending) {
    pending->Answer(std::move(refusal));
  } else {
    done(std::move(refusal));
  }
}

}  // namespace node
