#include "api/rpc_connection.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <utility>

namespace api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// CometBFT's answers are small, but broadcast_tx_commit echoes the
// transaction's events; leave generous room.
constexpr size_t kMaxReplyBytes = 8 << 20;

}  // namespace

std::optional<RpcEndpoint> ParseRpcUrl(std::string_view url, std::string* error) {
  RpcEndpoint endpoint;
  endpoint.url = std::string(url);
  std::string_view rest;
  for (std::string_view scheme : {"http://", "tcp://"}) {
    if (url.substr(0, scheme.size()) == scheme) rest = url.substr(scheme.size());
  }
  if (rest.empty()) {
    *error = "CometBFT RPC URL \"" + std::string(url) + "\" must start with http://";
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  endpoint.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  endpoint.host_header = std::string(authority);

  std::string_view host = authority;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {
    // An IPv6 address: "[::1]" or "[::1]:26657".
    const size_t close = authority.find(']');
    std::string_view after =
        close == std::string_view::npos ? std::string_view() : authority.substr(close + 1);
    const bool well_formed =
        close != std::string_view::npos && (after.empty() || after.front() == ':');
    host = well_formed ? authority.substr(1, close - 1) : std::string_view();
    if (!after.empty()) port = after.substr(1);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  unsigned port_number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || port_number == 0 ||
      port_number > 65535) {
    *error = "CometBFT RPC URL \"" + std::string(url) + "\" has no valid host:port";
    return std::nullopt;
  }
  endpoint.host = std::string(host);
  endpoint.port = std::to_string(port_number);
  return endpoint;
}

RpcConnection::RpcConnection(net::io_context& io_context, const RpcEndpoint& endpoint,
                             std::chrono::milliseconds connect_timeout)
    : endpoint_(endpoint),
      connect_timeout_(connect_timeout),
      stream_(net::make_strand(io_context)),
      resolver_(stream_.get_executor()) {}

void RpcConnection::Post(std::string json_body, std::chrono::milliseconds timeout,
                         std::function<void(RpcExchange)> done) {
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), body = std::move(json_body),
                                         timeout, done = std::move(done)]() mutable {
    self->done_ = std::move(done);
    self->timeout_ = timeout;
    self->request_ = {http::verb::post, self->endpoint_.target, 11};
    self->request_.set(http::field::host, self->endpoint_.host_header);
    self->request_.set(http::field::user_agent, "ledgerd");
    self->request_.set(http::field::content_type, "application/json");
    self->request_.set(http::field::accept, "application/json");
    self->request_.keep_alive(true);
    self->request_.body() = std::move(body);
    self->request_.prepare_payload();
    self->reused_ = self->connected_;
    if (self->connected_) {
      self->DoWrite();
      return;
    }
    self->stream_.expires_after(self->connect_timeout_);
    self->resolver_.async_resolve(self->endpoint_.host, self->endpoint_.port,
                                  beast::bind_front_handler(&RpcConnection::OnResolve, self));
  });
}

void RpcConnection::Close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->resolver_.cancel();
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    self->stream_.close();
    self->connected_ = false;
  });
}

void RpcConnection::OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (ec) return Finish(ec, RpcExchange::Phase::kConnect, /*stale=*/false);
  stream_.async_connect(results,
                        beast::bind_front_handler(&RpcConnection::OnConnect, shared_from_this()));
}

void RpcConnection::OnConnect(beast::error_code ec, tcp::endpoint) {
  if (ec) return Finish(ec, RpcExchange::Phase::kConnect, /*stale=*/false);
  connected_ = true;
  beast::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
  DoWrite();
}

void RpcConnection::DoWrite() {
  buffer_.clear();
  stream_.expires_after(timeout_);
  http::async_write(stream_, request_,
                    beast::bind_front_handler(&RpcConnection::OnWrite, shared_from_this()));
}

void RpcConnection::OnWrite(beast::error_code ec, size_t) {
  if (ec) return Finish(ec, RpcExchange::Phase::kExchange, /*stale=*/reused_);
  parser_.emplace();
  parser_->body_limit(kMaxReplyBytes);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&RpcConnection::OnRead, shared_from_this()));
}

void RpcConnection::OnRead(beast::error_code ec, size_t) {
  if (ec) {
    return Finish(ec, RpcExchange::Phase::kExchange,
                  /*stale=*/reused_ && ec != beast::error::timeout && !parser_->got_some());
  }
  stream_.expires_never();
  http::response<http::string_body> reply = parser_->release();
  if (!reply.keep_alive()) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
  }
  RpcExchange exchange;
  exchange.status = reply.result_int();
  exchange.body = std::move(reply.body());
  std::function<void(RpcExchange)> done = std::move(done_);
  done(std::move(exchange));
}

void RpcConnection::Finish(beast::error_code ec, RpcExchange::Phase phase, bool stale) {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  connected_ = false;
  RpcExchange exchange;
  exchange.error = ec;
  exchange.phase = phase;
  exchange.stale = stale;
  std::function<void(RpcExchange)> done = std::move(done_);
  done(std::move(exchange));
}

}  // namespace api
