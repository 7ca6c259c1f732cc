#include "api/comet_rpc_submitter.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/comet_rpc_messages.h"
#include "api_test_util.h"

namespace api {
namespace {

using ::api::testing::IoThreads;
using ::api::testing::kHangGuard;
using nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// What the fake CometBFT answers to one request.
struct FakeAnswer {
  unsigned status = 200;
  std::string body;
  // Close the connection right after answering, without saying so (as a
  // server whose idle timeout fires would).
  bool drop_connection = false;
  // Never answer.
  bool hang = false;
};

// A JSON-RPC answer {"jsonrpc":"2.0","id":<id>,"result":<result>}.
FakeAnswer Result(const json& request, json result) {
  return {200,
          json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", std::move(result)}}.dump()};
}

// CometBFT's error answer: HTTP 500 with a JSON-RPC error.
FakeAnswer Error(const json& request, std::string data) {
  return {500, json{{"jsonrpc", "2.0"},
                    {"id", request["id"]},
                    {"error", {{"code", -32603}, {"message", "Internal error"}, {"data", data}}}}
                   .dump()};
}

// A tiny CometBFT RPC server: answers each POST with what `answer` says for
// its JSON body, and records what it received.
class FakeCometRpc {
 public:
  using Answer = std::function<FakeAnswer(const json& request)>;

  explicit FakeCometRpc(Answer answer)
      : answer_(std::move(answer)),
        acceptor_(io_.context(), {net::ip::make_address("127.0.0.1"), 0}) {
    net::co_spawn(acceptor_.get_executor(), Accept(), net::detached);
  }
  ~FakeCometRpc() { io_.Join(); }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int connections() const { return connections_.load(); }

  struct Received {
    std::string method;
    std::string target;
    std::string content_type;
    std::string body;
  };
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  net::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      ++connections_;
      net::co_spawn(acceptor_.get_executor(), Serve(std::move(socket)), net::detached);
    }
  }

  net::awaitable<void> Serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      auto [read_ec, read_bytes] =
          co_await http::async_read(stream, buffer, request, net::as_tuple(net::use_awaitable));
      if (read_ec) co_return;
      {
        std::lock_guard lock(mutex_);
        received_.push_back({std::string(http::to_string(request.method())),
                             std::string(request.target()),
                             std::string(request[http::field::content_type]), request.body()});
      }
      FakeAnswer answer = answer_(json::parse(request.body(), nullptr, false));
      if (answer.hang) {
        net::steady_timer forever(stream.get_executor(), kHangGuard);
        co_await forever.async_wait(net::as_tuple(net::use_awaitable));
        co_return;
      }
      http::response<http::string_body> response(static_cast<http::status>(answer.status), 11);
      response.set(http::field::content_type, "application/json");
      response.body() = answer.body;
      response.prepare_payload();
      auto [write_ec, write_bytes] =
          co_await http::async_write(stream, response, net::as_tuple(net::use_awaitable));
      if (write_ec || answer.drop_connection) co_return;
    }
  }

  Answer answer_;
  IoThreads io_{1};
  tcp::acceptor acceptor_;
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<Received> received_;
};

class CometRpcSubmitterTest : public ::testing::Test {
 protected:
  std::unique_ptr<CometRpcSubmitter> MakeSubmitter(const std::string& url,
                                                   CometRpcOptions options = {}) {
    options.url = url;
    std::string error;
    std::unique_ptr<CometRpcSubmitter> submitter =
        CometRpcSubmitter::Create(io_.context(), options, &error);
    EXPECT_NE(submitter, nullptr) << error;
    return submitter;
  }

  // Submits and waits for the answer.
  static SubmitResult SubmitAndWait(TransactionSubmitter& submitter, const std::string& tx,
                                    BroadcastMode mode) {
    std::promise<SubmitResult> answered;
    std::future<SubmitResult> result = answered.get_future();
    submitter.Submit(tx, mode, [&answered](SubmitResult r) { answered.set_value(std::move(r)); });
    if (result.wait_for(kHangGuard) != std::future_status::ready) {
      ADD_FAILURE() << "no answer";
      return SubmitResult::Failure(SubmitOutcome::kEngineError, "no answer");
    }
    return result.get();
  }

  IoThreads io_;
};

std::string Base64Decode(const std::string& text) {
  std::string out(text.size(), '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(text.data()),
                               static_cast<int>(text.size()));
  if (length < 0) return "<invalid base64>";
  // EVP_DecodeBlock counts the padding's zero bytes too.
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<size_t>(length) - padding);
  return out;
}

TEST(CometRpcMessagesTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff", 2)), "+/8=") << "standard, not URL, alphabet";
}

TEST_F(CometRpcSubmitterTest, PostsJsonRpcWithBase64Transaction) {
  FakeCometRpc comet([](const json& request) {
    return Result(request, {{"code", 0}, {"data", ""}, {"log", ""}, {"hash", "AB"}});
  });
  auto submitter = MakeSubmitter(comet.url());
  const std::string tx = R"({"id":"é","version":"2.0"})";
  const std::pair<BroadcastMode, std::string> modes[] = {
      {BroadcastMode::kAsync, "broadcast_tx_async"},
      {BroadcastMode::kSync, "broadcast_tx_sync"},
  };
  for (const auto& [mode, method] : modes) {
    EXPECT_TRUE(SubmitAndWait(*submitter, tx, mode).ok());
    FakeCometRpc::Received last = comet.received().back();
    EXPECT_EQ(last.method, "POST");
    EXPECT_EQ(last.target, "/");
    EXPECT_EQ(last.content_type, "application/json");
    json body = json::parse(last.body);
    EXPECT_EQ(body["jsonrpc"], "2.0");
    EXPECT_EQ(body["method"], method);
    EXPECT_TRUE(body["id"].is_number_integer());
    EXPECT_EQ(body["params"], (json{{"tx", Base64Encode(tx)}}));
    EXPECT_EQ(Base64Decode(body["params"]["tx"]), tx);
    EXPECT_EQ(body.size(), 4u) << body;
  }
}

TEST_F(CometRpcSubmitterTest, CheckTxRefusalIs400WithTheErrorName) {
  FakeCometRpc comet([](const json& request) {
    return Result(request, {{"code", 7},
                            {"log", "DoubleSpend: output 0 of abc is already spent"},
                            {"codespace", "ledger"}});
  });
  auto submitter = MakeSubmitter(comet.url());
  SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kSync);
  EXPECT_EQ(result.outcome, SubmitOutcome::kRejected);
  EXPECT_EQ(HttpStatusOf(result.outcome), 400u);
  EXPECT_EQ(result.message, "Invalid transaction (DoubleSpend): output 0 of abc is already spent");
}

TEST_F(CometRpcSubmitterTest, CheckTxRefusalAsCometBft1ErrorIs400WithTheErrorName) {
  // CometBFT v1.0 answers broadcast_tx_sync's refusal with a JSON-RPC error.
  FakeCometRpc comet([](const json& request) {
    return Error(request,
                 "tx 6A0F is invalid: code=7, data=, log='DoubleSpend: output 0 of abc is already "
                 "spent', codespace='ledger'");
  });
  auto submitter = MakeSubmitter(comet.url());
  SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kSync);
  EXPECT_EQ(result.outcome, SubmitOutcome::kRejected);
  EXPECT_EQ(HttpStatusOf(result.outcome), 400u);
  EXPECT_EQ(result.message, "Invalid transaction (DoubleSpend): output 0 of abc is already spent");
}

TEST_F(CometRpcSubmitterTest, CommitLooksAtCheckTxAndTxResult) {
  json check_tx = {{"code", 0}, {"log", ""}};
  json tx_result = {{"code", 0}, {"log", ""}};
  std::string section = "tx_result";
  std::mutex mutex;
  FakeCometRpc comet([&](const json& request) {
    std::lock_guard lock(mutex);
    return Result(request,
                  {{"check_tx", check_tx}, {section, tx_result}, {"hash", "AB"}, {"height", "5"}});
  });
  auto submitter = MakeSubmitter(comet.url());
  EXPECT_TRUE(SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit).ok());
  EXPECT_EQ(json::parse(comet.received().back().body)["method"], "broadcast_tx_commit");

  {
    std::lock_guard lock(mutex);
    tx_result = {{"code", 3}, {"log", "SchemaValidationError: bad version"}};
  }
  SubmitResult executed = SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit);
  EXPECT_EQ(executed.outcome, SubmitOutcome::kRejected);
  EXPECT_EQ(executed.message, "Invalid transaction schema: bad version");

  {
    std::lock_guard lock(mutex);
    section = "deliver_tx";  // CometBFT before v0.38
    tx_result = {{"code", 12}, {"log", "something else"}};
  }
  SubmitResult delivered = SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit);
  EXPECT_EQ(delivered.outcome, SubmitOutcome::kRejected);
  EXPECT_EQ(delivered.message,
            "Transaction failed when its block executed (code 12): something else");

  {
    std::lock_guard lock(mutex);
    check_tx = {{"code", 2}, {"log", "InvalidHash: id does not match"}};
  }
  SubmitResult checked = SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit);
  EXPECT_EQ(checked.outcome, SubmitOutcome::kRejected);
  EXPECT_EQ(checked.message, "Invalid transaction (InvalidHash): id does not match");
}

TEST_F(CometRpcSubmitterTest, JsonRpcErrorsMapToStatuses) {
  const std::pair<std::string, unsigned> cases[] = {
      {"tx already exists in cache", 409},
      {"mempool is full: number of txs 5000 (max: 5000), total txs bytes 1 (max: 2)", 503},
      {"timed out waiting for tx to be included in a block", 504},
      {"tx too large. Max size is 1048576, but got 1048577", 400},
      {"something unexpected", 502},
  };
  std::string data;
  std::mutex mutex;
  FakeCometRpc comet([&](const json& request) {
    std::lock_guard lock(mutex);
    return Error(request, data);
  });
  auto submitter = MakeSubmitter(comet.url());
  for (const auto& [error, status] : cases) {
    {
      std::lock_guard lock(mutex);
      data = error;
    }
    SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit);
    EXPECT_EQ(HttpStatusOf(result.outcome), status) << error;
    EXPECT_NE(result.message.find(error), std::string::npos) << result.message;
  }
}

TEST_F(CometRpcSubmitterTest, NonJsonReplyIs502) {
  FakeCometRpc comet([](const json&) { return FakeAnswer{500, "<html>oops</html>"}; });
  auto submitter = MakeSubmitter(comet.url());
  SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kAsync);
  EXPECT_EQ(result.outcome, SubmitOutcome::kEngineError);
  EXPECT_EQ(HttpStatusOf(result.outcome), 502u);
}

TEST_F(CometRpcSubmitterTest, ConnectionRefusedIs502) {
  uint16_t closed_port;
  {
    net::io_context context;
    tcp::acceptor probe(context, {net::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }
  auto submitter = MakeSubmitter("http://127.0.0.1:" + std::to_string(closed_port));
  SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kSync);
  EXPECT_EQ(result.outcome, SubmitOutcome::kEngineError);
  EXPECT_NE(result.message.find("refused"), std::string::npos) << result.message;
}

TEST_F(CometRpcSubmitterTest, NoAnswerInTimeIs504) {
  FakeCometRpc comet([](const json&) {
    FakeAnswer silence;
    silence.hang = true;
    return silence;
  });
  CometRpcOptions options;
  options.request_timeout = std::chrono::milliseconds(100);
  options.commit_timeout = std::chrono::milliseconds(100);
  auto submitter = MakeSubmitter(comet.url(), options);
  SubmitResult sync = SubmitAndWait(*submitter, "{}", BroadcastMode::kSync);
  EXPECT_EQ(sync.outcome, SubmitOutcome::kTimeout);
  EXPECT_EQ(HttpStatusOf(sync.outcome), 504u);
  SubmitResult commit = SubmitAndWait(*submitter, "{}", BroadcastMode::kCommit);
  EXPECT_EQ(commit.outcome, SubmitOutcome::kTimeout);
  EXPECT_NE(commit.message.find("not committed"), std::string::npos) << commit.message;
}

TEST_F(CometRpcSubmitterTest, KeepsTheConnectionAlive) {
  FakeCometRpc comet([](const json& request) { return Result(request, {{"code", 0}}); });
  auto submitter = MakeSubmitter(comet.url());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(SubmitAndWait(*submitter, "{}", BroadcastMode::kAsync).ok());
  }
  EXPECT_EQ(comet.connections(), 1);
}

TEST_F(CometRpcSubmitterTest, ResendsWhenTheServerClosedAnIdleConnection) {
  FakeCometRpc comet([](const json& request) {
    FakeAnswer answer = Result(request, {{"code", 0}});
    answer.drop_connection = true;
    return answer;
  });
  auto submitter = MakeSubmitter(comet.url());
  for (int i = 0; i < 3; ++i) {
    SubmitResult result = SubmitAndWait(*submitter, "{}", BroadcastMode::kAsync);
    EXPECT_TRUE(result.ok()) << result.message;
  }
  EXPECT_EQ(comet.received().size(), 3u) << "each transaction arrives once";
  EXPECT_EQ(comet.connections(), 3) << "each resend needed a fresh connection";
}

TEST_F(CometRpcSubmitterTest, ManyConcurrentSubmissionsShareFewConnections) {
  FakeCometRpc comet([](const json& request) { return Result(request, {{"code", 0}}); });
  CometRpcOptions options;
  options.max_connections = 2;
  auto submitter = MakeSubmitter(comet.url(), options);
  constexpr int kCount = 40;
  std::vector<std::promise<SubmitResult>> answers(kCount);
  for (int i = 0; i < kCount; ++i) {
    submitter->Submit("{\"n\":" + std::to_string(i) + "}", BroadcastMode::kSync,
                      [&answers, i](SubmitResult r) { answers[i].set_value(std::move(r)); });
  }
  for (auto& answer : answers) {
    std::future<SubmitResult> result = answer.get_future();
    ASSERT_EQ(result.wait_for(kHangGuard), std::future_status::ready);
    EXPECT_TRUE(result.get().ok());
  }
  EXPECT_LE(comet.connections(), 2);
  EXPECT_EQ(comet.received().size(), static_cast<size_t>(kCount));
}

TEST_F(CometRpcSubmitterTest, UrlMustBeHttp) {
  std::string error;
  CometRpcOptions options;
  for (const char* url : {"https://127.0.0.1:26657", "127.0.0.1:26657", "http://", "http://h:0",
                          "http://h:99999", "http://h:port"}) {
    options.url = url;
    EXPECT_EQ(CometRpcSubmitter::Create(io_.context(), options, &error), nullptr) << url;
    EXPECT_FALSE(error.empty());
  }
  for (const char* url : {"http://127.0.0.1:26657", "tcp://127.0.0.1:26657", "http://cometbft",
                          "http://[::1]:26657/rpc"}) {
    options.url = url;
    EXPECT_NE(CometRpcSubmitter::Create(io_.context(), options, &error), nullptr) << url << error;
  }
}

TEST_F(CometRpcSubmitterTest, PostsToTheUrlPath) {
  FakeCometRpc comet([](const json& request) { return Result(request, {{"code", 0}}); });
  auto submitter = MakeSubmitter(comet.url() + "/rpc/");
  EXPECT_TRUE(SubmitAndWait(*submitter, "{}", BroadcastMode::kAsync).ok());
  EXPECT_EQ(comet.received().back().target, "/rpc/");
}

}  // namespace
}  // namespace api
