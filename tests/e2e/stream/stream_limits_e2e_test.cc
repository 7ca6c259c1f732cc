// The event stream's limits and configuration against the real
// `ledgerd --dev` binary: slow consumers, connection and frame limits, idle
// clients, refused parameters, the advertised URL and wss://.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/stream/stream_e2e_fixture.h"

namespace ledgerd_e2e {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using stream::testing::HttpGet;
using stream::testing::TestClient;
using stream::testing::WaitFor;

// The JSON body of an error answer, checked for BigchainDB's shape.
nlohmann::json ErrorBody(const std::string& body, int status) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(json.is_object()) << body;
  if (!json.is_object()) return json;
  EXPECT_EQ(json.value("status", 0), status) << body;
  EXPECT_TRUE(json.contains("message") && json["message"].is_string()) << body;
  return json;
}

// A client that stops reading is closed with 1008 naming the first height it
// did not get whole, while a client that reads gets everything; resuming from
// that height gives the first client the rest exactly once.
TEST_F(StreamE2eTest, SlowConsumerIsClosedWith1008AndResumesExactlyOnce) {
  constexpr size_t kQueue = 20;
  ASSERT_NO_FATAL_FAILURE(StartNode({"--ws-max-queue", std::to_string(kQueue), "--max-block-txs",
                                     std::to_string(kQueue), "--block-interval", "2ms"}));
  // The kernel buffers what a small receive window and the server's send
  // buffer hold; beyond that the server's queue fills.
  TestClient slow;
  ASSERT_FALSE(slow.Connect(node_->ws_port(), Target(), /*receive_buffer_bytes=*/4096));
  TestClient fast;
  ASSERT_FALSE(fast.Connect(node_->ws_port(), Target()));
  std::atomic<size_t> fast_count{0};
  std::atomic<size_t> expected_total{SIZE_MAX};
  std::vector<std::string> fast_received;
  bool fast_still_open = false;
  std::thread fast_reader([&] {
    while (fast_received.size() < expected_total) {
      TestClient::ReadResult result = fast.Read();
      if (!result.message) return;
      fast_received.push_back(*result.message);
      ++fast_count;
    }
    fast_still_open = true;
  });

  // Each batch is at most one queue's worth and waits for the reading
  // client, which therefore never falls a queue behind however loaded the
  // machine; only the client that never reads overflows.
  HttpClient http_client(node_->http_port());
  std::vector<Tx> submitted;
  std::string failure;
  auto submit_batch = [&]() -> bool {
    for (size_t i = 0; i < kQueue; ++i) {
      const Tx tx = NewCreate(alice_, "slow-" + std::to_string(submitted.size()));
      const HttpClient::Response response =
          http_client.Request(http::verb::post, "/api/v1/transactions?mode=async", tx.json);
      if (response.result_int() != 202) {
        failure = "POST answered " + std::to_string(response.result_int()) + " " + response.body();
        return false;
      }
      submitted.push_back(tx);
    }
    const size_t total = submitted.size();
    if (!WaitFor([&] { return fast_count >= total; })) {
      failure = "the reading client stopped receiving";
      return false;
    }
    return true;
  };
  auto slow_closes = [&] {
    return node_->Metric("ledgerd_stream_slow_consumer_closes_total").value_or(-1);
  };

  bool ok = true;
  for (int batch = 0; batch < 5000 && ok && slow_closes() == 0; ++batch) ok = submit_batch();
  // The server waits only so long for the closing handshake: read at once.
  std::future<std::vector<std::string>> before_close_reading =
      std::async(std::launch::async, [&slow] { return slow.ReadUntilClosed(); });
  // The total is known before the last batches, so the reader stops on its
  // last message instead of waiting for one more.
  constexpr int kBatchesAfterClose = 3;
  expected_total = submitted.size() + kBatchesAfterClose * kQueue;
  for (int batch = 0; batch < kBatchesAfterClose && ok; ++batch) ok = submit_batch();
  if (!ok) fast.Close();
  fast_reader.join();
  const std::vector<std::string> before_close = before_close_reading.get();
  ASSERT_TRUE(ok) << failure;
  ASSERT_EQ(slow_closes(), 1);
  EXPECT_TRUE(fast_still_open);

  // The reading client got every transaction in order, each message exact.
  ASSERT_EQ(fast_received.size(), submitted.size());
  for (size_t i = 0; i < submitted.size(); ++i) {
    ASSERT_EQ(fast_received[i], Message(submitted[i], HeightIn(fast_received[i])));
    if (i > 0) {
      ASSERT_LE(HeightIn(fast_received[i - 1]), HeightIn(fast_received[i]));
    }
  }

  // The close names the last transaction the slow client was sent; it got
  // every block up to that one's whole, and nothing after it.
  ASSERT_EQ(slow.close_reason().code, websocket::close_code::policy_error);
  const std::string reason = CloseReasonOf(slow);
  const std::string prefix = "slow consumer; resume with after_transaction_id=";
  ASSERT_EQ(reason.rfind(prefix, 0), 0u) << reason;
  ASSERT_FALSE(before_close.empty());
  EXPECT_EQ(reason.substr(prefix.size()), IdIn(before_close.back()));
  const int64_t resume_height = HeightIn(before_close.back()) + 1;
  std::vector<std::string> below, rest;
  for (const std::string& message : fast_received) {
    (HeightIn(message) < resume_height ? below : rest).push_back(message);
  }
  EXPECT_EQ(before_close, below);
  ASSERT_FALSE(rest.empty());

  TestClient resumed, resumed_by_height;
  ASSERT_FALSE(resumed.Connect(node_->ws_port(),
                               Target("?after_transaction_id=" + reason.substr(prefix.size()))));
  ASSERT_FALSE(resumed_by_height.Connect(node_->ws_port(),
                                         Target("?from_height=" + std::to_string(resume_height))));
  EXPECT_EQ(resumed.ReadMessages(rest.size()), rest);
  EXPECT_EQ(resumed_by_height.ReadMessages(rest.size()), rest);
  // Nothing more: the next message is the next transaction's.
  const Tx next = NewCreate(bob_, "after the resume");
  ASSERT_NO_FATAL_FAILURE(Submit(next, "commit"));
  EXPECT_EQ(resumed.ReadMessages(1), MessagesOf({next}));
}

TEST_F(StreamE2eTest, BadParametersAre400WithJsonMessage) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"?from_height=-1", "from_height"},
      {"?from_height=ten", "from_height"},
      {"?from_height=99999999999999999999", "from_height"},
      {"?asset_id=" + std::string(64, 'A'), "asset_id"},
      {"?asset_id=1234", "asset_id"},
      {"?public_key=not-base58!", "public_key"},
      {"?public_key=" + ledger::Base58Encode(std::string(31, 'k')), "public_key"},
      {"?operation=BURN", "operation"},
      {"?operation=create", "operation"},
      {"?from=1", "unknown parameter"},
      {"?operation=%C1%FF", "operation"},  // not UTF-8: still a JSON answer
      {"?operation=CREATE&operation=CREATE", "more than once"},
  };
  for (const auto& [query, complaint] : cases) {
    SCOPED_TRACE(query);
    TestClient client;
    EXPECT_EQ(client.Connect(node_->ws_port(), Target(query)), websocket::error::upgrade_declined);
    EXPECT_EQ(client.response().result(), http::status::bad_request);
    EXPECT_EQ(client.response()[http::field::content_type], "application/json");
    const nlohmann::json body = ErrorBody(client.response().body(), 400);
    EXPECT_NE(body.value("message", "").find(complaint), std::string::npos)
        << client.response().body();
    // The same answer to a plain request, which a browser can read.
    const auto plain = HttpGet(node_->ws_port(), Target(query));
    EXPECT_EQ(plain.result(), http::status::bad_request);
    EXPECT_EQ(plain[http::field::access_control_allow_origin], "*");
    EXPECT_EQ(plain.body(), client.response().body());
  }
  EXPECT_EQ(node_->Metric("ledgerd_stream_subscribers"), 0);
}

TEST_F(StreamE2eTest, OtherPathsAre404AndPlainRequestsAre426) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient client;
  EXPECT_EQ(client.Connect(node_->ws_port(), "/api/v1/streams/invalid_transactions"),
            websocket::error::upgrade_declined);
  EXPECT_EQ(client.response().result(), http::status::not_found);
  ErrorBody(client.response().body(), 404);

  const auto plain = HttpGet(node_->ws_port(), Target());
  EXPECT_EQ(plain.result(), http::status::upgrade_required);
  EXPECT_EQ(plain[http::field::upgrade], "websocket");
  ErrorBody(plain.body(), 426);
}

TEST_F(StreamE2eTest, ConnectionLimitAnswers503) {
  ASSERT_NO_FATAL_FAILURE(StartNode({"--ws-max-connections", "2"}));
  TestClient first, second, third;
  ASSERT_FALSE(first.Connect(node_->ws_port(), Target()));
  ASSERT_FALSE(second.Connect(node_->ws_port(), Target()));
  EXPECT_EQ(third.Connect(node_->ws_port(), Target()), websocket::error::upgrade_declined);
  EXPECT_EQ(third.response().result(), http::status::service_unavailable);
  EXPECT_FALSE(third.response()[http::field::retry_after].empty());
  ErrorBody(third.response().body(), 503);

  // A place frees up when a subscriber leaves.
  first.Close();
  ASSERT_TRUE(WaitForSubscribers(1));
  TestClient fourth;
  ASSERT_FALSE(fourth.Connect(node_->ws_port(), Target()));
  const Tx tx = NewCreate(alice_, "within the limit");
  ASSERT_NO_FATAL_FAILURE(Submit(tx, "commit"));
  const std::vector<std::string> expected = MessagesOf({tx});
  EXPECT_EQ(fourth.ReadMessages(1), expected);
  EXPECT_EQ(second.ReadMessages(1), expected);
}

TEST_F(StreamE2eTest, OversizedClientFrameClosesWith1009) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient client;
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target()));
  ASSERT_FALSE(client.Write(std::string(16 * 1024, 'x')));  // at the limit: ignored
  EXPECT_TRUE(client.PingAndWaitForPong("still open"));
  client.Write(std::string(16 * 1024 + 1, 'x'));
  EXPECT_TRUE(client.ReadUntilClosed().empty());
  EXPECT_EQ(client.close_reason().code, websocket::close_code::too_big);
  EXPECT_TRUE(WaitForSubscribers(0));
}

// With --ws-idle-timeout, a silent client is pinged after half of it and
// closed after all of it, while one that answers (its reads answer pings)
// stays.
TEST_F(StreamE2eTest, IdleClientsArePingedAndDeadOnesClosed) {
  ASSERT_NO_FATAL_FAILURE(StartNode({"--ws-idle-timeout", "1s"}));
  TestClient silent, alive;
  ASSERT_FALSE(silent.Connect(node_->ws_port(), Target()));
  ASSERT_FALSE(alive.Connect(node_->ws_port(), Target()));
  std::promise<bool> pinged;
  std::vector<std::string> received;
  std::thread reader([&] {
    pinged.set_value(alive.WaitForPing());
    received = alive.ReadMessages(1);
  });
  EXPECT_TRUE(pinged.get_future().get());
  EXPECT_TRUE(WaitForSubscribers(1));

  const Tx tx = NewCreate(alice_, "for the living");
  ASSERT_NO_FATAL_FAILURE(Submit(tx, "commit"));
  reader.join();
  EXPECT_EQ(received, MessagesOf({tx}));
  EXPECT_TRUE(silent.ReadUntilClosed().empty());
}

// The HTTP API's root names the stream, and a client that follows the
// advertised URL receives it.
TEST_F(StreamE2eTest, RootAdvertisesTheStreamUrl) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::string url =
      "ws://127.0.0.1:" + std::to_string(node_->ws_port()) + "/api/v1/streams/valid_transactions";
  const nlohmann::json v1 = nlohmann::json::parse(node_->Get("/api/v1/").body(), nullptr, false);
  ASSERT_TRUE(v1.is_object());
  EXPECT_EQ(v1.value("streams", ""), url);
  const nlohmann::json root = nlohmann::json::parse(node_->Get("/").body(), nullptr, false);
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root["api"]["v1"].value("streams", ""), url);

  const std::string prefix = "ws://127.0.0.1:";
  ASSERT_EQ(url.rfind(prefix, 0), 0u);
  const size_t path_at = url.find('/', prefix.size());
  const auto port = static_cast<uint16_t>(std::stoi(url.substr(prefix.size(), path_at)));
  TestClient client;
  ASSERT_FALSE(client.Connect(port, url.substr(path_at)));
  const Tx tx = NewCreate(alice_, "advertised");
  ASSERT_NO_FATAL_FAILURE(Submit(tx, "commit"));
  EXPECT_EQ(client.ReadMessages(1), MessagesOf({tx}));
}

TEST_F(StreamE2eTest, RootAdvertisesTheConfiguredStreamUrl) {
  const std::string url = "wss://ledger.example.com/api/v1/streams/valid_transactions";
  ASSERT_NO_FATAL_FAILURE(StartNode({"--advertised-ws-url", url}));
  const nlohmann::json v1 = nlohmann::json::parse(node_->Get("/api/v1/").body(), nullptr, false);
  ASSERT_TRUE(v1.is_object());
  EXPECT_EQ(v1.value("streams", ""), url);
  const nlohmann::json root = nlohmann::json::parse(node_->Get("/").body(), nullptr, false);
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root["api"]["v1"].value("streams", ""), url);
}

// wss:// with a certificate made by the openssl command at test time; the
// client verifies it, and follows the URL the root advertises.
TEST_F(StreamE2eTest, SecureStreamWithSelfSignedCertificate) {
  const std::string certificate = dir_.path() + "/cert.pem";
  const std::string key = dir_.path() + "/key.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + certificate + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << "is the openssl command installed?";
  ASSERT_NO_FATAL_FAILURE(StartNode({"--ws-tls-cert", certificate, "--ws-tls-key", key}));

  const std::string url =
      "wss://127.0.0.1:" + std::to_string(node_->ws_port()) + "/api/v1/streams/valid_transactions";
  const nlohmann::json v1 = nlohmann::json::parse(node_->Get("/api/v1/").body(), nullptr, false);
  ASSERT_TRUE(v1.is_object());
  EXPECT_EQ(v1.value("streams", ""), url);

  const Tx first = NewCreate(alice_, "before");
  ASSERT_NO_FATAL_FAILURE(Submit(first, "commit"));
  net::ssl::context tls(net::ssl::context::tls_client);
  tls.load_verify_file(certificate);
  tls.set_verify_mode(net::ssl::verify_peer);
  tls.set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
  TestClient client(tls);
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target("?from_height=1")));
  const Tx second = NewCreate(bob_, "after");
  ASSERT_NO_FATAL_FAILURE(Submit(second, "commit"));
  EXPECT_EQ(client.ReadMessages(2), MessagesOf({first, second}));
  EXPECT_TRUE(client.PingAndWaitForPong("tls"));

  // A plain ws:// client gets nowhere on a wss:// port.
  TestClient plain;
  EXPECT_TRUE(plain.Connect(node_->ws_port(), Target()));
  // Nor does a client that does not trust the certificate.
  net::ssl::context untrusting(net::ssl::context::tls_client);
  untrusting.set_verify_mode(net::ssl::verify_peer);
  TestClient stranger(untrusting);
  EXPECT_TRUE(stranger.Connect(node_->ws_port(), Target()));
}

}  // namespace
}  // namespace ledgerd_e2e
