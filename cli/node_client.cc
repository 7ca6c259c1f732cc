#include "cli/node_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

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

WatchEnd Watch(const Endpoint& endpoint,
               const std::function<bool(const std::string&)>& on_message) {
  WatchEnd end;
  net::io_context io;
  tcp::resolver resolver(io);
  websocket::stream<tcp::socket> ws(io);
  beast::error_code ec;
  auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (!ec) net::connect(ws.next_layer(), results, ec);
  if (ec) {
    end.error = "cannot connect to " + endpoint.host + ":" + endpoint.port + ": " + ec.message();
    return end;
  }
  websocket::response_type refusal;
  ws.handshake(refusal, endpoint.host + ":" + endpoint.port, endpoint.path, ec);
  if (ec) {
    end.refused_status = static_cast<int>(refusal.result_int());
    end.error = "the stream refused the subscription";
    if (end.refused_status != 0) {
      end.error += " (HTTP " + std::to_string(end.refused_status) + " " + refusal.body() + ")";
    } else {
      end.error += ": " + ec.message();
    }
    return end;
  }
  beast::flat_buffer buffer;
  while (true) {
    ws.read(buffer, ec);
    if (ec == websocket::error::closed) {
      const websocket::close_reason& reason = ws.reason();
      end.finished = reason.code == websocket::close_code::normal;
      if (!end.finished) {
        end.error = "the stream closed with code " + std::to_string(reason.code) + ": " +
                    std::string(reason.reason.data(), reason.reason.size());
      }
      return end;
    }
    if (ec) {
      end.error = "the stream connection failed: " + ec.message();
      return end;
    }
    std::string message = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    if (!on_message(message)) {
      ws.close(websocket::close_code::normal, ec);
      end.finished = true;
      return end;
    }
  }
}

}  // namespace cli
