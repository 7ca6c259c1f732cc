// ledgerd --dev killed with SIGKILL at random moments under load, and
// restarted on the same data directory each time (DESIGN.md §4: a crash
// leaves either the whole block or none of it; only a durable block is
// acknowledged or streamed).
//
// The randomness is seeded; the seed is in every failure message, and
// LEDGERD_HARDENING_SEED=<seed> reruns the same schedule of kills.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/crypto.h"
#include "tests/e2e/hardening/hardening_test_util.h"

namespace hardening {
namespace {

using boost::beast::http::verb;

constexpr int kKills = 20;
constexpr int kPosters = 4;
constexpr std::chrono::milliseconds kLongestRun(1200);  // between start and kill
const std::string kStreamPath = "/api/v1/streams/valid_transactions";

uint64_t Seed() {
  if (const char* text = std::getenv("LEDGERD_HARDENING_SEED")) return std::stoull(text);
  std::random_device random;
  return (static_cast<uint64_t>(random()) << 32) | random();
}

std::string Bytes(const ledger::Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

// What the clients were told, shared by the posting threads.
struct Acknowledged {
  std::mutex mutex;
  std::map<std::string, std::string> committed;  // id -> raw, answered 202 with mode=commit
  std::set<std::string> posted;                  // every id ever sent
  std::vector<std::string> unexpected;           // answers other than 202 or a dropped connection
};

// Posts fresh CREATEs with mode=commit until told to stop; a connection the
// kill drops (or a node not yet up) is retried with a new transaction.
void Post(uint16_t port, int poster, const std::atomic<bool>& stop, Acknowledged* acknowledged) {
  while (!stop) {
    const SignedTransaction tx = NewCreate("crash-" + std::to_string(poster));
    {
      std::lock_guard lock(acknowledged->mutex);
      acknowledged->posted.insert(tx.id);
    }
    const HttpResult result =
        HttpRequest(port, verb::post, "/api/v1/transactions?mode=commit", tx.raw, kWaitBound);
    std::lock_guard lock(acknowledged->mutex);
    if (result.status == 202) {
      if (result.body != tx.raw) acknowledged->unexpected.push_back("202 body differs: " + tx.id);
      acknowledged->committed.emplace(tx.id, tx.raw);
    } else if (result.status != 0) {
      acknowledged->unexpected.push_back(std::to_string(result.status) + " " + result.body);
    }
    if (result.status == 0) std::this_thread::sleep_for(20ms);
  }
}

// A subscriber that resumes after every disconnect with from_height = the
// height of the last message it saw, dropping ids it already has from that
// block only.
class ResumingSubscriber {
 public:
  explicit ResumingSubscriber(uint16_t port) : thread_([this, port] { Run(port); }) {}
  ~ResumingSubscriber() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::map<std::string, int64_t> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int64_t last_height() {
    std::lock_guard lock(mutex_);
    return last_height_;
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mutex_);
    return violations_;
  }
  int connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  void Run(uint16_t port) {
    while (!stop_) {
      const int64_t from = std::max<int64_t>(last_height(), 1);
      StreamClient client;
      if (!client.Connect(port, kStreamPath + "?from_height=" + std::to_string(from), nullptr,
                          2s)) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      int64_t previous = from;
      while (!stop_) {
        const std::optional<std::string> message = client.Read(200ms);
        if (!message) {
          if (client.timed_out()) continue;
          break;  // the node went away: resume
        }
        Receive(*message, from, &previous);
      }
    }
  }

  void Receive(const std::string& text, int64_t from, int64_t* previous) {
    const nlohmann::json message = nlohmann::json::parse(text, nullptr, false);
    std::lock_guard lock(mutex_);
    if (!message.is_object() || !message.contains("transaction_id") ||
        !message.contains("height")) {
      violations_.push_back("malformed message " + text);
      return;
    }
    const std::string id = message["transaction_id"];
    const int64_t height = message["height"];
    if (height < from || height < *previous) {
      violations_.push_back("height " + std::to_string(height) + " after " +
                            std::to_string(*previous) + " (from_height " + std::to_string(from) +
                            "): " + text);
    }
    *previous = height;
    const auto known = seen_.find(id);
    if (known != seen_.end()) {
      // Only the block named by from_height is sent again.
      if (height != from || known->second != height) {
        violations_.push_back("duplicate " + id + " at height " + std::to_string(height) +
                              " (first at " + std::to_string(known->second) +
                              ", from_height " + std::to_string(from) + ")");
      }
      return;
    }
    seen_.emplace(id, height);
    last_height_ = std::max(last_height_, height);
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::string, int64_t> seen_;  // guarded by mutex_
  int64_t last_height_ = 0;              // guarded by mutex_
  std::vector<std::string> violations_;  // guarded by mutex_
  int connections_ = 0;                  // guarded by mutex_
  std::thread thread_;
};

// The height and app hash ledgerd logged when it opened its store, from
// the last start recorded in `log`.
struct Opened {
  int64_t height = -1;
  std::string app_hash_hex;  // "" for "(none)"
};
Opened LastOpened(const std::filesystem::path& log) {
  static const std::regex pattern(R"(\[node\] ledgerd .*: store .* at height (\d+), app hash ([0-9a-f]+|\(none\)))");
  Opened opened;
  std::ifstream file(log);
  for (std::string line; std::getline(file, line);) {
    std::smatch match;
    if (!std::regex_search(line, match, pattern)) continue;
    opened.height = std::stoll(match[1]);
    opened.app_hash_hex = match[2] == "(none)" ? "" : std::string(match[2]);
  }
  return opened;
}

// The chain as the HTTP API serves it, checked block by block.
class Chain {
 public:
  // Reads blocks up to `tip` that were not read yet. Adds a failure for a
  // missing block, a transaction stored twice, or one in the wrong block.
  void ExtendTo(HttpConnection& http, int64_t tip) {
    for (int64_t height = height_ + 1; height <= tip; ++height) {
      const HttpResult block = http.Get("/api/v1/blocks/" + std::to_string(height));
      ASSERT_EQ(block.status, 200u) << "GET /api/v1/blocks/" << height << " (tip " << tip
                                    << "): " << block.error << block.body;
      const nlohmann::json json = nlohmann::json::parse(block.body);
      ASSERT_EQ(json["height"], height);
      std::string ids;
      for (const nlohmann::json& tx : json["transactions"]) {
        const std::string id = tx["id"];
        ASSERT_TRUE(heights_.emplace(id, height).second)
            << id << " is stored in block " << height << " and in block " << heights_[id];
        ids += id;
      }
      // DESIGN.md §4: unchanged by a block without valid transactions.
      if (!ids.empty()) app_hash_ = Bytes(ledger::Sha3_256(app_hash_ + Bytes(ledger::Sha3_256(ids))));
      height_ = height;
    }
  }

  int64_t height() const { return height_; }
  const std::string& app_hash() const { return app_hash_; }
  // Every committed transaction and its block's height.
  const std::map<std::string, int64_t>& heights() const { return heights_; }

 private:
  int64_t height_ = 0;
  std::string app_hash_;
  std::map<std::string, int64_t> heights_;
};

// After a restart: the node opened its store at a height no lower than
// anything it had confirmed, with the app hash the stored blocks give, and
// every acknowledged transaction is there, byte for byte.
void CheckRecovered(const DevNode& node, HttpConnection& http, Chain* chain,
                    const std::map<std::string, std::string>& acknowledged,
                    int64_t streamed_height) {
  const Opened opened = LastOpened(node.log_path());
  ASSERT_GE(opened.height, 0) << "no 'store ... at height' line in " << node.log_path();
  ASSERT_GE(opened.height, chain->height()) << "the chain went back after the restart";
  ASSERT_GE(opened.height, streamed_height)
      << "a block was streamed before the crash but is not stored after it";
  ASSERT_NO_FATAL_FAILURE(chain->ExtendTo(http, opened.height));
  EXPECT_EQ(opened.app_hash_hex, ledger::HexEncode(chain->app_hash()))
      << "the stored app hash at height " << opened.height
      << " is not the chain of the stored blocks";
  for (const auto& [id, raw] : acknowledged) {
    const HttpResult stored = http.Get("/api/v1/transactions/" + id);
    ASSERT_EQ(stored.status, 200u) << "acknowledged with mode=commit, lost after the restart: "
                                   << id << " " << stored.error;
    EXPECT_EQ(stored.body, raw);
    const auto found = chain->heights().find(id);
    ASSERT_NE(found, chain->heights().end()) << id << " is served but in no block";
    EXPECT_LE(found->second, opened.height) << id << " is in a block above the stored height";
  }
}

TEST(CrashRecoveryTest, SigkillUnderLoadLosesNoCommittedTransactionAndStreamsEachOnce) {
  const uint64_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun: LEDGERD_HARDENING_SEED=" +
               std::to_string(seed) + ")");
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  DevNode node({"--block-interval", "20ms"});
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;

  Acknowledged acknowledged;
  std::atomic<bool> stop_posting{false};
  std::vector<std::thread> posters;
  for (int i = 0; i < kPosters; ++i) {
    posters.emplace_back(Post, node.http_port(), i, std::cref(stop_posting), &acknowledged);
  }
  ResumingSubscriber subscriber(node.ws_port());
  HttpConnection http(node.http_port());
  Chain chain;
  auto stop_load = [&] {
    stop_posting = true;
    for (std::thread& poster : posters) poster.join();
    posters.clear();
  };

  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1) + " of " + std::to_string(kKills));
    std::uniform_int_distribution<int64_t> delay(0, kLongestRun.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(random)));
    node.Kill();
    std::map<std::string, std::string> confirmed;
    {
      std::lock_guard lock(acknowledged.mutex);
      confirmed = acknowledged.committed;
    }
    const int64_t streamed = subscriber.last_height();

    if (!node.Start(&error)) {
      stop_load();
      FAIL() << error;
    }
    CheckRecovered(node, http, &chain, confirmed, streamed);
    if (HasFatalFailure()) {
      stop_load();
      return;
    }
  }
  stop_load();

  // A clean restart: the stored tip and app hash are those of every block
  // the API serves, and nothing lies beyond the tip.
  ASSERT_EQ(node.Terminate(), 0);
  ASSERT_TRUE(node.Start(&error)) << error;
  const Opened opened = LastOpened(node.log_path());
  ASSERT_NO_FATAL_FAILURE(chain.ExtendTo(http, opened.height));
  EXPECT_EQ(chain.height(), opened.height);
  EXPECT_EQ(opened.app_hash_hex, ledger::HexEncode(chain.app_hash()));
  EXPECT_EQ(http.Get("/api/v1/blocks/" + std::to_string(opened.height + 1)).status, 404u);
  Chain from_scratch;
  ASSERT_NO_FATAL_FAILURE(from_scratch.ExtendTo(http, opened.height));
  EXPECT_EQ(from_scratch.app_hash(), chain.app_hash()) << "a stored block changed";
  CheckRecovered(node, http, &chain, acknowledged.committed, subscriber.last_height());

  // The subscriber catches up and has seen every committed transaction
  // once, at its block's height, and nothing else.
  const std::map<std::string, int64_t>& committed = chain.heights();
  EXPECT_TRUE(WaitFor([&] { return subscriber.seen().size() >= committed.size(); }))
      << "the subscriber saw " << subscriber.seen().size() << " of " << committed.size();
  subscriber.Stop();
  EXPECT_EQ(subscriber.seen(), committed);
  for (const std::string& violation : subscriber.violations()) ADD_FAILURE() << violation;
  for (const auto& [id, height] : committed) {
    EXPECT_TRUE(acknowledged.posted.contains(id)) << id << " was committed but never posted";
  }
  for (const std::string& answer : acknowledged.unexpected) {
    ADD_FAILURE() << "unexpected answer to a POST: " << answer;
  }
  // The run must have tested something.
  EXPECT_GE(subscriber.connections(), kKills);
  EXPECT_GT(acknowledged.committed.size(), static_cast<size_t>(kKills));
  std::cout << "[ stats    ] " << kKills << " kills, " << chain.height() << " blocks, "
            << committed.size() << " transactions committed, " << acknowledged.committed.size()
            << " acknowledged, " << acknowledged.posted.size() << " posted, "
            << subscriber.connections() << " stream connections\n";
}

// What a state sync restore killed half-way leaves in the data directory is
// removed at the next start, and the log says so.
TEST(CrashRecoveryTest, AnUnfinishedRestoreIsRemovedAtStartAndLogged) {
  DevNode node;
  std::string error;
  ASSERT_TRUE(node.Start(&error)) << error;
  ASSERT_EQ(node.Terminate(), 0);
  const std::filesystem::path left = node.data_dir() / "restore-1764000000000000000";
  std::filesystem::create_directories(left);
  std::ofstream(left / "CURRENT") << "MANIFEST-000001\n";

  ASSERT_TRUE(node.Start(&error)) << error;
  EXPECT_FALSE(std::filesystem::exists(left));
  std::ifstream log(node.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("removed " + left.string() + ", left by a state sync restore"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace hardening
