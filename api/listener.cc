#include "api/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <chrono>
#include <utility>

namespace api {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Pause before accepting again when the process is out of file descriptors,
// instead of spinning on the error.
constexpr std::chrono::milliseconds kAcceptRetryDelay(100);

}  // namespace

Listener::Listener(net::io_context& io_context, std::shared_ptr<Router> router,
                   std::shared_ptr<Metrics> metrics, std::shared_ptr<const SessionLimits> limits,
                   std::shared_ptr<OpenConnections> connections,
                   std::function<void(std::string_view)> log)
    : io_context_(io_context),
      router_(std::move(router)),
      metrics_(std::move(metrics)),
      limits_(std::move(limits)),
      connections_(std::move(connections)),
      log_(std::move(log)),
      strand_(net::make_strand(io_context)),
      acceptor_(strand_),
      retry_timer_(strand_) {}

bool Listener::Open(const tcp::endpoint& endpoint, std::string* error) {
  beast::error_code ec;
  auto fail = [&](std::string_view what) {
    *error = std::string(what) + " " + endpoint.address().to_string() + ":" +
             std::to_string(endpoint.port()) + ": " + ec.message();
    beast::error_code ignored;
    acceptor_.close(ignored);
    return false;
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open a socket for");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("cannot set SO_REUSEADDR on");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("cannot bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  return true;
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ec;
  tcp::endpoint endpoint = acceptor_.local_endpoint(ec);
  return ec ? tcp::endpoint() : endpoint;
}

void Listener::Run() {
  net::dispatch(strand_, [self = shared_from_this()] { self->DoAccept(); });
}

void Listener::Close() {
  net::post(strand_, [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::DoAccept() {
  if (!acceptor_.is_open()) return;
  // Each connection gets its own strand, so sessions run in parallel on the
  // io_context's threads while each one stays sequential.
  acceptor_.async_accept(net::make_strand(io_context_),
                         beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    if (log_) log_("http: accept failed: " + ec.message());
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space) {
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->DoAccept();
      });
      return;
    }
    DoAccept();
    return;
  }
  auto session =
      std::make_shared<HttpSession>(std::move(socket), router_, metrics_, limits_, connections_);
  const OpenConnections::Admission admission = connections_->Add(session);
  if (admission != OpenConnections::Admission::kClosed) session->Run(admission);
  DoAccept();
}

}  // namespace api
