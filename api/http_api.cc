#include "api/http_api.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

#include "api/endpoints.h"
#include "api/listener.h"
#include "api/open_connections.h"
#include "api/router.h"

namespace api {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Splits "host:port" ("[v6]:port" for IPv6). Returns false on any other form.
bool SplitHostPort(std::string_view address, std::string* host, std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) return false;
  std::string_view host_part = address.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' && host_part.back() == ']') {
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  if (host_part.empty()) return false;
  *host = std::string(host_part);
  *port = std::string(address.substr(colon + 1));
  return true;
}

// The endpoint `address` names. Returns false with `*error` if it is
// malformed or its host does not resolve.
bool ResolveListenAddress(const std::string& address, tcp::endpoint* endpoint, std::string* error) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    *error = "listen address \"" + address + "\" is not host:port";
    return false;
  }
  net::io_context resolver_context;
  tcp::resolver resolver(resolver_context);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    *error = "cannot resolve listen address \"" + address +
             "\": " + (ec ? ec.message() : std::string("no address"));
    return false;
  }
  *endpoint = results.begin()->endpoint();
  return true;
}

}  // namespace

// The parts the HttpApi hands to its listener and sessions. They hold them
// by shared_ptr, so destroying the HttpApi never pulls anything from under a
// handler still queued on the io_context.
struct HttpApi::Shared {
  Shared(ledger::Application& app, const ledger::BlockStore& store, TransactionSubmitter& submitter,
         std::shared_ptr<Metrics> metrics, const HttpApiOptions& options)
      : router(std::make_shared<Router>(std::make_shared<Endpoints>(
            app, store, submitter, std::move(metrics),
            EndpointSettings{options.version.empty() ? LEDGERD_VERSION : options.version,
                             options.docs_url, options.advertised_ws_url,
                             options.max_search_results}))),
        connections(std::make_shared<OpenConnections>(options.max_connections)),
        limits(std::make_shared<SessionLimits>(
            SessionLimits{options.body_limit, options.header_limit, options.read_timeout,
                          options.write_timeout})) {}

  std::shared_ptr<Router> router;
  std::shared_ptr<OpenConnections> connections;
  std::shared_ptr<const SessionLimits> limits;
  std::shared_ptr<Listener> listener;
};

HttpApi::HttpApi(net::io_context& io_context, ledger::Application& app,
                 const ledger::BlockStore& store, TransactionSubmitter& submitter,
                 HttpApiOptions options)
    : io_context_(io_context),
      options_(std::move(options)),
      metrics_(std::make_shared<Metrics>()),
      shared_(std::make_shared<Shared>(app, store, submitter, metrics_, options_)) {
  metrics_->AddSampled("ledgerd_height", "Height of the last committed block.", MetricType::kGauge,
                       [&store] { return static_cast<double>(store.LastHeight()); });
  metrics_->AddSampled("ledgerd_http_connections", "HTTP connections being served.",
                       MetricType::kGauge, [connections = shared_->connections] {
                         return static_cast<double>(connections->admitted());
                       });
}

HttpApi::~HttpApi() { Stop(); }

bool HttpApi::Start(std::string* error) {
  tcp::endpoint endpoint;
  if (!ResolveListenAddress(options_.listen_address, &endpoint, error)) return false;
  auto listener = std::make_shared<Listener>(io_context_, shared_->router, metrics_,
                                             shared_->limits, shared_->connections, options_.log);
  if (!listener->Open(endpoint, error)) return false;
  port_ = listener->local_endpoint().port();
  shared_->listener = std::move(listener);
  shared_->listener->Run();
  return true;
}

void HttpApi::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (shared_->listener) shared_->listener->Close();
  shared_->connections->CloseAll();
}

}  // namespace api
