// The BigchainDB-compatible HTTP API (DESIGN.md §6) on Boost.Beast.
#ifndef API_HTTP_API_H_
#define API_HTTP_API_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/metrics.h"
#include "api/transaction_submitter.h"
#include "ledger/application.h"
#include "ledger/block_store.h"

namespace api {

struct HttpApiOptions {
  // "host:port" to listen on; host is an IP address ("[::1]" for IPv6) or a
  // name resolved once at Start. Port 0 picks a free port (see port()).
  std::string listen_address = "127.0.0.1:9984";
  // The event stream's URL, served as "streams" by GET / and GET /api/v1/
  // (wss://... behind a TLS proxy).
  std::string advertised_ws_url = "ws://localhost:9985/api/v1/streams/valid_transactions";
  // Served as "docs": the API ledgerd implements.
  std::string docs_url =
      "https://docs.bigchaindb.com/projects/server/en/v2.2.2/http-client-server-api.html";
  // "version" of GET /; empty means this build's version.
  std::string version;
  // A larger request body is answered 413 (BigchainDB's transaction limit).
  size_t body_limit = 1 << 20;
  // A larger request line plus headers is answered 431.
  size_t header_limit = 8 << 10;
  // A request must arrive whole within this (slowloris clients and idle
  // keep-alive connections are closed when it passes).
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // Writing one response must take no longer.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  // Connections served at once; a further one is answered 503 and closed.
  size_t max_connections = 1024;
  // Default and largest `limit` of the search endpoints.
  size_t max_search_results = 1000;
  // Receives one line per unexpected server event (accept failures); null
  // discards them.
  std::function<void(std::string_view)> log;
};

// Serves the API on the caller's io_context: the node runs that io_context
// on as many threads as it likes; each connection is served on its own
// strand.
//
// Thread safety: Start, Stop and port() from any one thread at a time;
// metrics() from any thread.
class HttpApi {
 public:
  // `io_context`, `app`, `store` and `submitter` must outlive the HttpApi
  // and every connection it served: stop the io_context (join its threads)
  // before destroying them.
  HttpApi(boost::asio::io_context& io_context, ledger::Application& app,
          const ledger::BlockStore& store, TransactionSubmitter& submitter,
          HttpApiOptions options = {});
  // Stops if still running.
  ~HttpApi();

  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds and listens on options.listen_address and starts accepting (on the
  // io_context's threads). Returns false with `*error` (bad address, port in
  // use) and serves nothing. Call at most once.
  bool Start(std::string* error);

  // Stops accepting and closes every connection, abandoning requests in
  // progress (a POST still waiting for its submitter gets no answer).
  // Returns without waiting for the io_context. Idempotent.
  void Stop();

  // The bound port once started (useful with port 0), else 0.
  uint16_t port() const { return port_; }

  // The counters behind GET /metrics; it already samples ledgerd_height and
  // ledgerd_http_connections. Register it as a block observer
  // (app.AddObserver(api.metrics().get())) to count committed blocks and
  // transactions, holding the shared_ptr for as long as the Application may
  // commit; add other components' values with AddSampled.
  const std::shared_ptr<Metrics>& metrics() const { return metrics_; }

 private:
  struct Shared;

  boost::asio::io_context& io_context_;
  const HttpApiOptions options_;
  const std::shared_ptr<Metrics> metrics_;
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace api

#endif  // API_HTTP_API_H_
