// Resuming the event stream by transaction id (after_transaction_id): a real
// Application and BlockStore on LevelDB, an EventStream on an ephemeral port,
// and clients on real sockets.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "stream/event_stream.h"
#include "stream_test_util.h"

namespace stream {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

using testing::Create;
using testing::ExpectedMessage;
using testing::HeightOf;
using testing::HttpGet;
using testing::PublicKey;
using testing::TestClient;
using testing::TestKey;
using testing::TestTransaction;
using testing::Transfer;
using testing::WaitFor;

using ResumeTest = testing::StreamFixture;

std::string After(const std::string& id) {
  return std::string(kStreamPath) + "?after_transaction_id=" + id;
}

// The id a stream message names.
std::string IdOf(const std::string& message) {
  return nlohmann::json::parse(message).at("transaction_id").get<std::string>();
}

std::string ReasonOf(const TestClient& client) {
  const websocket::close_reason reason = client.close_reason();
  return std::string(reason.reason.data(), reason.reason.size());
}

// The messages of all_messages_ after the one naming `id`.
std::vector<std::string> MessagesAfter(const std::vector<std::string>& all, const std::string& id) {
  std::vector<std::string> after;
  bool found = false;
  for (const std::string& message : all) {
    if (found) after.push_back(message);
    if (IdOf(message) == id) found = true;
  }
  EXPECT_TRUE(found) << id;
  return after;
}

TEST_F(ResumeTest, ResumesAtTheNextTransactionInsideABlock) {
  StartStream();
  const std::vector<TestTransaction> first = Creates(3);
  CommitBlock(first);
  CommitBlock(Creates(2));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), After(first[1].id)));
  const std::vector<std::string> expected = MessagesAfter(all_messages_, first[1].id);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(client.ReadMessages(expected.size()), expected);
  // Then live, with nothing in between.
  const std::vector<std::string> next = CommitBlock(Creates(1));
  EXPECT_EQ(client.ReadMessages(1), next);
}

TEST_F(ResumeTest, ResumesAcrossBlocksAndEmptyBlocks) {
  StartStream();
  const std::vector<TestTransaction> first = Creates(2);
  CommitBlock(first);
  CommitBlock({});  // an empty block between
  const std::vector<std::string> third = CommitBlock(Creates(2));
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), After(first.back().id)));
  EXPECT_EQ(client.ReadMessages(2), third);
  const std::vector<std::string> next = CommitBlock(Creates(2));
  EXPECT_EQ(client.ReadMessages(2), next);
}

TEST_F(ResumeTest, AtTheTipWaitsForTheNextBlock) {
  StartStream();
  const std::vector<TestTransaction> block = Creates(2);
  CommitBlock(block);
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), After(block.back().id)));
  // The first message the client gets is the next block's.
  const std::vector<std::string> next = CommitBlock(Creates(3));
  EXPECT_EQ(client.ReadMessages(3), next);
}

// "Follows" is taken in the filtered sequence: what matches the filter after
// the named transaction's position, whether or not that one matches.
TEST_F(ResumeTest, CombinesWithEachFilter) {
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
      // After a transaction the filter does not match.
      {"after_transaction_id=" + y.id + "&asset_id=" + x.id,
       {ExpectedMessage(x_to_carol, 2), ExpectedMessage(x_to_bob, 3),
        ExpectedMessage(x_to_carol_again, 4)}},
      // After one it matches, inside its block.
      {"after_transaction_id=" + x_to_carol.id + "&public_key=" + PublicKey(carol),
       {ExpectedMessage(z, 2), ExpectedMessage(x_to_bob, 3), ExpectedMessage(x_to_carol_again, 4)}},
      {"after_transaction_id=" + x.id + "&operation=CREATE",
       {ExpectedMessage(y, 1), ExpectedMessage(z, 2), ExpectedMessage(w, 4)}},
      {"after_transaction_id=" + z.id + "&operation=TRANSFER",
       {ExpectedMessage(x_to_bob, 3), ExpectedMessage(x_to_carol_again, 4)}},
      {"after_transaction_id=" + x.id + "&asset_id=" + x.id +
           "&operation=TRANSFER&public_key=" + PublicKey(bob),
       {ExpectedMessage(x_to_bob, 3), ExpectedMessage(x_to_carol_again, 4)}},
  };
  std::vector<std::unique_ptr<TestClient>> clients;
  for (const Case& c : cases) {
    clients.push_back(std::make_unique<TestClient>());
    ASSERT_FALSE(clients.back()->Connect(port(), std::string(kStreamPath) + "?" + c.query))
        << c.query;
  }
  CommitBlock({x_to_bob});             // height 3: live
  CommitBlock({x_to_carol_again, w});  // height 4: live; every case ends here
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(clients[i]->ReadMessages(cases[i].expected.size()), cases[i].expected)
        << cases[i].query;
  }
}

TEST_F(ResumeTest, RefusalsAre400WithJsonBeforeUpgrade) {
  StartStream();
  const TestTransaction committed = Create(TestKey(1), 1);
  const TestTransaction spend = Transfer(committed, TestKey(1), TestKey(2));
  const TestTransaction double_spend = Transfer(committed, TestKey(1), TestKey(3));
  CommitBlock({committed, spend, double_spend});  // the double spend is invalid
  ASSERT_EQ(all_messages_.size(), 2u);

  struct Case {
    std::string query;
    std::string complaint;
  };
  const std::vector<Case> cases = {
      {"after_transaction_id=" + std::string(64, 'f'), "is not a committed transaction"},
      {"after_transaction_id=" + double_spend.id, "is not a committed transaction"},
      {"after_transaction_id=xyz", "after_transaction_id must be 64 lower-case hexadecimal"},
      {"after_transaction_id=" + std::string(64, 'F'), "after_transaction_id must be 64"},
      {"after_transaction_id=" + committed.id + "&from_height=1", "exclude each other"},
      {"from_height=1&after_transaction_id=" + committed.id, "exclude each other"},
      {"after_transaction_id=" + committed.id + "&after_transaction_id=" + committed.id,
       "more than once"},
  };
  for (const Case& c : cases) {
    const std::string target = std::string(kStreamPath) + "?" + c.query;
    TestClient client;
    EXPECT_EQ(client.Connect(port(), target), websocket::error::upgrade_declined) << c.query;
    EXPECT_EQ(client.response().result(), http::status::bad_request) << c.query;
    const nlohmann::json body =
        nlohmann::json::parse(client.response().body(), nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(body.is_object()) << client.response().body();
    EXPECT_EQ(body.value("status", 0), 400) << client.response().body();
    EXPECT_NE(body.value("message", "").find(c.complaint), std::string::npos)
        << c.query << " -> " << client.response().body();
    // A browser reads the same answer with a plain GET.
    EXPECT_EQ(HttpGet(port(), target).result(), http::status::bad_request) << c.query;
  }
  EXPECT_EQ(stream_->counters().subscribers, 0u);
  // The committed one is accepted: the next message is the one after it.
  TestClient client;
  ASSERT_FALSE(client.Connect(port(), After(committed.id)));
  EXPECT_EQ(client.ReadMessages(1), std::vector<std::string>{all_messages_[1]});
}

// The going-away close names the last transaction sent; with nothing sent it
// names the resume point the client gave, or else the height.
TEST_F(ResumeTest, GoingAwayNamesTheLastTransactionSent) {
  StartStream();
  const std::vector<std::string> sent = CommitBlock(Creates(3));
  TestClient replayed, resumed_at_tip, live;
  ASSERT_FALSE(replayed.Connect(port(), std::string(kStreamPath) + "?from_height=1"));
  ASSERT_FALSE(resumed_at_tip.Connect(port(), After(IdOf(sent.back()))));
  ASSERT_FALSE(live.Connect(port(), std::string(kStreamPath)));
  EXPECT_EQ(replayed.ReadMessages(3), sent);
  std::vector<std::string> after_replayed, after_tip, after_live;
  std::thread readers[] = {
      std::thread([&] { after_replayed = replayed.ReadUntilClosed(); }),
      std::thread([&] { after_tip = resumed_at_tip.ReadUntilClosed(); }),
      std::thread([&] { after_live = live.ReadUntilClosed(); }),
  };
  stream_->Stop();
  for (std::thread& reader : readers) reader.join();
  EXPECT_TRUE(after_replayed.empty() && after_tip.empty() && after_live.empty());
  EXPECT_EQ(ReasonOf(replayed),
            "server going away; resume with after_transaction_id=" + IdOf(sent.back()));
  EXPECT_EQ(ReasonOf(resumed_at_tip),
            "server going away; resume with after_transaction_id=" + IdOf(sent.back()));
  EXPECT_EQ(ReasonOf(live), "server going away; resume with from_height=2");
  for (const TestClient* client : {&replayed, &resumed_at_tip, &live}) {
    EXPECT_EQ(client->close_reason().code, websocket::close_code::going_away);
    EXPECT_LE(ReasonOf(*client).size(), 123u);  // RFC 6455 §5.5
  }
}

// A replay by id is paced by the socket like one by height: a backlog twice
// the live queue arrives whole, and blocks committed while it is read arrive
// after it, in order, once.
TEST_F(ResumeTest, LongReplayWhileBlocksCommitHasNoGapAndNoDuplicate) {
  EventStreamOptions options;
  options.max_queue_messages = 200;
  StartStream(options);
  constexpr int kBlocksBefore = 40, kBlocksDuring = 40, kPerBlock = 10;
  for (int block = 0; block < kBlocksBefore; ++block) CommitBlock(Creates(kPerBlock));
  const std::string resume_after = IdOf(all_messages_[5]);
  std::vector<std::vector<TestTransaction>> pending;
  for (int block = 0; block < kBlocksDuring; ++block) pending.push_back(Creates(kPerBlock));

  TestClient client;
  ASSERT_FALSE(client.Connect(port(), After(resume_after)));
  constexpr size_t kExpected = (kBlocksBefore + kBlocksDuring) * kPerBlock - 6;
  std::vector<std::string> received;
  std::atomic<size_t> received_count{0};
  std::thread reader([&] {
    while (received.size() < kExpected) {
      auto result = client.Read();
      if (!result.message) return;
      received.push_back(*result.message);
      ++received_count;
    }
  });
  // Blocks commit from late in the replay on, never so far ahead of the
  // reader that a live queue of 200 could overflow.
  bool kept_up = true;
  for (size_t i = 0; i < pending.size() && kept_up; ++i) {
    kept_up = WaitFor([&] { return received_count.load() >= 300 + i * kPerBlock; });
    CommitBlock(pending[i]);
  }
  reader.join();
  ASSERT_TRUE(kept_up);
  EXPECT_EQ(received, MessagesAfter(all_messages_, resume_after));
  EXPECT_EQ(stream_->counters().slow_consumer_closes, 0u);
}

}  // namespace
}  // namespace stream
