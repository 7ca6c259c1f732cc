// Helpers shared by the API tests: an io_context running on background
// threads and a blocking HTTP client over a real socket.
#ifndef TESTS_API_API_TEST_UTIL_H_
#define TESTS_API_API_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace api::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Bounds every blocking socket call of a test, so a bug fails the test
// instead of hanging it. Not a performance assertion.
inline constexpr std::chrono::seconds kHangGuard(30);

// An io_context run by `threads` threads until destruction.
class IoThreads {
 public:
  explicit IoThreads(int threads = 2) : work_(net::make_work_guard(io_context_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_context_.run(); });
  }
  ~IoThreads() { Join(); }

  // Lets queued work finish, then stops the threads.
  void Join() {
    work_.reset();
    io_context_.stop();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  net::io_context& context() { return io_context_; }

 private:
  net::io_context io_context_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

using ClientResponse = http::response<http::string_body>;

// One client connection to 127.0.0.1:`port`, kept alive between requests.
// Blocking calls, made of asynchronous operations run to completion so that
// the stream's timeout (kHangGuard) applies to them.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : stream_(io_context_) {
    stream_.expires_after(kHangGuard);
    stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { last_error_ = ec; });
    RunToCompletion();
  }

  // Sends one request and reads the answer. On a transport failure returns
  // a response with status 0 (and records the error in last_error()).
  ClientResponse Send(http::verb method, const std::string& target, const std::string& body = "",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == http::verb::post) {
      request.body() = body;
      request.prepare_payload();
    }
    stream_.expires_after(kHangGuard);
    http::async_write(stream_, request, [this](beast::error_code ec, size_t) { last_error_ = ec; });
    RunToCompletion();
    if (last_error_) return ClientResponse(http::status::unknown, 11);
    return Read(/*head=*/method == http::verb::head);
  }

  ClientResponse Get(const std::string& target) { return Send(http::verb::get, target); }
  ClientResponse Post(const std::string& target, const std::string& body) {
    return Send(http::verb::post, target, body);
  }

  // Reads one response (status 0 on failure).
  ClientResponse Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    stream_.expires_after(kHangGuard);
    http::async_read(stream_, buffer_, parser,
                     [this](beast::error_code ec, size_t) { last_error_ = ec; });
    RunToCompletion();
    if (last_error_) return ClientResponse(http::status::unknown, 11);
    return parser.release();
  }

  // Writes raw bytes (for malformed or partial requests).
  void WriteRaw(const std::string& bytes) {
    stream_.expires_after(kHangGuard);
    net::async_write(stream_, net::buffer(bytes),
                     [this](beast::error_code ec, size_t) { last_error_ = ec; });
    RunToCompletion();
  }

  // True once the server has closed the connection: a read ends with end of
  // stream or a reset rather than data (false on data or on kHangGuard).
  bool ServerClosed() {
    char byte;
    stream_.expires_after(kHangGuard);
    stream_.async_read_some(net::buffer(&byte, 1),
                            [this](beast::error_code ec, size_t) { last_error_ = ec; });
    RunToCompletion();
    return last_error_ && last_error_ != beast::error::timeout;
  }

  const beast::error_code& last_error() const { return last_error_; }

 private:
  void RunToCompletion() {
    io_context_.restart();
    io_context_.run();
  }

  net::io_context io_context_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code last_error_;
};

inline nlohmann::json JsonBody(const ClientResponse& response) {
  return nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace api::testing

#endif  // TESTS_API_API_TEST_UTIL_H_
