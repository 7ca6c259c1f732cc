// A WebSocket client and a plain HTTP GET for tests of the event stream, over
// real sockets, ws:// or wss://; every wait ends after kWaitTimeout. Shared by
// the in-process stream tests and the end-to-end tests against ledgerd.
#ifndef TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_
#define TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace stream::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;

// Generous: a wait that runs out means the test failed, not that it was slow.
inline constexpr std::chrono::seconds kWaitTimeout(60);

// Polls `condition` until it holds or kWaitTimeout passes; true if it held.
inline bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A WebSocket client for tests; ws:// over beast::tcp_stream or wss:// over
// beast::ssl_stream<beast::tcp_stream>. Every wait ends after kWaitTimeout.
// Not thread-safe: use from one thread.
template <class NextLayer>
class BasicTestClient {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;

  // What a read ended with.
  struct ReadResult {
    std::optional<std::string> message;  // set for a text message
    beast::error_code error;             // else why the connection ended
  };

  template <class... TlsContext>
  explicit BasicTestClient(TlsContext&... tls) : ws_(io_context_, tls...) {
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::ping) ++pings_received_;
      if (kind == websocket::frame_type::pong) pongs_.emplace_back(payload);
    });
  }

  // Connects to 127.0.0.1:`port` with a receive buffer of
  // `receive_buffer_bytes` (0: the system's) and asks to upgrade at
  // `target`. Returns the error (websocket::error::upgrade_declined when
  // the server answered with an HTTP error; see response()).
  beast::error_code Connect(uint16_t port, const std::string& target,
                            int receive_buffer_bytes = 0) {
    beast::tcp_stream& tcp = beast::get_lowest_layer(ws_);
    tcp.socket().open(net::ip::tcp::v4());
    if (receive_buffer_bytes > 0) {
      tcp.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    }
    beast::error_code result = net::error::timed_out;
    bool done = false;
    tcp.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                      [&](beast::error_code ec) {
                        if (ec) {
                          result = ec;
                          done = true;
                          return;
                        }
                        if constexpr (kTls) {
                          ws_.next_layer().async_handshake(net::ssl::stream_base::client,
                                                           [&, port](beast::error_code tls_ec) {
                                                             if (tls_ec) {
                                                               result = tls_ec;
                                                               done = true;
                                                               return;
                                                             }
                                                             Upgrade(port, target, &result, &done);
                                                           });
                        } else {
                          Upgrade(port, target, &result, &done);
                        }
                      });
    RunUntil([&] { return done; });
    return result;
  }

  // The HTTP response to the upgrade request.
  const websocket::response_type& response() const { return response_; }

  // The next text message, or why the connection ended.
  ReadResult Read() {
    StartReadIfIdle();
    RunUntil([&] { return completed_.has_value(); });
    if (!completed_) return {std::nullopt, net::error::timed_out};
    ReadResult result = std::move(*completed_);
    completed_.reset();
    return result;
  }

  // Reads `count` messages; stops early (returning fewer) if the connection
  // ends.
  std::vector<std::string> ReadMessages(size_t count) {
    std::vector<std::string> messages;
    while (messages.size() < count) {
      ReadResult result = Read();
      if (!result.message) break;
      messages.push_back(std::move(*result.message));
    }
    return messages;
  }

  // Reads messages until the connection ends; returns them.
  std::vector<std::string> ReadUntilClosed() {
    std::vector<std::string> messages;
    for (;;) {
      ReadResult result = Read();
      if (!result.message) {
        last_error_ = result.error;
        return messages;
      }
      messages.push_back(std::move(*result.message));
    }
  }

  // Keeps a read pending until the server has pinged us; true if it did.
  bool WaitForPing() {
    StartReadIfIdle();
    RunUntil([&] { return pings_received_ > 0 || completed_.has_value(); });
    return pings_received_ > 0;
  }

  // Sends a ping and keeps a read pending until its pong arrives; true if it
  // did with the same payload.
  bool PingAndWaitForPong(const std::string& payload) {
    bool sent = false;
    ws_.async_ping(websocket::ping_data(payload.c_str()), [&](beast::error_code) { sent = true; });
    StartReadIfIdle();
    RunUntil([&] { return sent && (!pongs_.empty() || completed_.has_value()); });
    return !pongs_.empty() && pongs_.front() == payload;
  }

  // Sends one message (text or binary) and waits until it is written.
  beast::error_code Write(const std::string& payload, bool binary = false) {
    beast::error_code result = net::error::timed_out;
    bool done = false;
    ws_.binary(binary);
    ws_.async_write(net::buffer(payload), [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    RunUntil([&] { return done; });
    return result;
  }

  // Starts the closing handshake and waits for it to finish.
  void Close() {
    bool done = false;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    RunUntil([&] { return done; });
  }

  // The close frame the server sent, once the connection has ended.
  websocket::close_reason close_reason() const { return ws_.reason(); }
  beast::error_code last_error() const { return last_error_; }

 private:
  void Upgrade(uint16_t port, const std::string& target, beast::error_code* result, bool* done) {
    ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target,
                        [result, done](beast::error_code ec) {
                          *result = ec;
                          *done = true;
                        });
  }

  void StartReadIfIdle() {
    if (read_pending_ || completed_) return;
    read_pending_ = true;
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      read_pending_ = false;
      ReadResult result;
      if (ec) {
        result.error = ec;
      } else {
        result.message = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
      }
      completed_ = std::move(result);
    });
  }

  void RunUntil(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
    io_context_.restart();
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      if (io_context_.run_one_for(deadline - std::chrono::steady_clock::now()) == 0 &&
          io_context_.stopped()) {
        io_context_.restart();
        std::this_thread::sleep_for(1ms);  // nothing pending: let time pass
      }
    }
    if (!condition()) {
      // Give up: end the pending operations while what they refer to lives.
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      io_context_.restart();
      io_context_.run_for(kWaitTimeout);
    }
  }

  net::io_context io_context_;
  websocket::stream<NextLayer> ws_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  bool read_pending_ = false;
  std::optional<ReadResult> completed_;
  int pings_received_ = 0;
  std::vector<std::string> pongs_;
  beast::error_code last_error_;
};

using TestClient = BasicTestClient<beast::tcp_stream>;
using TlsTestClient = BasicTestClient<beast::ssl_stream<beast::tcp_stream>>;

// Sends `request` to 127.0.0.1:`port` on a fresh connection and returns the
// response (status 0 if none arrived).
inline http::response<http::string_body> HttpSend(uint16_t port,
                                                  const http::request<http::empty_body>& request) {
  net::io_context io_context;
  beast::tcp_stream tcp(io_context);
  http::response<http::string_body> response;
  response.result(0u);
  beast::flat_buffer buffer;
  tcp.expires_after(kWaitTimeout);
  tcp.async_connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(tcp, request, [&](beast::error_code write_ec, std::size_t) {
          if (write_ec) return;
          http::async_read(tcp, buffer, response, [](beast::error_code, std::size_t) {});
        });
      });
  io_context.run();
  return response;
}

// Sends one plain HTTP GET for `target` to 127.0.0.1:`port` and returns the
// response (status 0 if none arrived).
inline http::response<http::string_body> HttpGet(uint16_t port, const std::string& target) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  return HttpSend(port, request);
}

}  // namespace stream::testing

#endif  // TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_
