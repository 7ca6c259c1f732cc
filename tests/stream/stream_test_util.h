// Helpers for the event stream tests: a real ledger (Application + BlockStore
// on LevelDB in a temporary directory) with an EventStream attached, signed
// test transactions, and WebSocket/HTTP clients that wait with timeouts.
#ifndef TESTS_STREAM_STREAM_TEST_UTIL_H_
#define TESTS_STREAM_STREAM_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
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
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction_builder.h"
#include "stream/event_stream.h"

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

// A directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("ledgerd-stream-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A key pair whose seed is 32 copies of `byte`.
inline ledger::KeyPair TestKey(uint8_t byte) {
  return ledger::KeyPairFromSeed(std::string(32, static_cast<char>(byte)));
}

inline std::string PublicKey(const ledger::KeyPair& key) { return ledger::PublicKeyBase58(key); }

// A signed transaction and what the stream says about it.
struct TestTransaction {
  std::string raw;
  std::string id;
  std::string asset_id;
};

inline TestTransaction Sign(ledger::JsonValue transaction,
                            const std::vector<ledger::KeyPair>& keys) {
  std::string error;
  EXPECT_TRUE(ledger::SignTransaction(&transaction, keys, &error)) << error;
  TestTransaction signed_transaction;
  signed_transaction.raw = ledger::CanonicalJson(transaction);
  signed_transaction.id = transaction.Find("id")->text();
  signed_transaction.asset_id = signed_transaction.id;
  return signed_transaction;
}

// A CREATE of one unit by and to `owner`, made unique by `nonce`.
inline TestTransaction Create(const ledger::KeyPair& owner, uint64_t nonce) {
  ledger::JsonValue data =
      ledger::JsonValue::Object({{"nonce", ledger::JsonValue::Number(std::to_string(nonce))}});
  return Sign(ledger::MakeCreate({PublicKey(owner)}, std::move(data), ledger::JsonValue::Null(),
                                 {{{PublicKey(owner)}, 1}}),
              {owner});
}

// A TRANSFER of output 0 of `spent` (owned by `owner`) to `to`.
inline TestTransaction Transfer(const TestTransaction& spent, const ledger::KeyPair& owner,
                                const ledger::KeyPair& to) {
  TestTransaction transfer =
      Sign(ledger::MakeTransfer({{spent.id, 0, {PublicKey(owner)}}}, spent.asset_id,
                                ledger::JsonValue::Null(), {{{PublicKey(to)}, 1}}),
           {owner});
  transfer.asset_id = spent.asset_id;
  return transfer;
}

// The stream's message for `transaction` at `height`, spelled out
// independently of the implementation.
inline std::string ExpectedMessage(const TestTransaction& transaction, int64_t height) {
  return "{\"transaction_id\":\"" + transaction.id + "\",\"asset_id\":\"" + transaction.asset_id +
         "\",\"height\":" + std::to_string(height) + "}";
}

// The height a stream message names.
inline int64_t HeightOf(const std::string& message) {
  const size_t at = message.rfind("\"height\":");
  return std::stoll(message.substr(at + 9));
}

// A real ledger on LevelDB with an EventStream observing it.
class StreamFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
    ASSERT_TRUE(app_->InitChain("stream-test", 1, "[]", &error)) << error;
  }

  void TearDown() override {
    app_.reset();  // before the stream it observes
    if (stream_) stream_->Stop();
  }

  // Starts an EventStream on an ephemeral port of 127.0.0.1.
  void StartStream(EventStreamOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    stream_ = std::make_unique<EventStream>(*store_, std::move(options));
    app_->AddObserver(stream_.get());
    std::string error;
    ASSERT_TRUE(stream_->Start(&error)) << error;
  }

  // Commits `transactions` as the next block; returns the messages of the
  // valid ones, in block order, and records them in all_messages_.
  std::vector<std::string> CommitBlock(const std::vector<TestTransaction>& transactions) {
    const int64_t height = store_->LastHeight() + 1;
    std::vector<std::string> raw;
    for (const TestTransaction& transaction : transactions) raw.push_back(transaction.raw);
    const ledger::FinalizedBlock finalized = app_->FinalizeBlock(height, raw);
    std::string error;
    EXPECT_TRUE(app_->Commit(&error)) << error;
    std::vector<std::string> messages;
    for (size_t i = 0; i < transactions.size(); ++i) {
      if (finalized.results[i].status.ok()) {
        messages.push_back(ExpectedMessage(transactions[i], height));
      }
    }
    all_messages_.insert(all_messages_.end(), messages.begin(), messages.end());
    return messages;
  }

  // `count` fresh CREATEs by `owner`.
  std::vector<TestTransaction> Creates(size_t count, const ledger::KeyPair& owner = TestKey(1)) {
    std::vector<TestTransaction> creates;
    for (size_t i = 0; i < count; ++i) creates.push_back(Create(owner, next_nonce_++));
    return creates;
  }

  // Messages of every valid transaction committed through CommitBlock with a
  // height of at least `from_height`.
  std::vector<std::string> MessagesFrom(int64_t from_height) const {
    std::vector<std::string> messages;
    for (const std::string& message : all_messages_) {
      if (HeightOf(message) >= from_height) messages.push_back(message);
    }
    return messages;
  }

  uint16_t port() const { return stream_->port(); }

  TempDir dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<EventStream> stream_;  // outlives app_, which calls it
  std::unique_ptr<ledger::Application> app_;
  std::vector<std::string> all_messages_;
  uint64_t next_nonce_ = 0;
};

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

// Sends one plain HTTP GET for `target` to 127.0.0.1:`port` and returns the
// response (status 0 if none arrived).
inline http::response<http::string_body> HttpGet(uint16_t port, const std::string& target) {
  net::io_context io_context;
  beast::tcp_stream tcp(io_context);
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  http::response<http::string_body> response;
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

}  // namespace stream::testing

#endif  // TESTS_STREAM_STREAM_TEST_UTIL_H_
