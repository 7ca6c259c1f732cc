#include "tests/e2e/hardening/hardening_test_util.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction_builder.h"

namespace hardening {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

tcp::endpoint Loopback(uint16_t port) { return {net::ip::make_address("127.0.0.1"), port}; }

// The last `lines` lines of the file at `path`.
std::string Tail(const std::filesystem::path& path, size_t lines = 20) {
  std::ifstream file(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(file, line);) all.push_back(line);
  std::string tail;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    tail += all[i] + "\n";
  }
  return tail;
}

// Runs `io_context` until `done` holds or `bound` passes; true if it held.
bool RunUntil(net::io_context& io_context, const bool& done, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io_context.restart();
  while (!done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (io_context.run_one_for(deadline - now) == 0 && io_context.stopped()) {
      if (!done) return false;  // nothing left that could set it
    }
  }
  return true;
}

}  // namespace

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TempDir::TempDir() {
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("ledgerd-hardening-" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

uint64_t RaiseOpenFileLimit(uint64_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

DevNode::DevNode(std::vector<std::string> extra_flags)
    : http_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())),
      ws_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())),
      log_path_(dir_.path() / "ledgerd.log") {
  std::vector<std::string> args = {"--dev",
                                   "--data-dir",
                                   (dir_.path() / "data").string(),
                                   "--http-addr",
                                   "127.0.0.1:" + std::to_string(http_port_),
                                   "--ws-addr",
                                   "127.0.0.1:" + std::to_string(ws_port_)};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  process_ = std::make_unique<ledgerd_e2e::LedgerdProcess>(LEDGERD_BINARY, std::move(args),
                                                           log_path_.string());
}

DevNode::~DevNode() {
  if (process_->running()) process_->Kill();
}

bool DevNode::Start(std::string* error) {
  process_->Start();
  const bool serving = WaitFor([&] {
    if (!Alive()) return true;
    return HttpRequest(http_port_, http::verb::get, "/health", "", 1s).status == 200;
  });
  if (serving && Alive()) return true;
  *error = std::string(Alive() ? "ledgerd does not answer GET /health" : "ledgerd exited") +
           "; the end of its log:\n" + Tail(log_path_);
  return false;
}

void DevNode::Kill() { process_->Kill(); }

int DevNode::Terminate() { return process_->Terminate(); }

pid_t DevNode::pid() const { return process_->pid(); }

bool DevNode::Alive() const {
  if (!process_->running()) return false;
  std::ifstream stat("/proc/" + std::to_string(process_->pid()) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  const char state = text[paren + 2];
  return state != 'Z' && state != 'X';
}

uint64_t DevNode::RssKib() const { return process_->running() ? RssKibOf(process_->pid()) : 0; }

uint64_t RssKibOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

HttpResult HttpRequest(uint16_t port, http::verb method, const std::string& target,
                       const std::string& body, std::chrono::milliseconds bound) {
  net::io_context io_context;
  beast::tcp_stream stream(io_context);
  http::request<http::string_body> request(method, target, 11);
  request.set(http::field::host, "127.0.0.1");
  if (method == http::verb::post) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  beast::flat_buffer buffer;
  HttpResult result;
  stream.expires_after(bound);
  stream.async_connect(Loopback(port), [&](beast::error_code ec) {
    if (ec) {
      result.error = "connect: " + ec.message();
      return;
    }
    http::async_write(stream, request, [&](beast::error_code write_ec, size_t) {
      if (write_ec) {
        result.error = "write: " + write_ec.message();
        return;
      }
      http::async_read(stream, buffer, parser, [&](beast::error_code read_ec, size_t) {
        if (read_ec) {
          result.error = "read: " + read_ec.message();
          return;
        }
        result.status = parser.get().result_int();
        result.body = parser.get().body();
      });
    });
  });
  io_context.run();
  return result;
}

struct HttpConnection::Impl {
  explicit Impl(uint16_t node_port) : port(node_port), stream(io_context) {}

  HttpResult Get(const std::string& target, bool retry) {
    HttpResult result;
    bool done = false;
    auto finish = [&](std::string error) {
      result.error = std::move(error);
      done = true;
    };
    http::request<http::string_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    auto exchange = [&] {
      http::async_write(stream, request, [&](beast::error_code ec, size_t) {
        if (ec) return finish("write: " + ec.message());
        http::async_read(stream, buffer, parser, [&](beast::error_code read_ec, size_t) {
          if (read_ec) return finish("read: " + read_ec.message());
          result.status = parser.get().result_int();
          result.body = parser.get().body();
          connected = parser.get().keep_alive();
          done = true;
        });
      });
    };
    stream.expires_after(kRequestBound);
    if (connected) {
      exchange();
    } else {
      buffer.clear();
      stream.async_connect(Loopback(port), [&](beast::error_code ec) {
        if (ec) return finish("connect: " + ec.message());
        connected = true;
        exchange();
      });
    }
    RunUntil(io_context, done, kRequestBound + 1s);
    if (result.status == 0) {
      beast::error_code ignored;
      stream.socket().close(ignored);
      connected = false;
      io_context.restart();
      io_context.poll();
      // A kept-alive connection the server closed meanwhile: once more on a
      // fresh one.
      if (retry) return Get(target, false);
    }
    return result;
  }

  const uint16_t port;
  net::io_context io_context;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpConnection::HttpConnection(uint16_t port) : impl_(std::make_unique<Impl>(port)) {}
HttpConnection::~HttpConnection() = default;
HttpResult HttpConnection::Get(const std::string& target) { return impl_->Get(target, true); }

SignedTransaction NewCreate(const std::string& tag) {
  static const ledger::KeyPair key = ledger::KeyPairFromSeed(std::string(32, '\x07'));
  static std::atomic<uint64_t> counter{0};
  const std::string owner = ledger::PublicKeyBase58(key);
  ledger::JsonValue data = ledger::JsonValue::Object(
      {{"tag", ledger::JsonValue::String(tag)},
       {"n", ledger::JsonValue::Number(std::to_string(counter.fetch_add(1)))}});
  ledger::JsonValue tx =
      ledger::MakeCreate({owner}, std::move(data), ledger::JsonValue::Null(), {{{owner}, 1}});
  std::string error;
  if (!ledger::SignTransaction(&tx, {key}, &error)) ADD_FAILURE() << "signing: " << error;
  return {tx.Find("id")->text(), ledger::CanonicalJson(tx)};
}

StreamClient::StreamClient() : ws_(io_context_) {}
StreamClient::~StreamClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
  io_context_.restart();
  io_context_.poll();
}

bool StreamClient::Connect(uint16_t port, const std::string& target, unsigned* status,
                           std::chrono::milliseconds bound) {
  bool done = false;
  beast::error_code result;
  websocket::response_type response;
  beast::tcp_stream& tcp = beast::get_lowest_layer(ws_);
  tcp.expires_after(bound);
  tcp.async_connect(Loopback(port), [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    tcp.expires_never();  // the WebSocket's own timeouts from here on; Read bounds reads
    ws_.set_option(websocket::stream_base::timeout{bound, websocket::stream_base::none(), false});
    ws_.async_handshake(response, "127.0.0.1:" + std::to_string(port), target,
                        [&](beast::error_code handshake_ec) {
                          result = handshake_ec;
                          done = true;
                        });
  });
  if (!RunUntil(io_context_, done, bound + 1s)) result = net::error::timed_out;
  if (status != nullptr) *status = response.result_int();
  return !result;
}

std::optional<std::string> StreamClient::Read(std::chrono::milliseconds bound) {
  timed_out_ = false;
  if (!read_pending_ && !read_done_) {
    read_pending_ = true;
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      read_pending_ = false;
      read_done_ = true;
      read_error_ = ec;
    });
  }
  if (!RunUntil(io_context_, read_done_, bound)) {
    timed_out_ = true;
    return std::nullopt;  // the read stays pending for the next call
  }
  read_done_ = false;
  if (read_error_) return std::nullopt;
  std::string message = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  return message;
}

bool StreamClient::WaitForTransaction(const std::string& transaction_id,
                                      std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    const std::optional<std::string> message = Read(left);
    if (!message) return false;
    if (message->find("\"transaction_id\":\"" + transaction_id + "\"") != std::string::npos) {
      return true;
    }
  }
}

int StreamClient::close_code() const { return static_cast<int>(ws_.reason().code); }

bool StreamClient::SendRaw(const std::string& bytes) {
  beast::error_code ec;
  net::write(beast::get_lowest_layer(ws_).socket(), net::buffer(bytes), ec);
  return !ec;
}

int ConnectRaw(uint16_t port, int receive_buffer) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

namespace {

// Waits until `fd` is ready for `events` or `deadline` passes.
bool PollUntil(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool SendAll(int fd, const std::string& bytes, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  size_t sent = 0;
  while (sent < bytes.size()) {
    if (!PollUntil(fd, POLLOUT, deadline)) return false;
    const ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> ReadUntilClosed(int fd, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  std::string bytes;
  char chunk[65536];
  for (;;) {
    if (!PollUntil(fd, POLLIN, deadline)) return std::nullopt;
    const ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n == 0) return bytes;
    if (n > 0) {
      bytes.append(chunk, static_cast<size_t>(n));
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return bytes;  // reset: closed as well
    }
  }
}

std::optional<std::string> ReadUntil(int fd, const std::string& terminator,
                                     std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  std::string bytes;
  char chunk[4096];
  while (bytes.size() < terminator.size() ||
         bytes.compare(bytes.size() - terminator.size(), terminator.size(), terminator) != 0) {
    if (!PollUntil(fd, POLLIN, deadline)) return std::nullopt;
    // One byte at a time past the first chunk would be slow; the answers
    // read this way are small heads, so read what is there.
    const ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n == 0) return bytes;
    if (n > 0) {
      bytes.append(chunk, static_cast<size_t>(n));
      if (bytes.find(terminator) != std::string::npos) return bytes;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return bytes;
    }
  }
  return bytes;
}

std::string UpgradeRequest(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\n"
         "Host: 127.0.0.1\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n";
}

void ExpectWellBehavedClientServed(const DevNode& node) {
  StreamClient subscriber;
  unsigned upgrade_status = 0;
  const bool subscribed =
      subscriber.Connect(node.ws_port(), "/api/v1/streams/valid_transactions", &upgrade_status);
  EXPECT_TRUE(subscribed) << "a subscriber's upgrade was not accepted within "
                          << kRequestBound.count() << " s (HTTP status " << upgrade_status << ")";

  const HttpResult root = HttpRequest(node.http_port(), http::verb::get, "/api/v1/");
  EXPECT_EQ(root.status, 200u) << "GET /api/v1/ within " << kRequestBound.count()
                               << " s: " << root.error << root.body;

  const SignedTransaction tx = NewCreate("well-behaved");
  const HttpResult posted = HttpRequest(node.http_port(), http::verb::post,
                                        "/api/v1/transactions?mode=commit", tx.raw);
  EXPECT_EQ(posted.status, 202u) << "POST ?mode=commit within " << kRequestBound.count()
                                 << " s: " << posted.error << posted.body;

  if (subscribed && posted.status == 202) {
    EXPECT_TRUE(subscriber.WaitForTransaction(tx.id))
        << "the subscriber did not receive the committed transaction within "
        << kRequestBound.count() << " s";
  }
}

}  // namespace hardening
