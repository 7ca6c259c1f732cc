#include "api/comet_rpc_submitter.h"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "api/comet_rpc_messages.h"
#include "api/rpc_connection.h"
#include "api/thread_annotations.h"

namespace api {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;

struct PendingSubmission {
  std::string body;  // the JSON-RPC request
  BroadcastMode mode = BroadcastMode::kAsync;
  SubmitCallback done;
  bool resent = false;  // already sent again after a stale connection
};

}  // namespace

// The connections and the submissions waiting for one. Connections are
// created on demand up to max_connections and reused; a closed one
// reconnects on its next request.
class CometRpcSubmitter::Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(net::io_context& io_context, CometRpcOptions options, RpcEndpoint endpoint)
      : io_context_(io_context), options_(std::move(options)), endpoint_(std::move(endpoint)) {}

  void Submit(PendingSubmission submission) {
    std::shared_ptr<RpcConnection> connection;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        // Falls through to the failure below.
      } else if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      } else if (created_ < options_.max_connections) {
        connection =
            std::make_shared<RpcConnection>(io_context_, endpoint_, options_.connect_timeout);
        ++created_;
      } else if (waiting_.size() < options_.max_waiting) {
        waiting_.push_back(std::move(submission));
        return;
      }
    }
    if (!connection) {
      submission.done(SubmitResult::Failure(
          SubmitOutcome::kUnavailable,
          "Too many transactions waiting for CometBFT's RPC; try again later"));
      return;
    }
    Send(std::move(connection), std::move(submission));
  }

  void Stop() {
    std::vector<std::shared_ptr<RpcConnection>> idle;
    std::deque<PendingSubmission> waiting;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      idle.swap(idle_);
      waiting.swap(waiting_);
    }
    for (const auto& connection : idle) connection->Close();
    for (PendingSubmission& submission : waiting) {
      submission.done(
          SubmitResult::Failure(SubmitOutcome::kEngineError, "ledgerd is shutting down"));
    }
  }

 private:
  void Send(std::shared_ptr<RpcConnection> connection, PendingSubmission submission) {
    const auto timeout = submission.mode == BroadcastMode::kCommit ? options_.commit_timeout
                                                                   : options_.request_timeout;
    std::string body = submission.body;  // kept in `submission` for a resend
    RpcConnection* raw = connection.get();
    raw->Post(std::move(body), timeout,
              [self = shared_from_this(), connection = std::move(connection),
               submission = std::move(submission)](const RpcExchange& exchange) mutable {
                self->OnExchange(std::move(connection), std::move(submission), exchange);
              });
  }

  void OnExchange(std::shared_ptr<RpcConnection> connection, PendingSubmission submission,
                  const RpcExchange& exchange) {
    if (exchange.error && exchange.stale && !submission.resent) {
      // The connection reconnects on this Post.
      submission.resent = true;
      Send(std::move(connection), std::move(submission));
      return;
    }
    SubmitResult result =
        exchange.error ? NetworkFailure(exchange, submission.mode)
                       : InterpretBroadcastReply(submission.mode, exchange.status, exchange.body);
    Release(std::move(connection));
    submission.done(std::move(result));
  }

  // Hands `connection` to the next waiting submission, or parks it.
  void Release(std::shared_ptr<RpcConnection> connection) {
    PendingSubmission next;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        connection->Close();
        return;
      }
      if (waiting_.empty()) {
        idle_.push_back(std::move(connection));
        return;
      }
      next = std::move(waiting_.front());
      waiting_.pop_front();
    }
    Send(std::move(connection), std::move(next));
  }

  SubmitResult NetworkFailure(const RpcExchange& exchange, BroadcastMode mode) const {
    const beast::error_code& ec = exchange.error;
    const bool connecting = exchange.phase == RpcExchange::Phase::kConnect;
    if (ec == beast::error::timeout) {
      if (connecting) {
        return SubmitResult::Failure(SubmitOutcome::kTimeout,
                                     "CometBFT RPC at " + endpoint_.url +
                                         " did not accept a connection within " +
                                         std::to_string(options_.connect_timeout.count()) + " ms");
      }
      if (mode == BroadcastMode::kCommit) {
        return SubmitResult::Failure(SubmitOutcome::kTimeout,
                                     "Transaction was not committed within " +
                                         std::to_string(options_.commit_timeout.count()) +
                                         " ms; it may still be");
      }
      return SubmitResult::Failure(SubmitOutcome::kTimeout,
                                   "No answer from CometBFT RPC at " + endpoint_.url + " within " +
                                       std::to_string(options_.request_timeout.count()) + " ms");
    }
    if (ec == net::error::connection_refused) {
      return SubmitResult::Failure(
          SubmitOutcome::kEngineError,
          "CometBFT RPC at " + endpoint_.url + " refused the connection; is CometBFT running?");
    }
    return SubmitResult::Failure(
        SubmitOutcome::kEngineError,
        std::string(connecting ? "Cannot connect to" : "Lost connection to") + " CometBFT RPC at " +
            endpoint_.url + ": " + ec.message());
  }

  net::io_context& io_context_;
  const CometRpcOptions options_;
  const RpcEndpoint endpoint_;
  std::mutex mutex_;
  bool stopped_ LEDGERD_GUARDED_BY(mutex_) = false;
  size_t created_ LEDGERD_GUARDED_BY(mutex_) = 0;
  std::vector<std::shared_ptr<RpcConnection>> idle_ LEDGERD_GUARDED_BY(mutex_);
  std::deque<PendingSubmission> waiting_ LEDGERD_GUARDED_BY(mutex_);
};

std::unique_ptr<CometRpcSubmitter> CometRpcSubmitter::Create(net::io_context& io_context,
                                                             CometRpcOptions options,
                                                             std::string* error) {
  std::optional<RpcEndpoint> endpoint = ParseRpcUrl(options.url, error);
  if (!endpoint) return nullptr;
  if (options.max_connections == 0) {
    *error = "CometBFT RPC max_connections must be at least 1";
    return nullptr;
  }
  return std::unique_ptr<CometRpcSubmitter>(new CometRpcSubmitter(
      std::make_shared<Pool>(io_context, std::move(options), std::move(*endpoint))));
}

CometRpcSubmitter::CometRpcSubmitter(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

CometRpcSubmitter::~CometRpcSubmitter() { pool_->Stop(); }

void CometRpcSubmitter::Submit(std::string tx, BroadcastMode mode, SubmitCallback done) {
  const uint64_t id = next_request_id_.fetch_add(1, std::memory_order_relaxed);
  pool_->Submit(PendingSubmission{BroadcastRequestBody(tx, mode, id), mode, std::move(done)});
}

}  // namespace api
