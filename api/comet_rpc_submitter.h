// Submits transactions to CometBFT through its JSON-RPC broadcast_tx_* calls.
#ifndef API_COMET_RPC_SUBMITTER_H_
#define API_COMET_RPC_SUBMITTER_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/transaction_submitter.h"

namespace api {

struct CometRpcOptions {
  // CometBFT's RPC address: http://host:port[/path] (tcp:// also accepted).
  std::string url = "http://127.0.0.1:26657";
  // Establishing a connection must take no longer; past it: 504.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  // The reply to broadcast_tx_async and _sync must arrive within this.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(15);
  // The reply to broadcast_tx_commit must arrive within this. Keep it above
  // CometBFT's own timeout_broadcast_tx_commit (10 s by default), so that
  // CometBFT's answer, not ours, says what happened.
  std::chrono::milliseconds commit_timeout = std::chrono::seconds(60);
  // Requests in flight at once, one kept-alive connection each.
  size_t max_connections = 8;
  // Submissions waiting for a connection; beyond this Submit answers 503.
  size_t max_waiting = 10'000;
};

// A TransactionSubmitter backed by CometBFT's RPC: each Submit POSTs
// {"jsonrpc":"2.0","method":"broadcast_tx_<mode>","params":{"tx":"<base64>"}}
// over a pool of kept-alive connections and maps the answer
// (InterpretBroadcastReply in comet_rpc_messages.h). Connection refused or
// failed → kEngineError (502); no connection or reply in time → kTimeout
// (504). A request that fails on a kept-alive connection the server had
// closed while idle is sent once more on a fresh one.
//
// Thread safety: Submit may be called from any number of threads at once.
// Callbacks run on the io_context's threads.
class CometRpcSubmitter : public TransactionSubmitter {
 public:
  // Returns null with `*error` if options.url is not a usable http:// URL.
  // `io_context` must outlive the submitter and be run by the caller.
  static std::unique_ptr<CometRpcSubmitter> Create(boost::asio::io_context& io_context,
                                                   CometRpcOptions options, std::string* error);

  // Closes idle connections; submissions still waiting for a connection are
  // answered kEngineError. Requests in flight finish on the io_context.
  ~CometRpcSubmitter() override;

  CometRpcSubmitter(const CometRpcSubmitter&) = delete;
  CometRpcSubmitter& operator=(const CometRpcSubmitter&) = delete;

  void Submit(std::string tx, BroadcastMode mode, SubmitCallback done) override;

 private:
  class Pool;
  explicit CometRpcSubmitter(std::shared_ptr<Pool> pool);

  std::shared_ptr<Pool> pool_;
  std::atomic<uint64_t> next_request_id_{1};  // JSON-RPC "id"
};

}  // namespace api

#endif  // API_COMET_RPC_SUBMITTER_H_
