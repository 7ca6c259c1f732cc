#include "cli/node_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <tuple>

namespace cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

bool ParseUrl(const std::string& url, const std::string& expected_scheme, Endpoint* endpoint,
              std::string* error) {
  std::string prefix = expected_scheme + "://";
  if (url.rfind(prefix, 0) != 0) {
    *error = "\"" + url + "\" does not start with " + prefix;
    return false;
  }
  std::string rest = url.substr(prefix.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  endpoint->path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    endpoint->host = authority;
    endpoint->port = expected_scheme == "ws" || expected_scheme == "http" ? "80" : "443";
  } else {
    endpoint->host = authority.substr(0, colon);
    endpoint->port = authority.substr(colon + 1);
    if (endpoint->port.empty() || endpoint->port.size() > 5 ||
        endpoint->port.find_first_not_of("0123456789") != std::string::npos) {
      *error = "bad port in \"" + url + "\"";
      return false;
    }
  }
  if (endpoint->host.empty()) {
    *error = "no host in \"" + url + "\"";
    return false;
  }
  return true;
}

bool HttpRequest(const Endpoint& endpoint, const std::string& method, const std::string& target,
                 const std::string& body, std::chrono::seconds timeout, HttpResponse* response,
                 std::string* error) {
  try {
    net::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(endpoint.host, endpoint.port));

    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, endpoint.host);
    request.set(http::field::user_agent, "ledgerctl");
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    http::write(stream, request);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    response->status = parser.get().result_int();
    response->body = parser.get().body();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return true;
  } catch (const boost::system::system_error& e) {
    *error = "cannot reach http://" + endpoint.host + ":" + endpoint.port + ": " +
             e.code().message();
    return false;
  }
}

namespace {

// Reads the subscription until it ends; see Watch.
net::awaitable<void> RunWatch(const Endpoint& endpoint,
                              const std::function<bool(const std::string&)>& on_message,
                              std::chrono::milliseconds idle_timeout, WatchEnd* end) {
  auto no_throw = net::as_tuple(net::use_awaitable);
  const auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  websocket::stream<beast::tcp_stream> ws(executor);
  // Until the upgrade is answered, the whole exchange must fit in the
  // timeout: a node that accepts and stays silent is as good as down.
  beast::get_lowest_layer(ws).expires_after(idle_timeout);
  auto [resolve_ec, results] =
      co_await resolver.async_resolve(endpoint.host, endpoint.port, no_throw);
  beast::error_code ec = resolve_ec;
  if (!ec) {
    std::tie(ec, std::ignore) =
        co_await beast::get_lowest_layer(ws).async_connect(results, no_throw);
  }
  if (ec) {
    end->error = "cannot connect to " + endpoint.host + ":" + endpoint.port + ": " + ec.message();
    co_return;
  }
  websocket::response_type refusal;
  std::tie(ec) = co_await ws.async_handshake(refusal, endpoint.host + ":" + endpoint.port,
                                             endpoint.path, no_throw);
  if (ec == websocket::error::upgrade_declined) {
    end->refused_status = static_cast<int>(refusal.result_int());
    end->error = "the stream refused the subscription (HTTP " +
                 std::to_string(end->refused_status) + " " + refusal.body() + ")";
    co_return;
  }
  if (ec) {
    end->error = ec == beast::error::timeout ? "the stream did not answer the upgrade within " +
                                                   std::to_string(idle_timeout.count()) + " ms"
                                             : "the upgrade failed: " + ec.message();
    co_return;
  }
  // From here on Beast pings a silent node after half the timeout and gives
  // up on it when the whole timeout passes without a frame.
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = idle_timeout;
  timeouts.idle_timeout = idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  beast::flat_buffer buffer;
  while (true) {
    std::tie(ec, std::ignore) = co_await ws.async_read(buffer, no_throw);
    if (ec == websocket::error::closed) {
      const websocket::close_reason& reason = ws.reason();
      end->finished = reason.code == websocket::close_code::normal;
      if (!end->finished) {
        end->error = "the stream closed with code " + std::to_string(reason.code) + ": " +
                     std::string(reason.reason.data(), reason.reason.size());
      }
      co_return;
    }
    if (ec) {
      end->error = ec == beast::error::timeout
                       ? "the stream was silent for " + std::to_string(idle_timeout.count()) + " ms"
                       : "the stream connection failed: " + ec.message();
      co_return;
    }
    std::string message = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    if (!on_message(message)) {
      std::tie(ec) = co_await ws.async_close(websocket::close_code::normal, no_throw);
      end->finished = true;
      co_return;
    }
  }
}

}  // namespace

WatchEnd Watch(const Endpoint& endpoint, const std::function<bool(const std::string&)>& on_message,
               std::chrono::milliseconds idle_timeout) {
  WatchEnd end;
  net::io_context io;
  net::co_spawn(io, RunWatch(endpoint, on_message, idle_timeout, &end), net::detached);
  io.run();
  return end;
}

}  // namespace cli
