// The event stream end to end: a real Application and BlockStore on LevelDB,
// an EventStream on an ephemeral port, and clients on real sockets.
#include "stream/event_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "stream_test_util.h"

namespace stream {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
namespace websocket = boost::beast::websocket;

using testing::Create;
using testing::ExpectedMessage;
using testing::HeightOf;
using testing::HttpGet;
using testing::HttpSend;
using testing::HttpSendInPieces;
using testing::PublicKey;
using testing::StreamFixture;
using testing::TempDir;
using testing::TestClient;
using testing::TestKey;
using testing::TestTransaction;
using testing::Transfer;
using testing::WaitFor;

using EventStreamTest = StreamFixture;

std::string FromHeight(int64_t height) {
  return std::string(kStreamPath) + "?from_height=" + std::to_string(height);
}

// The JSON body of an HTTP error, checked for the shape BigchainDB uses.
nlohmann::json ErrorBody(const std::string& body, int status) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(json.is_object()) << body;
  if (!json.is_object()) return json;
  EXPECT_EQ(json.value("status", 0), status) << body;
  EXPECT_TRUE(json.contains("message") && json["message"].is_string()) << body;
  return json;
}

TEST_F(EventStreamTest, MessagesHaveExactFormatInBlockOrder) {
  StartStream();
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));

  const ledger::KeyPair alice = TestKey(1), bob = TestKey(2);
  const TestTransaction first = Create(alice, 1);
  const TestTransaction second = Create(alice, 2);
  const TestTransaction to_bob = Transfer(first, alice, bob);
  const TestTransaction back = Transfer(to_bob, bob, alice);
  std::vector<std::string> expected;
  for (const auto& block : {std::vector{first, second}, std::vector{to_bob}, std::vector{back}}) {
    const std::vector<std::string> messages = CommitBlock(block);
    ASSERT_EQ(messages.size(), block.size());
    expected.insert(expected.end(), messages.begin(), messages.end());
  }
  // A TRANSFER's asset_id is the CREATE's id.
  EXPECT_EQ(expected[2], "{\"transaction_id\":\"" + to_bob.id + "\",\"asset_id\":\"" + first.id +
                             "\",\"height\":2}");
  EXPECT_EQ(client.ReadMessages(expected.size()), expected);
  EXPECT_EQ(stream_->counters().subscribers, 1u);
}

TEST_F(EventStreamTest, InvalidTransactionsAndEmptyBlocksSendNothing) {
  StartStream();
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));

  const TestTransaction valid = Create(TestKey(1), 1);
  TestTransaction malformed;
  malformed.raw = "{";
  CommitBlock({valid, valid, malformed});  // the duplicate is invalid too
  CommitBlock({});
  const TestTransaction later = Create(TestKey(1), 2);
  CommitBlock({later});

  EXPECT_EQ(client.ReadMessages(2),
            (std::vector<std::string>{ExpectedMessage(valid, 1), ExpectedMessage(later, 3)}));
}

TEST_F(EventStreamTest, PythonWebsocketClientReceivesWithPingAndIgnoredText) {
  StartStream();
  CommitBlock(Creates(2));
  const std::string url = "ws://127.0.0.1:" + std::to_string(port()) + FromHeight(1);
  const std::string command =
      LEDGERD_PYTHON3 " " LEDGERD_STREAM_TEST_DIR "/python_stream_client.py '" + url + "' 6";
  FILE* python = popen(command.c_str(), "r");
  ASSERT_NE(python, nullptr);
  // The script subscribed from height 1, so blocks committed before or after
  // its connection count alike; committing after it joined exercises live.
  ASSERT_TRUE(WaitFor([&] { return stream_->counters().subscribers == 1; }));
  CommitBlock(Creates(3));
  CommitBlock(Creates(1));

  std::string output;
  char chunk[4096];
  size_t read;
  while ((read = fread(chunk, 1, sizeof chunk, python)) > 0) output.append(chunk, read);
  ASSERT_EQ(pclose(python), 0) << output;

  std::vector<std::string> lines;
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  EXPECT_EQ(lines, MessagesFrom(1));
}

TEST_F(EventStreamTest, PingIsAnsweredWithPong) {
  StartStream();
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));
  EXPECT_TRUE(client.PingAndWaitForPong("are you there"));
}

TEST_F(EventStreamTest, ClientMessagesAreIgnored) {
  StartStream();
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));
  ASSERT_FALSE(client.Write("{\"subscribe\":\"everything\"}"));
  ASSERT_FALSE(client.Write(std::string(1000, '\x01'), /*binary=*/true));
  const std::vector<std::string> messages = CommitBlock(Creates(2));
  EXPECT_EQ(client.ReadMessages(2), messages);
}

TEST_F(EventStreamTest, IdleClientIsPingedAndKeptWhileItAnswers) {
  EventStreamOptions options;
  options.idle_timeout = std::chrono::milliseconds(500);
  StartStream(options);
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));
  // The read that waits for the ping also answers it with a pong.
  ASSERT_TRUE(client.WaitForPing());
  const std::vector<std::string> messages = CommitBlock(Creates(1));
  EXPECT_EQ(client.ReadMessages(1), messages);
}

TEST_F(EventStreamTest, DeadClientIsClosed) {
  EventStreamOptions options;
  options.idle_timeout = std::chrono::milliseconds(500);
  StartStream(options);
  TestClient silent;  // never reads, so never answers a ping
  ASSERT_FALSE(silent.Connect(port(), std::string(kStreamPath)));
  ASSERT_EQ(stream_->counters().subscribers, 1u);
  EXPECT_TRUE(WaitFor([&] { return stream_->counters().subscribers == 0; }));
}

TEST_F(EventStreamTest, OversizedClientMessageClosesWith1009) {
  StartStream();
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));
  ASSERT_FALSE(client.Write(std::string(16 * 1024, 'x')));  // at the limit: fine
  client.Write(std::string(16 * 1024 + 1, 'x'));
  EXPECT_TRUE(client.ReadUntilClosed().empty());
  EXPECT_EQ(client.close_reason().code, websocket::close_code::too_big);
}

TEST_F(EventStreamTest, UnknownPathIs404) {
  StartStream();
  TestClient client;
  EXPECT_EQ(client.Connect(port(), "/api/v1/streams/invalid_transactions"),
            websocket::error::upgrade_declined);
  EXPECT_EQ(client.response().result(), http::status::not_found);
  ErrorBody(client.response().body(), 404);

  const auto response = HttpGet(port(), "/");
  EXPECT_EQ(response.result(), http::status::not_found);
  ErrorBody(response.body(), 404);
}

TEST_F(EventStreamTest, PlainHttpRequestToStreamIs426) {
  StartStream();
  const auto response = HttpGet(port(), std::string(kStreamPath));
  EXPECT_EQ(response.result(), http::status::upgrade_required);
  EXPECT_EQ(response[http::field::upgrade], "websocket");
  ErrorBody(response.body(), 426);
}

// Upgrade requests the WebSocket handshake cannot complete are refused in the
// server's own words, like every other refusal.
TEST_F(EventStreamTest, IncompleteHandshakesAreRefusedWithJson) {
  StartStream();
  auto upgrade = [](unsigned version, std::optional<std::string> key,
                    std::optional<std::string> ws_version) {
    http::request<http::empty_body> request(http::verb::get, std::string(kStreamPath), version);
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::upgrade, "websocket");
    if (key) request.set(http::field::sec_websocket_key, *key);
    if (ws_version) request.set(http::field::sec_websocket_version, *ws_version);
    return request;
  };
  const std::string good_key = "dGhlIHNhbXBsZSBub25jZQ==";
  struct Case {
    std::string name;
    http::request<http::empty_body> request;
    unsigned status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no key", upgrade(11, std::nullopt, "13"), 400, "Sec-WebSocket-Key"},
      {"a key too long", upgrade(11, std::string(25, 'k'), "13"), 400, "Sec-WebSocket-Key"},
      {"no version", upgrade(11, good_key, std::nullopt), 426, "version 13"},
      {"version 8", upgrade(11, good_key, "8"), 426, "version 13"},
      {"HTTP/1.2", upgrade(12, good_key, "13"), 400, "bad version"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto response = HttpSend(port(), c.request);
    EXPECT_EQ(response.result_int(), c.status);
    EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
    const nlohmann::json body = ErrorBody(response.body(), static_cast<int>(c.status));
    EXPECT_NE(body.value("message", "").find(c.message), std::string::npos) << response.body();
    if (c.status == 426) {
      EXPECT_EQ(response[http::field::sec_websocket_version], "13");
    }
  }
  EXPECT_EQ(stream_->counters().subscribers, 0u);
  // The same request with everything in place is upgraded.
  TestClient client;
  EXPECT_FALSE(client.Connect(port(), std::string(kStreamPath)));
}

// Beast checks its head limit within one read's bytes only: an upgrade
// request whose header lines trickle in must still meet the 8 KiB limit.
TEST_F(EventStreamTest, UpgradeHeadOverTheLimitInPiecesIsRefused) {
  StartStream();
  std::string head = "GET " + std::string(kStreamPath) +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  while (head.size() < 9 * 1024) head += "X-Filler: " + std::string(50, 'x') + "\r\n";
  head += "\r\n";
  const auto response = HttpSendInPieces(port(), head, 256);
  EXPECT_EQ(response.result_int(), 400);
  const nlohmann::json body = ErrorBody(response.body(), 400);
  EXPECT_NE(body.value("message", "").find("header limit"), std::string::npos) << response.body();
  EXPECT_EQ(stream_->counters().subscribers, 0u);
}

TEST_F(EventStreamTest, BadParametersAre400BeforeUpgrade) {
  StartStream();
  const std::string path(kStreamPath);
  const std::map<std::string, std::string> cases = {
      {"?from_height=-1", "from_height"},
      {"?from_height=ten", "from_height"},
      {"?asset_id=" + std::string(64, 'A'), "asset_id"},
      {"?asset_id=1234", "asset_id"},
      {"?public_key=not-base58", "public_key"},
      {"?public_key=" + ledger::Base58Encode(std::string(31, 'k')), "public_key"},
      {"?operation=GENESIS", "operation"},
      {"?from=1", "unknown parameter"},
      {"?operation=%C1%FF", "operation"},  // not UTF-8: still a JSON answer
      {"?operation=CREATE&operation=CREATE", "more than once"},
  };
  for (const auto& [query, complaint] : cases) {
    TestClient client;
    EXPECT_EQ(client.Connect(port(), path + query), websocket::error::upgrade_declined) << query;
    EXPECT_EQ(client.response().result(), http::status::bad_request) << query;
    const nlohmann::json body = ErrorBody(client.response().body(), 400);
    EXPECT_NE(body.value("message", "").find(complaint), std::string::npos)
        << query << " -> " << client.response().body();
  }
  EXPECT_EQ(stream_->counters().subscribers, 0u);
}

TEST_F(EventStreamTest, ConnectionLimitAnswers503) {
  EventStreamOptions options;
  options.max_connections = 2;
  StartStream(options);
  TestClient first, second, third;
  ASSERT_FALSE(first.Connect(port(), std::string(kStreamPath)));
  ASSERT_FALSE(second.Connect(port(), std::string(kStreamPath)));
  EXPECT_EQ(third.Connect(port(), std::string(kStreamPath)), websocket::error::upgrade_declined);
  EXPECT_EQ(third.response().result(), http::status::service_unavailable);
  ErrorBody(third.response().body(), 503);
  EXPECT_EQ(stream_->counters().refused_connections, 1u);

  // A place frees up when a subscriber leaves.
  first.Close();
  ASSERT_TRUE(WaitFor([&] { return stream_->counters().subscribers == 1; }));
  TestClient fourth;
  ASSERT_FALSE(fourth.Connect(port(), std::string(kStreamPath)));
  const std::vector<std::string> messages = CommitBlock(Creates(1));
  EXPECT_EQ(fourth.ReadMessages(1), messages);
  EXPECT_EQ(second.ReadMessages(1), messages);
}

TEST_F(EventStreamTest, ResumeReplaysHistoryThenGoesLive) {
  StartStream();
  for (int block = 0; block < 5; ++block) CommitBlock(Creates(3));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), FromHeight(3)));
  CommitBlock(Creates(2));
  const std::vector<std::string> expected = MessagesFrom(3);
  EXPECT_EQ(client.ReadMessages(expected.size()), expected);
  // Nothing more than that: the next message is the next block's.
  const std::vector<std::string> next = CommitBlock(Creates(1));
  EXPECT_EQ(client.ReadMessages(1), next);
}

TEST_F(EventStreamTest, FromHeightZeroReplaysFromTheFirstBlock) {
  StartStream();
  CommitBlock(Creates(2));
  CommitBlock(Creates(2));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), FromHeight(0)));
  EXPECT_EQ(client.ReadMessages(4), MessagesFrom(1));
}

TEST_F(EventStreamTest, FromHeightBeyondTipWaitsForIt) {
  StartStream();
  CommitBlock(Creates(1));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), FromHeight(4)));
  CommitBlock(Creates(1));
  CommitBlock(Creates(1));
  const std::vector<std::string> fourth = CommitBlock(Creates(2));
  EXPECT_EQ(client.ReadMessages(2), fourth);
}

// Several subscribers join, at different points, while blocks commit one
// after another: each receives every transaction from its starting height
// exactly once and in order, across the hand-over from replay to live.
TEST_F(EventStreamTest, ResumeWhileBlocksCommitContinuously) {
  StartStream();
  constexpr int kBlocksBefore = 10, kBlocksDuring = 60, kPerBlock = 5;
  for (int block = 0; block < kBlocksBefore; ++block) CommitBlock(Creates(kPerBlock));
  std::vector<std::vector<TestTransaction>> pending;
  for (int block = 0; block < kBlocksDuring; ++block) pending.push_back(Creates(kPerBlock));

  constexpr int kLastHeight = kBlocksBefore + kBlocksDuring;
  struct Subscriber {
    std::string target;
    std::optional<int64_t> from_height;
    std::vector<std::string> received;
    std::thread reader;
  };
  std::vector<Subscriber> subscribers(5);
  std::atomic<int> committed{kBlocksBefore};
  std::thread committer([&] {
    for (const auto& block : pending) {
      CommitBlock(block);
      ++committed;
    }
  });
  const std::vector<int64_t> start_heights = {1, 7, 0, -1, 30};  // -1: live only
  for (size_t i = 0; i < subscribers.size(); ++i) {
    // Join at different moments of the commit run.
    ASSERT_TRUE(WaitFor([&] { return committed >= kBlocksBefore + static_cast<int>(i) * 10; }));
    Subscriber& subscriber = subscribers[i];
    subscriber.target =
        start_heights[i] >= 0 ? FromHeight(start_heights[i]) : std::string(kStreamPath);
    if (start_heights[i] >= 0) subscriber.from_height = start_heights[i];
    subscriber.reader = std::thread([&subscriber, this] {
      TestClient client;
      if (client.Connect(port(), subscriber.target)) return;
      // Read until the last block's messages are in.
      while (subscriber.received.empty() || HeightOf(subscriber.received.back()) < kLastHeight ||
             subscriber.received.size() % kPerBlock != 0) {
        auto result = client.Read();
        if (!result.message) return;
        subscriber.received.push_back(*result.message);
      }
    });
  }
  committer.join();
  for (Subscriber& subscriber : subscribers) subscriber.reader.join();

  for (const Subscriber& subscriber : subscribers) {
    SCOPED_TRACE(subscriber.target);
    ASSERT_FALSE(subscriber.received.empty());
    // A live-only subscriber starts with some block; from there on it must
    // have everything.
    const int64_t first = subscriber.from_height ? std::max<int64_t>(*subscriber.from_height, 1)
                                                 : HeightOf(subscriber.received.front());
    EXPECT_EQ(subscriber.received, MessagesFrom(first));
  }
}

// A client that stops reading is closed with 1008 naming the last transaction
// it was sent, while another client gets everything; resuming after that
// transaction (or from the next height) gives the first client the rest
// exactly once.
TEST_F(EventStreamTest, SlowConsumerIsClosedWithResumePointAndResumes) {
  EventStreamOptions options;
  options.max_queue_messages = 20;
  options.socket_send_buffer_bytes = 4096;  // stall quickly
  StartStream(options);
  constexpr int kPerBlock = 10;

  TestClient slow;
  ASSERT_FALSE(slow.Connect(port(), std::string(kStreamPath), /*receive_buffer_bytes=*/4096));
  std::atomic<size_t> expected_total{SIZE_MAX};
  std::atomic<size_t> fast_count{0};
  std::vector<std::string> fast_received;
  bool fast_still_open = false;
  TestClient fast;
  ASSERT_FALSE(fast.Connect(port(), std::string(kStreamPath)));
  std::thread fast_reader([&] {
    while (fast_received.size() < expected_total) {
      auto result = fast.Read();
      if (!result.message) return;
      fast_received.push_back(*result.message);
      ++fast_count;
    }
    fast_still_open = true;
  });
  // Each block waits for the reading client, which therefore never falls
  // more than one block (less than the queue) behind, however loaded the
  // machine; only the client that never reads can overflow.
  auto commit_paced = [&] {
    CommitBlock(Creates(kPerBlock));
    const size_t sent = all_messages_.size();
    return WaitFor([&] { return fast_count.load() >= sent; });
  };

  bool kept_up = true;
  for (int block = 0; block < 1000 && kept_up && stream_->counters().slow_consumer_closes == 0;
       ++block) {
    kept_up = commit_paced();
  }
  // The total is known before the last blocks, so the reader stops on its
  // last message instead of waiting for one more.
  constexpr int kBlocksAfterClose = 3;
  expected_total = all_messages_.size() + kBlocksAfterClose * kPerBlock;
  for (int block = 0; block < kBlocksAfterClose && kept_up; ++block) kept_up = commit_paced();
  fast_reader.join();
  ASSERT_TRUE(kept_up) << "the reading client stopped receiving";
  ASSERT_EQ(stream_->counters().slow_consumer_closes, 1u);
  EXPECT_TRUE(fast_still_open);
  EXPECT_EQ(fast_received, all_messages_);

  // The slow client finds what was sent before the close, then the close.
  const std::vector<std::string> before_close = slow.ReadUntilClosed();
  ASSERT_EQ(slow.close_reason().code, websocket::close_code::policy_error);
  const std::string reason(slow.close_reason().reason.data(), slow.close_reason().reason.size());
  // The reason names the last transaction written before the close frame.
  const std::string prefix = "slow consumer; resume with after_transaction_id=";
  ASSERT_EQ(reason.rfind(prefix, 0), 0u) << reason;
  ASSERT_LE(reason.size(), 123u);  // RFC 6455 §5.5
  const std::string resume_after = reason.substr(prefix.size());
  ASSERT_FALSE(before_close.empty());
  EXPECT_EQ(before_close.back().find("{\"transaction_id\":\"" + resume_after + "\""), 0u)
      << before_close.back();
  // It got whole blocks: everything up to that transaction's block, nothing
  // after.
  const int64_t resume_height = HeightOf(before_close.back()) + 1;
  std::vector<std::string> before_resume_height;
  for (const std::string& message : all_messages_) {
    if (HeightOf(message) < resume_height) before_resume_height.push_back(message);
  }
  EXPECT_EQ(before_close, before_resume_height);

  // Resuming after that id gives exactly the missed messages, and so does
  // from_height at the next height.
  const std::vector<std::string> rest = MessagesFrom(resume_height);
  TestClient by_id;
  ASSERT_FALSE(
      by_id.Connect(port(), std::string(kStreamPath) + "?after_transaction_id=" + resume_after));
  TestClient by_height;
  ASSERT_FALSE(by_height.Connect(port(), FromHeight(resume_height)));
  EXPECT_EQ(by_id.ReadMessages(rest.size()), rest);
  EXPECT_EQ(by_height.ReadMessages(rest.size()), rest);
  std::vector<std::string> combined = before_close;
  combined.insert(combined.end(), rest.begin(), rest.end());
  EXPECT_EQ(combined, all_messages_);
  // Nothing more than that: the next message is the next block's.
  const std::vector<std::string> next = CommitBlock(Creates(1));
  EXPECT_EQ(by_id.ReadMessages(1), next);
}

TEST_F(EventStreamTest, FiltersApplyToReplayAndLiveAndCombine) {
  StartStream();
  const ledger::KeyPair alice = TestKey(1), bob = TestKey(2), carol = TestKey(3);
  const TestTransaction x = Create(alice, 1);  // asset X
  const TestTransaction y = Create(bob, 2);    // asset Y
  const TestTransaction x_to_carol = Transfer(x, alice, carol);
  const TestTransaction z = Create(carol, 3);  // asset Z
  const TestTransaction x_to_bob = Transfer(x_to_carol, carol, bob);
  const TestTransaction x_to_carol_again = Transfer(x_to_bob, bob, carol);
  const TestTransaction w = Create(alice, 4);  // asset W
  CommitBlock({x, y});                         // height 1: replayed
  CommitBlock({x_to_carol, z});                // height 2: replayed

  struct Case {
    std::string query;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"asset_id=" + x.id,
       {ExpectedMessage(x, 1), ExpectedMessage(x_to_carol, 2), ExpectedMessage(x_to_bob, 3),
        ExpectedMessage(x_to_carol_again, 4)}},
      // An output's key or an input owner's key.
      {"public_key=" + PublicKey(carol),
       {ExpectedMessage(x_to_carol, 2), ExpectedMessage(z, 2), ExpectedMessage(x_to_bob, 3),
        ExpectedMessage(x_to_carol_again, 4)}},
      {"operation=TRANSFER",
       {ExpectedMessage(x_to_carol, 2), ExpectedMessage(x_to_bob, 3),
        ExpectedMessage(x_to_carol_again, 4)}},
      {"operation=CREATE",
       {ExpectedMessage(x, 1), ExpectedMessage(y, 1), ExpectedMessage(z, 2),
        ExpectedMessage(w, 4)}},
      {"asset_id=" + x.id + "&operation=TRANSFER&public_key=" + PublicKey(bob),
       {ExpectedMessage(x_to_bob, 3), ExpectedMessage(x_to_carol_again, 4)}},
      {"public_key=" + PublicKey(alice) + "&operation=CREATE",
       {ExpectedMessage(x, 1), ExpectedMessage(w, 4)}},
  };
  std::vector<std::unique_ptr<TestClient>> clients;
  for (const Case& c : cases) {
    clients.push_back(std::make_unique<TestClient>());
    ASSERT_FALSE(clients.back()->Connect(port(), FromHeight(1) + "&" + c.query)) << c.query;
  }
  CommitBlock({x_to_bob});             // height 3: live
  CommitBlock({x_to_carol_again, w});  // height 4: live; every case ends here
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(clients[i]->ReadMessages(cases[i].expected.size()), cases[i].expected)
        << cases[i].query;
  }
}

TEST_F(EventStreamTest, StopClosesSessionsWithGoingAway) {
  StartStream();
  CommitBlock(Creates(1));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), std::string(kStreamPath)));
  std::vector<std::string> received;
  std::thread reader([&] { received = client.ReadUntilClosed(); });
  stream_->Stop();
  reader.join();
  EXPECT_TRUE(received.empty());
  EXPECT_EQ(client.close_reason().code, websocket::close_code::going_away);
  const std::string reason(client.close_reason().reason.data(),
                           client.close_reason().reason.size());
  EXPECT_NE(reason.find("from_height=2"), std::string::npos) << reason;
  // Blocks committed after Stop are ignored.
  CommitBlock(Creates(1));
}

TEST_F(EventStreamTest, StopDropsConnectionsThatDoNotFinishClosing) {
  EventStreamOptions options;
  options.stop_grace = std::chrono::milliseconds(100);
  StartStream(options);
  TestClient deaf;  // does not read, so never answers the close frame
  ASSERT_FALSE(deaf.Connect(port(), std::string(kStreamPath)));
  stream_->Stop();
  EXPECT_EQ(stream_->counters().subscribers, 0u);
  // The server's side is gone: reading finds the close frame, then the end.
  EXPECT_TRUE(deaf.ReadUntilClosed().empty());
  EXPECT_EQ(deaf.close_reason().code, websocket::close_code::going_away);
}

TEST_F(EventStreamTest, StartFailsOnPortInUse) {
  StartStream();
  EventStreamOptions options;
  options.port = port();
  EventStream second(*store_, options);
  std::string error;
  EXPECT_FALSE(second.Start(&error));
  EXPECT_NE(error.find(std::to_string(port())), std::string::npos) << error;
}

TEST_F(EventStreamTest, SecureWebSocketWithSelfSignedCertificate) {
  TempDir tls_dir;
  const std::string certificate = tls_dir.path() + "/cert.pem";
  const std::string key = tls_dir.path() + "/key.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + certificate + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);

  EventStreamOptions options;
  options.tls_certificate_file = certificate;
  options.tls_private_key_file = key;
  StartStream(options);
  CommitBlock(Creates(2));

  net::ssl::context tls(net::ssl::context::tls_client);
  tls.load_verify_file(certificate);
  tls.set_verify_mode(net::ssl::verify_peer);
  TestClient client(tls);
  ASSERT_FALSE(client.Connect(port(), FromHeight(1)));
  CommitBlock(Creates(1));
  EXPECT_EQ(client.ReadMessages(3), MessagesFrom(1));
  EXPECT_TRUE(client.PingAndWaitForPong("tls"));

  // A plain ws:// client gets nowhere on a wss:// port.
  TestClient plain;
  EXPECT_TRUE(plain.Connect(port(), std::string(kStreamPath)));
}

TEST_F(EventStreamTest, StartFailsWithUnreadableCertificate) {
  EventStreamOptions options;
  options.tls_certificate_file = dir_.path() + "/missing-cert.pem";
  options.tls_private_key_file = dir_.path() + "/missing-key.pem";
  EventStream stream(*store_, options);
  std::string error;
  EXPECT_FALSE(stream.Start(&error));
  EXPECT_NE(error.find("missing-cert.pem"), std::string::npos) << error;
}

}  // namespace
}  // namespace stream
