// A WebSocket client and a plain HTTP request for tests of the event stream,
// over real sockets, ws:// or wss://; every wait ends after kWaitTimeout.
// Shared by the in-process stream tests and the end-to-end tests against
// ledgerd. Beast's asynchronous machinery is instantiated once, in
// websocket_test_client.cc, rather than in every test file.
#ifndef TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_
#define TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace stream::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;

// Generous: a wait that runs out means the test failed, not that it was slow.
inline constexpr std::chrono::seconds kWaitTimeout(60);

// Polls `condition` until it holds or kWaitTimeout passes; true if it held.
bool WaitFor(const std::function<bool()>& condition);

// A WebSocket client for tests, ws:// or (given a TLS context) wss://. Every
// wait ends after kWaitTimeout. Not thread-safe: use from one thread.
class TestClient {
 public:
  // What a read ended with.
  struct ReadResult {
    std::optional<std::string> message;  // set for a text message
    beast::error_code error;             // else why the connection ended
  };

  // A ws:// client.
  TestClient();
  // A wss:// client verifying the server with `tls`, which must outlive it.
  explicit TestClient(net::ssl::context& tls);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Connects to 127.0.0.1:`port` with a receive buffer of
  // `receive_buffer_bytes` (0: the system's) and asks to upgrade at
  // `target`. Returns the error (websocket::error::upgrade_declined when
  // the server answered with an HTTP error; see response()).
  beast::error_code Connect(uint16_t port, const std::string& target,
                            int receive_buffer_bytes = 0);

  // The HTTP response to the upgrade request.
  const websocket::response_type& response() const;

  // The next text message, or why the connection ended.
  ReadResult Read();

  // Reads `count` messages; stops early (returning fewer) if the connection
  // ends.
  std::vector<std::string> ReadMessages(size_t count);

  // Reads messages until the connection ends; returns them and remembers
  // the error that ended it (last_error()).
  std::vector<std::string> ReadUntilClosed();

  // Keeps a read pending until the server has pinged us; true if it did.
  bool WaitForPing();

  // Sends a ping and keeps a read pending until its pong arrives; true if it
  // did with the same payload.
  bool PingAndWaitForPong(const std::string& payload);

  // Sends one message (text or binary) and waits until it is written.
  beast::error_code Write(const std::string& payload, bool binary = false);

  // Starts the closing handshake and waits for it to finish.
  void Close();

  // The close frame the server sent, once the connection has ended.
  websocket::close_reason close_reason() const;
  // The error that ended ReadUntilClosed().
  beast::error_code last_error() const;

  // The transport-specific half (ws:// or wss://), in the .cc file.
  class Connection;

 private:
  std::unique_ptr<Connection> connection_;
  beast::error_code last_error_;
};

// Sends `request` to 127.0.0.1:`port` on a fresh connection and returns the
// response (status 0 if none arrived).
http::response<http::string_body> HttpSend(uint16_t port,
                                           const http::request<http::empty_body>& request);

// Writes `bytes` to 127.0.0.1:`port` on a fresh connection in pieces of
// `piece` bytes, pausing between them so that the server reads them one by
// one, then returns the response (status 0 if none arrived). Writing stops
// early if the server closes first.
http::response<http::string_body> HttpSendInPieces(uint16_t port, const std::string& bytes,
                                                   std::size_t piece);

// Sends one plain HTTP GET for `target` to 127.0.0.1:`port` and returns the
// response (status 0 if none arrived).
http::response<http::string_body> HttpGet(uint16_t port, const std::string& target);

}  // namespace stream::testing

#endif  // TESTS_STREAM_WEBSOCKET_TEST_CLIENT_H_
