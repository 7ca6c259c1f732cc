#include "tests/stream/websocket_test_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <algorithm>
#include <chrono>
#include <thread>
#include <type_traits>
#include <utility>

namespace stream::testing {

bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// What TestClient needs of a connection, whatever carries it.
class TestClient::Connection {
 public:
  virtual ~Connection() = default;
  virtual beast::error_code Connect(uint16_t port, const std::string& target,
                                    int receive_buffer_bytes) = 0;
  virtual const websocket::response_type& response() const = 0;
  virtual ReadResult Read() = 0;
  virtual bool WaitForPing() = 0;
  virtual bool PingAndWaitForPong(const std::string& payload) = 0;
  virtual beast::error_code Write(const std::string& payload, bool binary) = 0;
  virtual void Close() = 0;
  virtual websocket::close_reason close_reason() const = 0;
};

namespace {

// A connection over beast::tcp_stream (ws://) or
// beast::ssl_stream<beast::tcp_stream> (wss://), driven by its own
// io_context on the caller's thread.
template <class NextLayer>
class BasicConnection final : public TestClient::Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;
  using ReadResult = TestClient::ReadResult;

  template <class... TlsContext>
  explicit BasicConnection(TlsContext&... tls) : ws_(io_context_, tls...) {
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::ping) ++pings_received_;
      if (kind == websocket::frame_type::pong) pongs_.emplace_back(payload);
    });
  }

  beast::error_code Connect(uint16_t port, const std::string& target,
                            int receive_buffer_bytes) override {
    beast::tcp_stream& tcp = beast::get_lowest_layer(ws_);
    tcp.socket().open(net::ip::tcp::v4());
    if (receive_buffer_bytes > 0) {
      tcp.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    }
    beast::error_code result = net::error::timed_out;
    bool done = false;
    tcp.async_connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
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

  const websocket::response_type& response() const override { return response_; }

  ReadResult Read() override {
    StartReadIfIdle();
    RunUntil([&] { return completed_.has_value(); });
    if (!completed_) return {std::nullopt, net::error::timed_out};
    ReadResult result = std::move(*completed_);
    completed_.reset();
    return result;
  }

  bool WaitForPing() override {
    StartReadIfIdle();
    RunUntil([&] { return pings_received_ > 0 || completed_.has_value(); });
    return pings_received_ > 0;
  }

  bool PingAndWaitForPong(const std::string& payload) override {
    bool sent = false;
    ws_.async_ping(websocket::ping_data(payload.c_str()), [&](beast::error_code) { sent = true; });
    StartReadIfIdle();
    RunUntil([&] { return sent && (!pongs_.empty() || completed_.has_value()); });
    return !pongs_.empty() && pongs_.front() == payload;
  }

  beast::error_code Write(const std::string& payload, bool binary) override {
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

  void Close() override {
    bool done = false;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    RunUntil([&] { return done; });
  }

  websocket::close_reason close_reason() const override { return ws_.reason(); }

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
};

}  // namespace

TestClient::TestClient() : connection_(std::make_unique<BasicConnection<beast::tcp_stream>>()) {}

TestClient::TestClient(net::ssl::context& tls)
    : connection_(std::make_unique<BasicConnection<beast::ssl_stream<beast::tcp_stream>>>(tls)) {}

TestClient::~TestClient() = default;

beast::error_code TestClient::Connect(uint16_t port, const std::string& target,
                                      int receive_buffer_bytes) {
  return connection_->Connect(port, target, receive_buffer_bytes);
}

const websocket::response_type& TestClient::response() const { return connection_->response(); }

TestClient::ReadResult TestClient::Read() { return connection_->Read(); }

std::vector<std::string> TestClient::ReadMessages(size_t count) {
  std::vector<std::string> messages;
  while (messages.size() < count) {
    ReadResult result = Read();
    if (!result.message) break;
    messages.push_back(std::move(*result.message));
  }
  return messages;
}

std::vector<std::string> TestClient::ReadUntilClosed() {
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

bool TestClient::WaitForPing() { return connection_->WaitForPing(); }

bool TestClient::PingAndWaitForPong(const std::string& payload) {
  return connection_->PingAndWaitForPong(payload);
}

beast::error_code TestClient::Write(const std::string& payload, bool binary) {
  return connection_->Write(payload, binary);
}

void TestClient::Close() { connection_->Close(); }

websocket::close_reason TestClient::close_reason() const { return connection_->close_reason(); }

beast::error_code TestClient::last_error() const { return last_error_; }

http::response<http::string_body> HttpSend(uint16_t port,
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

http::response<http::string_body> HttpSendInPieces(uint16_t port, const std::string& bytes,
                                                   std::size_t piece) {
  net::io_context io_context;
  beast::tcp_stream tcp(io_context);
  http::response<http::string_body> response;
  response.result(0u);
  beast::error_code ec;
  tcp.socket().connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return response;
  // Loopback writes of a few KiB complete at once: no timeout needed here.
  for (std::size_t at = 0; at < bytes.size() && !ec; at += piece) {
    net::write(tcp.socket(), net::buffer(bytes.data() + at, std::min(piece, bytes.size() - at)),
               ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  beast::flat_buffer buffer;
  tcp.expires_after(kWaitTimeout);
  http::async_read(tcp, buffer, response, [](beast::error_code, std::size_t) {});
  io_context.run();
  return response;
}

http::response<http::string_body> HttpGet(uint16_t port, const std::string& target) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  return HttpSend(port, request);
}

}  // namespace stream::testing
