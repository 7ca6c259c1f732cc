// Misbehaving clients against the real ledgerd --dev binary. Each test
// abuses one way, then asserts that a well-behaved client is still served
// (each step within kRequestBound: a bound that catches hangs, not a
// benchmark) and that ledgerd's resident memory stays below kRssBoundMib.
// The limits they rely on are flags, set small here so the tests run fast;
// docs/limits.md lists them.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/json.h"
#include "ledger/transaction.h"
#include "tests/e2e/hardening/hardening_test_util.h"

namespace hardening {
namespace {

using boost::beast::http::verb;

#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kSanitizerFactor = 3;  // ASan's shadow memory and redzones
#else
constexpr uint64_t kSanitizerFactor = 1;
#endif
// ledgerd's resident memory must stay below this during every test (the
// idle node takes a few tens of MiB).
constexpr uint64_t kRssBoundMib = 512 * kSanitizerFactor;

const std::string kStreamPath = "/api/v1/streams/valid_transactions";

// Closes its file descriptors when it goes away.
class Sockets {
 public:
  Sockets() = default;
  ~Sockets() {
    for (int fd : fds_) close(fd);
  }
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  void Add(int fd) { fds_.push_back(fd); }
  const std::vector<int>& fds() const { return fds_; }
  void CloseFirst() {
    close(fds_.front());
    fds_.erase(fds_.begin());
  }

 private:
  std::vector<int> fds_;
};

void ExpectRssBelowBound(const DevNode& node) {
  const uint64_t rss_mib = node.RssKib() / 1024;
  EXPECT_GT(rss_mib, 0u) << "cannot read VmRSS of ledgerd";
  EXPECT_LT(rss_mib, kRssBoundMib) << "ledgerd's resident memory";
  std::cout << "[ rss      ] ledgerd " << rss_mib << " MiB (bound " << kRssBoundMib << ")\n";
}

// The value of the Prometheus sample `name` at GET /metrics; -1 if absent.
double Metric(const DevNode& node, const std::string& name) {
  const HttpResult metrics = HttpRequest(node.http_port(), verb::get, "/metrics");
  const std::regex line("(^|\n)" + name + " ([0-9.e+]+)");
  std::smatch match;
  if (!std::regex_search(metrics.body, match, line)) return -1;
  return std::stod(match[2]);
}

// The status code of an HTTP response head ("HTTP/1.1 400 ..."); 0 if none.
unsigned StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return static_cast<unsigned>(std::stoi(response.substr(9, 3)));
}

// A masked client frame header (RFC 6455 §5.2) with payload length
// `length`, FIN set and `opcode`.
std::string FrameHeader(uint8_t opcode, uint64_t length, bool fin = true) {
  std::string header(1, static_cast<char>((fin ? 0x80 : 0x00) | opcode));
  if (length < 126) {
    header += static_cast<char>(0x80 | length);
  } else if (length <= 0xffff) {
    header += static_cast<char>(0x80 | 126);
    header += static_cast<char>(length >> 8);
    header += static_cast<char>(length & 0xff);
  } else {
    header += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) header += static_cast<char>(length >> shift);
  }
  return header + std::string("\x01\x02\x03\x04", 4);  // the masking key
}

TEST(AbuseTest, TenThousandIdleWebSocketConnections) {
  constexpr int kIdle = 10'000;
  // The test holds one descriptor per connection, and so does ledgerd, which
  // inherits the raised limit.
  if (RaiseOpenFileLimit(kIdle + 2'000) < kIdle + 1'000) {
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is below " << kIdle + 1'000;
  }
  DevNode node({"--ws-max-connections", std::to_string(kIdle)});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  Sockets idle;
  const std::string upgrade = UpgradeRequest();
  constexpr int kBatch = 500;  // upgrades in flight at once
  for (int first = 0; first < kIdle; first += kBatch) {
    std::vector<int> batch;
    for (int i = first; i < first + kBatch && i < kIdle; ++i) {
      const int fd = ConnectRaw(node.ws_port());
      ASSERT_GE(fd, 0) << "connection " << i;
      idle.Add(fd);
      batch.push_back(fd);
      ASSERT_TRUE(SendAll(fd, upgrade));
    }
    for (int fd : batch) {
      const std::optional<std::string> head = ReadUntil(fd, "\r\n\r\n");
      ASSERT_TRUE(head.has_value()) << "no upgrade answer within " << kRequestBound.count() << " s";
      ASSERT_EQ(StatusOf(*head), 101u) << *head;
    }
  }
  ExpectRssBelowBound(node);

  // One more is refused with a reason, while the others stay connected.
  const int extra = ConnectRaw(node.ws_port());
  ASSERT_GE(extra, 0);
  ASSERT_TRUE(SendAll(extra, upgrade));
  const std::optional<std::string> refusal = ReadUntilClosed(extra);
  close(extra);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(StatusOf(*refusal), 503u) << *refusal;
  EXPECT_NE(refusal->find("too many subscribers"), std::string::npos) << *refusal;

  // A place freed is a place for a well-behaved subscriber.
  idle.CloseFirst();
  ASSERT_TRUE(WaitFor([&] { return Metric(node, "ledgerd_stream_subscribers") == kIdle - 1; }));
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, HundredSubscribersThatNeverReadAreClosedWhileBlocksCommit) {
  constexpr int kStalled = 100;
  constexpr int kQueue = 100;
  constexpr int kTransactionsPerRound = 2'000;
  constexpr int kMaxRounds = 30;
  RaiseOpenFileLimit(4'096);
  DevNode node({"--ws-max-queue", std::to_string(kQueue), "--max-block-txs",
                std::to_string(kQueue), "--ws-handshake-timeout", "2s"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  Sockets stalled;
  for (int i = 0; i < kStalled; ++i) {
    const int fd = ConnectRaw(node.ws_port(), /*receive_buffer=*/4096);
    ASSERT_GE(fd, 0);
    stalled.Add(fd);
    ASSERT_TRUE(SendAll(fd, UpgradeRequest()));
    const std::optional<std::string> head = ReadUntil(fd, "\r\n\r\n");
    ASSERT_TRUE(head.has_value());
    ASSERT_EQ(StatusOf(*head), 101u) << *head;
  }
  // From here on they read nothing. Blocks keep committing until each has
  // more queued than the kernel's socket buffers and the queue hold (how much
  // the kernel buffers depends on its TCP autotuning, hence rounds).
  auto slow_closes = [&] { return Metric(node, "ledgerd_stream_slow_consumer_closes_total"); };
  int rounds = 0;
  for (; rounds < kMaxRounds && slow_closes() < kStalled; ++rounds) {
    std::vector<std::thread> posters;
    std::atomic<int> accepted{0};
    for (int poster = 0; poster < 4; ++poster) {
      posters.emplace_back([&] {
        for (int i = 0; i < kTransactionsPerRound / 4; ++i) {
          const SignedTransaction tx = NewCreate("flood");
          if (HttpRequest(node.http_port(), verb::post, "/api/v1/transactions?mode=async", tx.raw)
                  .status == 202) {
            ++accepted;
          }
        }
      });
    }
    ExpectWellBehavedClientServed(node);
    for (std::thread& poster : posters) poster.join();
    ASSERT_EQ(accepted, kTransactionsPerRound);
    ExpectWellBehavedClientServed(node);
  }
  std::cout << "[ flood    ] " << rounds * kTransactionsPerRound << " transactions\n";

  // Every stalled subscriber fell more than the queue behind: closed with
  // 1008, and its connection dropped when the close handshake timed out.
  EXPECT_TRUE(WaitFor([&] { return slow_closes() >= kStalled; })) << slow_closes();
  EXPECT_TRUE(WaitFor([&] { return Metric(node, "ledgerd_stream_subscribers") == 0; }))
      << Metric(node, "ledgerd_stream_subscribers");
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, OversizedClientFramesCloseOnlyTheirConnection) {
  DevNode node({"--ws-max-message-bytes", "4096"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  struct Case {
    std::string name;
    std::string bytes;  // sent after the upgrade
  };
  const std::vector<Case> cases = {
      // A header announcing a 1 GiB text message, and the first bytes of it.
      {"one 1 GiB frame", FrameHeader(0x1, 1ull << 30) + std::string(65536, 'x')},
      // The largest length the header can carry.
      {"a 2^63-1 byte frame", FrameHeader(0x2, 0x7fffffffffffffffull)},
      // Fragments that are small alone and too large together.
      {"fragments", [] {
         std::string bytes = FrameHeader(0x1, 1000, false) + std::string(1000, 'a');
         for (int i = 0; i < 10; ++i) bytes += FrameHeader(0x0, 1000, false) + std::string(1000, 'a');
         return bytes;
       }()},
  };
  for (const Case& abuse : cases) {
    SCOPED_TRACE(abuse.name);
    StreamClient client;
    ASSERT_TRUE(client.Connect(node.ws_port()));
    ASSERT_TRUE(client.SendRaw(abuse.bytes));
    EXPECT_EQ(client.Read(), std::nullopt);
    EXPECT_FALSE(client.timed_out()) << "not closed within " << kRequestBound.count() << " s";
    EXPECT_EQ(client.close_code(), 1009) << "1009: message too big";
  }
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, MalformedAndHalfFinishedHandshakesAreAnsweredOrDropped) {
  RaiseOpenFileLimit(4'096);
  DevNode node({"--ws-handshake-timeout", "2s"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  // Requests that are whole but wrong are answered with an HTTP error and
  // closed.
  const std::string path = kStreamPath;
  const std::vector<std::string> malformed = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",  // TLS hello
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
      "GET " + path + " HTTP/9.1\r\n\r\n",
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n",
      "GET " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "GET " + path + "?from_height=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const std::string& request : malformed) {
    SCOPED_TRACE(request.substr(0, 60));
    const int fd = ConnectRaw(node.ws_port());
    ASSERT_GE(fd, 0);
    SendAll(fd, request);  // the server may close before it has read it all
    const std::optional<std::string> answer = ReadUntilClosed(fd);
    close(fd);
    ASSERT_TRUE(answer.has_value()) << "not closed within " << kRequestBound.count() << " s";
    const unsigned status = StatusOf(*answer);
    EXPECT_TRUE(status >= 400 && status < 500) << *answer;
  }

  // Half-finished handshakes, and connections that send nothing: dropped
  // when the handshake timeout passes, without disturbing anyone else.
  constexpr int kHalf = 200;
  Sockets half;
  for (int i = 0; i < kHalf; ++i) {
    const int fd = ConnectRaw(node.ws_port());
    ASSERT_GE(fd, 0);
    half.Add(fd);
    if (i % 2 == 0) {
      ASSERT_TRUE(SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: webs"));
    }
  }
  ExpectWellBehavedClientServed(node);
  for (int fd : half.fds()) {
    const std::optional<std::string> answer = ReadUntilClosed(fd, 2s + kRequestBound);
    ASSERT_TRUE(answer.has_value()) << "a half-finished handshake outlived the handshake timeout";
  }
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, HttpSlowlorisConnectionsAreClosedAtTheReadTimeout) {
  constexpr int kSlow = 200;
  RaiseOpenFileLimit(4'096);
  DevNode node({"--http-read-timeout", "2s"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  Sockets slow;
  for (int i = 0; i < kSlow; ++i) {
    const int fd = ConnectRaw(node.http_port());
    ASSERT_GE(fd, 0);
    slow.Add(fd);
    ASSERT_TRUE(SendAll(fd, "GET /health HTTP/1.1\r\nHost: x\r\n"));
  }
  // One header byte per connection every 100 ms, until the server closes it
  // (a send fails) or the test gives up.
  std::vector<bool> closed(kSlow, false);
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    const auto give_up = std::chrono::steady_clock::now() + 2s + kRequestBound;
    while (!stop && std::chrono::steady_clock::now() < give_up) {
      int open = 0;
      for (int i = 0; i < kSlow; ++i) {
        if (closed[i]) continue;
        const int fd = slow.fds()[i];
        char byte;
        if (recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0 ||
            send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
          closed[i] = true;
        } else {
          ++open;
        }
      }
      if (open == 0) return;
      std::this_thread::sleep_for(100ms);
    }
  });
  ExpectWellBehavedClientServed(node);
  trickler.join();
  stop = true;
  EXPECT_EQ(std::count(closed.begin(), closed.end(), true), kSlow)
      << "trickling connections still open " << kRequestBound.count()
      << " s after the 2 s read timeout";
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, HugeHeadersAre431AndClosed) {
  DevNode node({"--http-max-header-bytes", "4096"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  std::string many_headers = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10'000; ++i) many_headers += "X-" + std::to_string(i) + ": y\r\n";
  const std::vector<std::string> requests = {
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n",
      "GET /" + std::string(16 << 10, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      many_headers + "\r\n",
      // A header that never ends: the answer comes once the limit is passed.
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: " + std::string(8 << 20, 'a'),
  };
  for (const std::string& request : requests) {
    SCOPED_TRACE(request.substr(0, 40));
    const int fd = ConnectRaw(node.http_port());
    ASSERT_GE(fd, 0);
    SendAll(fd, request);  // the server stops reading after the limit
    const std::optional<std::string> answer = ReadUntilClosed(fd);
    close(fd);
    ASSERT_TRUE(answer.has_value()) << "not closed within " << kRequestBound.count() << " s";
    EXPECT_EQ(StatusOf(*answer), 431u) << answer->substr(0, 200);
    EXPECT_NE(answer->find("Request header fields too large (limit 4096 bytes)"),
              std::string::npos)
        << *answer;
  }
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

// `raw` (a signed transaction) with another transaction's fulfillment and
// the id recomputed: well-formed, correctly hashed, wrongly signed.
std::string WithForeignSignature(const std::string& raw, const std::string& other) {
  ledger::JsonValue document, donor;
  EXPECT_TRUE(ledger::ParseJson(raw, &document).ok());
  EXPECT_TRUE(ledger::ParseJson(other, &donor).ok());
  ledger::JsonValue& input = document.FindMutable("inputs")->mutable_items()[0];
  *input.FindMutable("fulfillment") =
      *donor.Find("inputs")->items()[0].Find("fulfillment");
  document.Set("id", ledger::JsonValue::String(ledger::ComputeId(document)));
  return ledger::CanonicalJson(document);
}

TEST(AbuseTest, ThousandConcurrentInvalidPostsAreEachRefused) {
  constexpr int kPosts = 1'000;
  RaiseOpenFileLimit(4'096);
  DevNode node;
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  // Three kinds, each refused at a different stage of validation.
  std::vector<std::string> bodies;
  for (int i = 0; i < kPosts; ++i) {
    const SignedTransaction tx = NewCreate("invalid");
    switch (i % 3) {
      case 0:  // the id is not the hash
        bodies.push_back(std::string(tx.raw).replace(tx.raw.find(tx.id), 64, std::string(64, 'a')));
        break;
      case 1:  // signed by someone else
        bodies.push_back(WithForeignSignature(tx.raw, NewCreate("donor").raw));
        break;
      default:  // not JSON
        bodies.push_back(tx.raw.substr(0, tx.raw.size() / 2));
    }
  }
  Sockets posts;
  for (size_t i = 0; i < bodies.size(); ++i) {
    const int fd = ConnectRaw(node.http_port());
    ASSERT_GE(fd, 0);
    posts.Add(fd);
  }
  // All at once: every request is on the wire before any answer is read.
  for (size_t i = 0; i < bodies.size(); ++i) {
    ASSERT_TRUE(SendAll(posts.fds()[i], "POST /api/v1/transactions?mode=commit HTTP/1.1\r\n"
                                        "Host: x\r\nContent-Type: application/json\r\n"
                                        "Connection: close\r\nContent-Length: " +
                                            std::to_string(bodies[i].size()) + "\r\n\r\n" +
                                            bodies[i]));
  }
  ExpectWellBehavedClientServed(node);
  const std::vector<std::string> errors = {"InvalidHash", "InvalidSignature",
                                           "MalformedTransaction"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::optional<std::string> answer = ReadUntilClosed(posts.fds()[i]);
    ASSERT_TRUE(answer.has_value()) << "POST " << i << " not answered within "
                                    << kRequestBound.count() << " s";
    ASSERT_EQ(StatusOf(*answer), 400u) << *answer;
    EXPECT_NE(answer->find("Invalid transaction (" + errors[i % 3] + ")"), std::string::npos)
        << *answer;
  }
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

TEST(AbuseTest, JsonBombsAreRefusedWithAClearMessage) {
  DevNode node;
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  auto keys = [](int count, int padding) {
    std::string json = "{";
    for (int i = 0; i < count; ++i) {
      json += (i ? ",\"" : "\"") + std::string(padding, 'k') + std::to_string(i) + "\":0";
    }
    return json + "}";
  };
  const SignedTransaction valid = NewCreate("bomb");
  struct Bomb {
    std::string name;
    std::string body;
    unsigned status;
    std::string message;  // part of the answer's message
  };
  const std::vector<Bomb> bombs = {
      {"100000 nested arrays", std::string(100'000, '[') + std::string(100'000, ']'), 400,
       "Invalid transaction (MalformedTransaction)"},
      {"50000 nested objects",
       [] {
         std::string json;
         for (int i = 0; i < 50'000; ++i) json += "{\"a\":";
         return json + "1" + std::string(50'000, '}');
       }(),
       400, "Invalid transaction (MalformedTransaction)"},
      {"10^5 keys", keys(100'000, 0), 400, "Invalid transaction"},
      {"10^5 keys over 1 MiB", keys(100'000, 4), 413, "Request body too large"},
      {"1e400 alone", "1e400", 400, "Invalid transaction (MalformedTransaction)"},
      {"1e400 in a transaction",
       std::string(valid.raw).insert(valid.raw.rfind('}'), ",\"x\":1e400"), 400,
       "Invalid transaction"},
      {"invalid UTF-8", "{\"id\":\"\xff\xfe\xc0\x80\"}", 400,
       "Invalid transaction (MalformedTransaction)"},
      {"a lone surrogate", "{\"id\":\"\\ud800\"}", 400,
       "Invalid transaction (MalformedTransaction)"},
  };
  for (const Bomb& bomb : bombs) {
    SCOPED_TRACE(bomb.name);
    const HttpResult answer =
        HttpRequest(node.http_port(), verb::post, "/api/v1/transactions", bomb.body);
    ASSERT_EQ(answer.status, bomb.status) << answer.error << answer.body.substr(0, 300);
    const nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << answer.body.substr(0, 300);
    EXPECT_EQ(body["status"], bomb.status);
    const std::string message = body["message"].is_string() ? body["message"] : "";
    EXPECT_NE(message.find(bomb.message), std::string::npos) << message;
    std::cout << "[ answer   ] " << bomb.name << ": " << answer.status << " "
              << message.substr(0, 120) << "\n";
  }
  ExpectWellBehavedClientServed(node);
  ExpectRssBelowBound(node);
}

}  // namespace
}  // namespace hardening
