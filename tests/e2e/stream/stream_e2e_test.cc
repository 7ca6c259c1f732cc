// The event stream's contract (DESIGN.md §5, docs/event-stream.md) against
// the real `ledgerd --dev` binary over real sockets: message format and order,
// a Beast and a Python client, ping and ignored client messages, resume,
// filters, invalid transactions, and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/stream/stream_e2e_fixture.h"

namespace ledgerd_e2e {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using stream::testing::TestClient;
using stream::testing::WaitFor;

std::string FromHeight(int64_t height) { return "?from_height=" + std::to_string(height); }

// The ids the messages name, in order.
std::vector<std::string> IdsIn(const std::vector<std::string>& messages) {
  std::vector<std::string> ids;
  for (const std::string& message : messages) ids.push_back(IdIn(message));
  return ids;
}

// The reason of the 1001 close for a client that was sent `sent` on its
// connection: the last transaction sent, else the height to resume from.
std::string GoingAwayReason(const std::vector<std::string>& sent, int64_t resume_height) {
  if (!sent.empty()) {
    return "server going away; resume with after_transaction_id=" + IdIn(sent.back());
  }
  return "server going away; resume with from_height=" + std::to_string(resume_height);
}

std::vector<std::string> IdsOf(const std::vector<Tx>& txs) {
  std::vector<std::string> ids;
  for (const Tx& tx : txs) ids.push_back(tx.id);
  return ids;
}

TEST_F(StreamE2eTest, MessagesAreExactAndInBlockOrderOverSeveralBlocks) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient client;
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target()));

  const Tx first = NewCreate(alice_, "first");
  const Tx second = NewCreate(alice_, "second");
  const Tx third = NewCreate(bob_, "third");
  const Tx first_to_bob = NewTransfer(first, alice_, bob_);
  const Tx second_to_carol = NewTransfer(second, alice_, carol_);
  const Tx back_to_alice = NewTransfer(first_to_bob, bob_, alice_);
  // Each round ends with a commit: a TRANSFER spends only what is committed.
  std::vector<Tx> submitted;
  for (const std::vector<Tx>& round : std::vector<std::vector<Tx>>{
           {first, second, third}, {first_to_bob, second_to_carol}, {back_to_alice}}) {
    for (size_t i = 0; i < round.size(); ++i) {
      ASSERT_NO_FATAL_FAILURE(Submit(round[i], i + 1 == round.size() ? "commit" : "async"));
      submitted.push_back(round[i]);
    }
  }
  const std::vector<std::string> expected = MessagesOf(submitted);

  // Committed in the order submitted, over at least three blocks.
  std::set<int64_t> heights;
  for (size_t i = 0; i < expected.size(); ++i) {
    heights.insert(HeightIn(expected[i]));
    if (i > 0) {
      EXPECT_LE(HeightIn(expected[i - 1]), HeightIn(expected[i]));
    }
  }
  EXPECT_GE(heights.size(), 3u);
  // A TRANSFER names its asset: the id of the CREATE it descends from.
  EXPECT_EQ(expected[5], "{\"transaction_id\":\"" + back_to_alice.id + "\",\"asset_id\":\"" +
                             first.id + "\",\"height\":" +
                             std::to_string(node_->HeightOfTransaction(back_to_alice.id)) + "}");

  EXPECT_EQ(client.ReadMessages(expected.size()), expected);
  // Nothing came in between: the next message is the next transaction's.
  const Tx next = NewCreate(carol_, "next");
  ASSERT_NO_FATAL_FAILURE(Submit(next, "commit"));
  EXPECT_EQ(client.ReadMessages(1), MessagesOf({next}));
}

TEST_F(StreamE2eTest, BeastAndPythonClientsReceiveTheSameStream) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient beast_client;
  ASSERT_FALSE(beast_client.Connect(node_->ws_port(), Target()));

  const Tx a = NewCreate(alice_, "a");
  const Tx b = NewCreate(bob_, "b");
  const Tx a_to_carol = NewTransfer(a, alice_, carol_);
  const Tx c = NewCreate(carol_, "c");
  const std::vector<Tx> txs = {a, b, a_to_carol, c};

  // websocket-client (Debian's python3-websocket), which also pings and
  // sends a text message the server must ignore. From height 1 it misses
  // nothing however its connection races the first block; the blocks
  // committed after it joined reach it live.
  const std::string url =
      "ws://127.0.0.1:" + std::to_string(node_->ws_port()) + Target(FromHeight(1));
  const std::string command = std::string(LEDGERD_PYTHON3) + " " + PYTHON_STREAM_CLIENT + " '" +
                              url + "' " + std::to_string(txs.size()) + " 2>&1";
  FILE* python = popen(command.c_str(), "r");
  ASSERT_NE(python, nullptr);
  ASSERT_TRUE(WaitForSubscribers(2));

  ASSERT_NO_FATAL_FAILURE(Submit(a, "commit"));
  ASSERT_NO_FATAL_FAILURE(Submit(b));
  ASSERT_NO_FATAL_FAILURE(Submit(a_to_carol));
  ASSERT_NO_FATAL_FAILURE(Submit(c, "commit"));
  const std::vector<std::string> expected = MessagesOf(txs);
  EXPECT_EQ(beast_client.ReadMessages(expected.size()), expected);

  std::string output;
  char chunk[4096];
  for (size_t read; (read = fread(chunk, 1, sizeof chunk, python)) > 0;) output.append(chunk, read);
  ASSERT_EQ(pclose(python), 0) << output;
  std::vector<std::string> lines;
  std::istringstream text(output);
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  EXPECT_EQ(lines, expected);
}

TEST_F(StreamE2eTest, PingIsAnsweredWithPong) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient client;
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target()));
  EXPECT_TRUE(client.PingAndWaitForPong("are you there"));

  const Tx tx = NewCreate(alice_, "after the pong");
  ASSERT_NO_FATAL_FAILURE(Submit(tx, "commit"));
  EXPECT_EQ(client.ReadMessages(1), MessagesOf({tx}));
}

TEST_F(StreamE2eTest, ClientMessagesAreIgnored) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient client;
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target()));
  ASSERT_FALSE(client.Write("{\"subscribe\":\"everything\",\"from_height\":1}"));
  ASSERT_FALSE(client.Write("close"));
  ASSERT_FALSE(client.Write(std::string(1000, '\x01'), /*binary=*/true));

  const Tx tx = NewCreate(alice_, "after the chatter");
  ASSERT_NO_FATAL_FAILURE(Submit(tx, "commit"));
  EXPECT_EQ(client.ReadMessages(1), MessagesOf({tx}));
  EXPECT_TRUE(client.PingAndWaitForPong("still here"));
}

// A subscriber that disconnects now and then (with a closing handshake or by
// dropping the connection) while blocks commit, and reconnects with
// from_height set to the last height it saw, dropping the ids it already has,
// ends up with every transaction exactly once, in order.
TEST_F(StreamE2eTest, ResumeWhileBlocksCommitContinuously) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  constexpr size_t kTransactions = 300;
  std::vector<Tx> txs;
  const ledger::KeyPair* owners[] = {&alice_, &bob_, &carol_};
  for (size_t i = 0; i < kTransactions; ++i) {
    txs.push_back(NewCreate(*owners[i % 3], "resume-" + std::to_string(i)));
  }

  std::atomic<bool> submitted_all{false};
  std::string submit_error;
  std::thread submitter([&] {
    HttpClient client(node_->http_port());
    for (size_t i = 0; i < txs.size(); ++i) {
      // Every fourth waits for its block: blocks of a few transactions
      // commit one after another for as long as the subscriber runs.
      const std::string mode = i % 4 == 3 ? "commit" : "async";
      const HttpClient::Response response =
          client.Request(http::verb::post, "/api/v1/transactions?mode=" + mode, txs[i].json);
      if (response.result_int() != 202) {
        submit_error = std::to_string(response.result_int()) + " " + response.body();
        return;
      }
    }
    submitted_all = true;
  });

  std::vector<std::string> received;
  int64_t from_height = 1;
  int connections = 0;
  size_t chunk = 7;
  while (received.size() < kTransactions) {
    SCOPED_TRACE("connection " + std::to_string(connections) + " from height " +
                 std::to_string(from_height));
    auto client = std::make_unique<TestClient>();
    ASSERT_FALSE(client->Connect(node_->ws_port(), Target(FromHeight(from_height))));
    ++connections;
    // The messages already held from block `from_height` come again first,
    // as the block is sent whole.
    size_t held = 0;
    while (held < received.size() &&
           HeightIn(received[received.size() - 1 - held]) == from_height) {
      ++held;
    }
    const std::vector<std::string> again = client->ReadMessages(held);
    ASSERT_EQ(again, std::vector<std::string>(received.end() - held, received.end()));
    const std::vector<std::string> fresh =
        client->ReadMessages(std::min(chunk, kTransactions - received.size()));
    ASSERT_FALSE(fresh.empty()) << submit_error;
    received.insert(received.end(), fresh.begin(), fresh.end());
    from_height = HeightIn(received.back());
    if (connections % 2 == 0) client->Close();  // else dropped without a close frame
    chunk = 5 + (chunk * 17) % 37;
  }
  submitter.join();
  ASSERT_TRUE(submitted_all) << submit_error;
  EXPECT_GE(connections, 10);
  EXPECT_EQ(IdsIn(received), IdsOf(txs));
  EXPECT_EQ(received, MessagesOf(txs));
}

// What a filter selects, modelled independently of the implementation.
struct Filter {
  std::optional<std::string> asset_id;
  std::optional<std::string> public_key;
  std::optional<bool> create;

  std::string Query() const {
    std::string query;
    auto add = [&query](const std::string& parameter) {
      query += (query.empty() ? "?" : "&") + parameter;
    };
    if (asset_id) add("asset_id=" + *asset_id);
    if (public_key) add("public_key=" + *public_key);
    if (create) add(std::string("operation=") + (*create ? "CREATE" : "TRANSFER"));
    return query;
  }

  bool Matches(const Tx& tx) const {
    if (asset_id && tx.asset_id != *asset_id) return false;
    if (create && tx.is_create != *create) return false;
    if (public_key) {
      bool found = false;
      for (const std::string& key : tx.public_keys) found = found || key == *public_key;
      if (!found) return false;
    }
    return true;
  }
};

// Every filter alone and combined, on live blocks, on a replay from height 1
// and on a replay from the middle of the history. The node's shutdown then
// closes each subscription with 1001 at the tip, which shows that none got a
// message more than it should.
TEST_F(StreamE2eTest, FiltersApplyToReplayAndLiveAlikeAndCombine) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const Tx x = NewCreate(alice_, "x");
  const Tx y = NewCreate(bob_, "y");
  const Tx z = NewCreate(carol_, "z");
  const Tx x_to_carol = NewTransfer(x, alice_, carol_);
  ASSERT_NO_FATAL_FAILURE(Submit(x, "commit"));
  ASSERT_NO_FATAL_FAILURE(Submit(y));
  ASSERT_NO_FATAL_FAILURE(Submit(z));
  ASSERT_NO_FATAL_FAILURE(Submit(x_to_carol, "commit"));
  const std::vector<Tx> history = {x, y, z, x_to_carol};
  const int64_t middle = node_->HeightOfTransaction(z.id);
  ASSERT_GT(middle, 0);

  const std::vector<Filter> filters = {
      {x.asset_id, std::nullopt, std::nullopt}, {std::nullopt, KeyOf(bob_), std::nullopt},
      {std::nullopt, std::nullopt, true},       {std::nullopt, std::nullopt, false},
      {x.asset_id, std::nullopt, false},        {std::nullopt, KeyOf(alice_), true},
      {x.asset_id, KeyOf(carol_), false},       {std::string(64, '0'), std::nullopt, std::nullopt},
  };
  struct Subscriber {
    std::string query;
    Filter filter;
    std::optional<int64_t> from_height;
    std::unique_ptr<TestClient> client = std::make_unique<TestClient>();
    std::vector<std::string> expected = {};
  };
  std::vector<Subscriber> subscribers;
  for (const Filter& filter : filters) {
    const std::string query = filter.Query();
    subscribers.push_back({query, filter, std::nullopt});
    subscribers.push_back({query + "&from_height=1", filter, 1});
    subscribers.push_back({query + "&from_height=" + std::to_string(middle), filter, middle});
  }
  for (Subscriber& subscriber : subscribers) {
    ASSERT_FALSE(subscriber.client->Connect(node_->ws_port(), Target(subscriber.query)))
        << subscriber.query;
  }
  TestClient everything;
  ASSERT_FALSE(everything.Connect(node_->ws_port(), Target(FromHeight(1))));

  const Tx x_to_bob = NewTransfer(x_to_carol, carol_, bob_);
  const Tx w = NewCreate(alice_, "w");
  const Tx y_to_alice = NewTransfer(y, bob_, alice_);
  const Tx x_back_to_carol = NewTransfer(x_to_bob, bob_, carol_);
  ASSERT_NO_FATAL_FAILURE(Submit(x_to_bob));
  ASSERT_NO_FATAL_FAILURE(Submit(w));
  ASSERT_NO_FATAL_FAILURE(Submit(y_to_alice, "commit"));
  ASSERT_NO_FATAL_FAILURE(Submit(x_back_to_carol, "commit"));
  const std::vector<Tx> live = {x_to_bob, w, y_to_alice, x_back_to_carol};

  std::vector<Tx> all = history;
  all.insert(all.end(), live.begin(), live.end());
  const std::vector<std::string> messages = MessagesOf(all);
  ASSERT_EQ(everything.ReadMessages(messages.size()), messages);
  const int64_t tip = HeightIn(messages.back());

  // The model's view of two cases, spelled out.
  std::vector<std::string> asset_x, bobs;
  for (size_t i = 0; i < all.size(); ++i) {
    if (filters[0].Matches(all[i])) asset_x.push_back(all[i].id);
    if (filters[1].Matches(all[i])) bobs.push_back(all[i].id);
  }
  EXPECT_EQ(asset_x, IdsOf({x, x_to_carol, x_to_bob, x_back_to_carol}));
  EXPECT_EQ(bobs, IdsOf({y, x_to_bob, y_to_alice, x_back_to_carol}));

  for (Subscriber& subscriber : subscribers) {
    SCOPED_TRACE(subscriber.query);
    std::vector<std::string> expected;
    for (size_t i = 0; i < all.size(); ++i) {
      const bool in_range = subscriber.from_height
                                ? HeightIn(messages[i]) >= *subscriber.from_height
                                : i >= history.size();
      if (in_range && subscriber.filter.Matches(all[i])) expected.push_back(messages[i]);
    }
    EXPECT_EQ(subscriber.client->ReadMessages(expected.size()), expected);
    subscriber.expected = expected;
  }

  std::vector<std::future<std::vector<std::string>>> rest;
  for (Subscriber& subscriber : subscribers) {
    rest.push_back(std::async(std::launch::async, [client = subscriber.client.get()] {
      return client->ReadUntilClosed();
    }));
  }
  EXPECT_EQ(node_->Terminate(), 0);
  for (size_t i = 0; i < subscribers.size(); ++i) {
    SCOPED_TRACE(subscribers[i].query);
    EXPECT_TRUE(rest[i].get().empty());
    EXPECT_EQ(subscribers[i].client->close_reason().code, websocket::close_code::going_away);
    EXPECT_EQ(CloseReasonOf(*subscribers[i].client),
              GoingAwayReason(subscribers[i].expected, tip + 1));
  }
}

// Transactions the node refuses, and a double spend that reaches a block and
// fails there, send nothing.
TEST_F(StreamE2eTest, InvalidTransactionsNeverAppear) {
  // A long interval gathers the double spend into one block with its rival.
  ASSERT_NO_FATAL_FAILURE(StartNode({"--block-interval", "300ms"}));
  TestClient client;
  ASSERT_FALSE(client.Connect(node_->ws_port(), Target()));

  const Tx coin = NewCreate(alice_, "coin");
  ASSERT_NO_FATAL_FAILURE(Submit(coin, "commit"));
  // Refused by the HTTP API's validation.
  EXPECT_EQ(node_->Submit(coin.json, "commit").result_int(), 400u);                   // duplicate
  EXPECT_EQ(node_->Submit(NewTransfer(coin, bob_, carol_).json).result_int(), 400u);  // not bob's
  EXPECT_EQ(node_->Submit("{\"id\":", "commit").result_int(), 400u);                  // not JSON
  std::string tampered = NewCreate(bob_, "tampered").json;
  tampered.replace(tampered.find("tampered"), 8, "TAMPERED");
  EXPECT_EQ(node_->Submit(tampered, "commit").result_int(), 400u);  // id does not match

  // Both spends pass admission against the committed state; the block takes
  // the first and refuses the second.
  const Tx to_bob = NewTransfer(coin, alice_, bob_);
  const Tx to_carol = NewTransfer(coin, alice_, carol_);
  ASSERT_NO_FATAL_FAILURE(Submit(to_bob));
  const HttpClient::Response rival = node_->Submit(to_carol.json, "commit");
  EXPECT_EQ(rival.result_int(), 400u) << rival.body();
  EXPECT_NE(rival.body().find("DoubleSpend"), std::string::npos) << rival.body();
  EXPECT_EQ(node_->HeightOfTransaction(to_carol.id), 0);

  const Tx next = NewCreate(carol_, "next");
  ASSERT_NO_FATAL_FAILURE(Submit(next, "commit"));
  const std::vector<std::string> expected = MessagesOf({coin, to_bob, next});
  EXPECT_EQ(client.ReadMessages(expected.size()), expected);
  // A replay skips them too.
  TestClient replay;
  ASSERT_FALSE(replay.Connect(node_->ws_port(), Target(FromHeight(1))));
  EXPECT_EQ(replay.ReadMessages(expected.size()), expected);
}

// SIGTERM closes every session — reading, replayed, filtered, or not reading
// at all — with 1001 naming the last transaction sent (or, with none, the
// height after the tip), once everything before it was sent; after a restart
// on the same store, both resume exactly.
TEST_F(StreamE2eTest, SigtermClosesEverySessionWith1001AndResumeAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  TestClient reading, lagging, filtered;
  ASSERT_FALSE(reading.Connect(node_->ws_port(), Target()));
  ASSERT_FALSE(lagging.Connect(node_->ws_port(), Target(), /*receive_buffer_bytes=*/4096));
  ASSERT_FALSE(filtered.Connect(node_->ws_port(), Target("?operation=TRANSFER")));
  const Tx a = NewCreate(alice_, "a");
  const Tx b = NewCreate(bob_, "b");
  ASSERT_NO_FATAL_FAILURE(Submit(a));
  ASSERT_NO_FATAL_FAILURE(Submit(b, "commit"));
  TestClient replayed;
  ASSERT_FALSE(replayed.Connect(node_->ws_port(), Target(FromHeight(1))));
  const Tx c = NewCreate(carol_, "c");
  ASSERT_NO_FATAL_FAILURE(Submit(c, "commit"));
  const std::vector<std::string> before = MessagesOf({a, b, c});
  ASSERT_EQ(reading.ReadMessages(before.size()), before);
  ASSERT_EQ(replayed.ReadMessages(before.size()), before);
  const int64_t resume_height = HeightIn(before.back()) + 1;

  TestClient* const clients[] = {&reading, &lagging, &filtered, &replayed};
  std::vector<std::future<std::vector<std::string>>> rest;
  for (TestClient* client : clients) {
    rest.push_back(std::async(std::launch::async, [client] { return client->ReadUntilClosed(); }));
  }
  EXPECT_EQ(node_->Terminate(), 0);
  const std::vector<std::string> expected_rest[] = {{}, before, {}, {}};
  const std::vector<std::string> sent[] = {before, before, {}, before};
  for (size_t i = 0; i < std::size(clients); ++i) {
    SCOPED_TRACE("client " + std::to_string(i));
    EXPECT_EQ(rest[i].get(), expected_rest[i]);
    EXPECT_EQ(clients[i]->close_reason().code, websocket::close_code::going_away);
    EXPECT_EQ(CloseReasonOf(*clients[i]), GoingAwayReason(sent[i], resume_height));
  }
  EXPECT_NE(node_->LogText().find("stopped; store closed"), std::string::npos);

  ASSERT_TRUE(node_->Start());
  TestClient resumed, resumed_by_id;
  ASSERT_FALSE(resumed.Connect(node_->ws_port(), Target(FromHeight(resume_height))));
  ASSERT_FALSE(resumed_by_id.Connect(node_->ws_port(),
                                     Target("?after_transaction_id=" + IdIn(before.back()))));
  const Tx d = NewCreate(alice_, "d");
  const Tx c_to_alice = NewTransfer(c, carol_, alice_);
  ASSERT_NO_FATAL_FAILURE(Submit(d));
  ASSERT_NO_FATAL_FAILURE(Submit(c_to_alice, "commit"));
  const std::vector<std::string> after = MessagesOf({d, c_to_alice});
  EXPECT_GE(HeightIn(after.front()), resume_height);
  EXPECT_EQ(resumed.ReadMessages(after.size()), after);
  EXPECT_EQ(resumed_by_id.ReadMessages(after.size()), after);
}

}  // namespace
}  // namespace ledgerd_e2e
