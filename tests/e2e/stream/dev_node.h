// `ledgerd --dev` as a child process on loopback ports, and the HTTP calls the
// event stream's end-to-end tests make to it: submitting transactions, asking
// which block holds one, reading metrics.
#ifndef TESTS_E2E_STREAM_DEV_NODE_H_
#define TESTS_E2E_STREAM_DEV_NODE_H_

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/ledgerd_process.h"

namespace ledgerd_e2e {

// An HTTP/1.1 client on one kept-alive connection to 127.0.0.1:`port`.
// Every request gives up after the stream tests' wait timeout.
//
// Thread safety: not thread-safe; use one client per thread.
class HttpClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  explicit HttpClient(uint16_t port);

  // Sends `verb target` with `body` (as application/json when not empty) and
  // returns the response. When the server had closed the kept-alive
  // connection, reconnects and sends once more. Returns a response with
  // status 0 if none arrived.
  Response Request(boost::beast::http::verb verb, const std::string& target,
                   const std::string& body = "");

 private:
  bool Connect();
  // Runs the io_context until its work is done or the timeout passes.
  void Run();

  const uint16_t port_;
  boost::asio::io_context io_context_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

// One `ledgerd --dev` on a data directory and two free loopback ports (HTTP
// API and event stream), kept across restarts.
//
// Thread safety: Start, Terminate and Kill from one thread; the HTTP helpers
// from any thread (each call opens its own connection).
class DevNode {
 public:
  // `flags` are added after --dev, --data-dir, --http-addr, --ws-addr and
  // --log-level; the child's stderr goes to `log_path`.
  DevNode(std::string data_dir, std::string log_path, std::vector<std::string> flags = {});
  ~DevNode();
  DevNode(const DevNode&) = delete;
  DevNode& operator=(const DevNode&) = delete;

  // Starts the process and waits until the HTTP API answers GET /health
  // (the event stream listens before the HTTP API does). Returns false if it
  // never did within the timeout.
  bool Start();

  // SIGTERM; returns the exit status (0 for a clean shutdown).
  int Terminate();

  // SIGKILL, as a crash would end it; returns once it is reaped. Start
  // brings it back on the same data directory and ports.
  void Kill();

  uint16_t http_port() const { return http_port_; }
  uint16_t ws_port() const { return ws_port_; }

  // POST /api/v1/transactions?mode=`mode` with `json`; returns the response.
  HttpClient::Response Submit(const std::string& json, const std::string& mode = "async") const;

  // The height of the block holding transaction `id`, from
  // GET /api/v1/blocks?transaction_id=; 0 when none does (or on an error).
  int64_t HeightOfTransaction(const std::string& id) const;

  // The value of the unlabelled metric `name` in GET /metrics; nullopt if
  // absent.
  std::optional<double> Metric(const std::string& name) const;

  // GET `target` on the HTTP API.
  HttpClient::Response Get(const std::string& target) const;

  // Everything the process wrote to stderr so far.
  std::string LogText() const;

 private:
  const std::string data_dir_;
  const std::string log_path_;
  const std::vector<std::string> flags_;
  const uint16_t http_port_;
  const uint16_t ws_port_;
  std::unique_ptr<LedgerdProcess> process_;
};

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_STREAM_DEV_NODE_H_
