#include "stream/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <utility>

#include "stream/http_session.h"

namespace stream {
namespace {

using tcp = net::ip::tcp;

// After a failed accept (typically: out of file descriptors), wait this long
// before the next, rather than spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay(100);

}  // namespace

Listener::Listener(net::io_context& io_context, net::ssl::context* tls,
                   std::shared_ptr<Broadcaster> broadcaster,
                   const ledger::CommittedBlockSource& blocks, TransactionLocator locate,
                   std::shared_ptr<const EventStreamOptions> options)
    : io_context_(io_context),
      tls_(tls),
      broadcaster_(std::move(broadcaster)),
      blocks_(blocks),
      locate_(std::move(locate)),
      options_(std::move(options)),
      strand_(net::make_strand(io_context)),
      acceptor_(strand_),
      retry_timer_(strand_) {}

bool Listener::Open(const tcp::endpoint& endpoint, std::string* error) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + endpoint.address().to_string() + ":" +
             std::to_string(endpoint.port()) + ": " + ec.message();
    acceptor_.close(ec);
    return false;
  }
  return true;
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::Run() {
  net::dispatch(strand_, beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
}

void Listener::Close() {
  net::dispatch(strand_, [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::DoAccept() {
  if (!acceptor_.is_open()) return;
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(io_context_),
                         beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;  // closed
  if (ec) {
    if (options_->log) options_->log("event stream: accept: " + ec.message());
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
    return;
  }
  StartSession(std::move(socket));
  DoAccept();
}

void Listener::StartSession(tcp::socket socket) {
  beast::error_code ignored;
  // Blocks go out in large batches; the last segment of one must not wait
  // for an acknowledgement.
  socket.set_option(tcp::no_delay(true), ignored);
  if (options_->socket_send_buffer_bytes > 0) {
    socket.set_option(net::socket_base::send_buffer_size(options_->socket_send_buffer_bytes),
                      ignored);
  }
  if (tls_ != nullptr) {
    std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
        beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls_), broadcaster_, blocks_,
        options_, locate_)
        ->Run();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                     broadcaster_, blocks_, options_, locate_)
        ->Run();
  }
}

}  // namespace stream
