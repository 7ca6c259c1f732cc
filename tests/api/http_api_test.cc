#include "api/http_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/crypto_condition.h"
#include "ledger_test_util.h"

namespace api {
namespace {

using ::api::testing::ClientResponse;
using ::api::testing::HttpClient;
using ::api::testing::IoThreads;
using ::api::testing::JsonBody;
using ::ledger::JsonValue;
using ::ledger::KeyPair;
using ::ledger::testing::Create;
using ::ledger::testing::IdOf;
using ::ledger::testing::ParseOrDie;
using ::ledger::testing::Pub;
using ::ledger::testing::Signed;
using ::ledger::testing::TempDir;
using ::ledger::testing::TestKey;
using ::ledger::testing::Transfer;
using nlohmann::json;
namespace http = boost::beast::http;

constexpr char kStreamUrl[] = "wss://ledger.example/api/v1/streams/valid_transactions";

// Stands in for the block producer: commits every submitted transaction in a
// block of its own, at once, unless told to fail or to hold the answer.
class CommittingSubmitter : public TransactionSubmitter {
 public:
  explicit CommittingSubmitter(ledger::Application* app) : app_(app) {}

  // The next Submit answers `result` without committing.
  void FailNext(SubmitResult result) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(result);
  }

  // Later submissions wait until AnswerHeldFromAnotherThread.
  void HoldAnswers() {
    std::lock_guard lock(mutex_);
    hold_ = true;
  }

  // Commits the held submissions and answers them from a new thread, as an
  // engine's client would.
  void AnswerHeldFromAnotherThread() {
    std::thread([this] {
      std::vector<std::pair<std::string, SubmitCallback>> held;
      {
        std::lock_guard lock(mutex_);
        held.swap(held_);
        hold_ = false;
      }
      for (auto& [tx, done] : held) done(CommitNow(tx));
    }).join();
  }

  // Blocks until `count` submissions are held.
  void WaitUntilHeld(size_t count) {
    std::unique_lock lock(mutex_);
    held_changed_.wait(lock, [&] { return held_.size() >= count; });
  }

  std::vector<BroadcastMode> modes() {
    std::lock_guard lock(mutex_);
    return modes_;
  }

  void Submit(std::string tx, BroadcastMode mode, SubmitCallback done) override {
    std::unique_lock lock(mutex_);
    modes_.push_back(mode);
    if (failure_) {
      SubmitResult result = std::move(*failure_);
      failure_.reset();
      lock.unlock();
      done(std::move(result));
      return;
    }
    if (hold_) {
      held_.emplace_back(std::move(tx), std::move(done));
      held_changed_.notify_all();
      return;
    }
    lock.unlock();
    done(CommitNow(tx));
  }

 private:
  SubmitResult CommitNow(const std::string& tx) {
    // FinalizeBlock and Commit must not overlap.
    std::lock_guard lock(commit_mutex_);
    ledger::FinalizedBlock block = app_->FinalizeBlock(app_->Info().last_height + 1, {tx});
    std::string error;
    if (!app_->Commit(&error)) return SubmitResult::Failure(SubmitOutcome::kEngineError, error);
    const ledger::Status& status = block.results.front().status;
    if (!status.ok()) return SubmitResult::Failure(SubmitOutcome::kRejected, status.ToString());
    return SubmitResult::Accepted();
  }

  ledger::Application* const app_;
  std::mutex commit_mutex_;
  std::mutex mutex_;
  std::condition_variable held_changed_;
  std::optional<SubmitResult> failure_;
  bool hold_ = false;
  std::vector<std::pair<std::string, SubmitCallback>> held_;
  std::vector<BroadcastMode> modes_;
};

// Re-serializes `raw` after `edit` and recomputes its id, so that the edit
// reaches the checks after the hash.
template <typename Edit>
std::string Edited(const std::string& raw, Edit edit) {
  JsonValue tx = ParseOrDie(raw);
  edit(tx);
  tx.Set("id", JsonValue::String(ledger::ComputeId(tx)));
  return ledger::CanonicalJson(tx);
}

JsonValue& Member(JsonValue& object, std::string_view key) { return *object.FindMutable(key); }

// A CREATE whose output condition nests `levels` thresholds.
std::string NestedThresholdCreate(int levels) {
  JsonValue details = JsonValue::Object({{"type", JsonValue::String("ed25519-sha-256")},
                                         {"public_key", JsonValue::String(Pub(TestKey(1)))}});
  ledger::ConditionDetails tree;
  tree.public_key = TestKey(1).public_key;
  for (int i = 0; i < levels; ++i) {
    details = JsonValue::Object({{"type", JsonValue::String("threshold-sha-256")},
                                 {"threshold", JsonValue::Number("1")},
                                 {"subconditions", JsonValue::Array({details})}});
    ledger::ConditionDetails parent;
    parent.type = ledger::ConditionType::kThresholdSha256;
    parent.threshold = 1;
    parent.subconditions.push_back(tree);
    tree = parent;
  }
  return Edited(Create(TestKey(1)), [&](JsonValue& tx) {
    Member(Member(tx, "outputs").mutable_items()[0], "condition") = JsonValue::Object(
        {{"details", details}, {"uri", JsonValue::String(tree.ToCondition().Uri())}});
  });
}

// A signed CREATE by `owner` with the given asset data and metadata.
std::string CreateWith(const KeyPair& owner, JsonValue data, JsonValue metadata) {
  return Signed(
      ledger::MakeCreate({Pub(owner)}, std::move(data), std::move(metadata), {{{Pub(owner)}, 1}}),
      {owner});
}

JsonValue StringObject(std::string key, std::string value) {
  return JsonValue::Object({{std::move(key), JsonValue::String(std::move(value))}});
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
    submitter_ = std::make_unique<CommittingSubmitter>(app_.get());
    HttpApiOptions options = ServerOptions();
    options.listen_address = "127.0.0.1:0";
    options.advertised_ws_url = kStreamUrl;
    api_ = std::make_unique<HttpApi>(io_.context(), *app_, *store_, *submitter_, options);
    app_->AddObserver(api_->metrics().get());
    ASSERT_TRUE(api_->Start(&error)) << error;
    ASSERT_NE(api_->port(), 0);
  }

  void TearDown() override {
    api_->Stop();
    io_.Join();
  }

  virtual HttpApiOptions ServerOptions() { return {}; }

  HttpClient Client() { return HttpClient(api_->port()); }

  // POSTs `tx` with mode=commit and expects it accepted.
  void Commit(const std::string& tx) {
    ClientResponse response = Client().Post("/api/v1/transactions?mode=commit", tx);
    ASSERT_EQ(response.result_int(), 202) << response.body();
  }

  // POSTs `tx` and expects 400 with a message starting with `prefix`.
  void ExpectRefused(const std::string& tx, const std::string& prefix) {
    ClientResponse response = Client().Post("/api/v1/transactions", tx);
    EXPECT_EQ(response.result_int(), 400) << response.body();
    json body = JsonBody(response);
    ASSERT_TRUE(body.is_object()) << response.body();
    EXPECT_EQ(body["status"], 400);
    EXPECT_EQ(body["message"].get<std::string>().substr(0, prefix.size()), prefix)
        << body["message"];
  }

  // Declared first: the io_context outlives the HttpApi (as the HttpApi
  // requires); TearDown stops its threads before anything is destroyed.
  IoThreads io_;
  TempDir dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  std::unique_ptr<CommittingSubmitter> submitter_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(HttpApiTest, RootAdvertisesEndpointsAndStream) {
  ClientResponse response = Client().Get("/");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  json root = JsonBody(response);
  EXPECT_EQ(root["software"], "ledgerd");
  EXPECT_TRUE(root["version"].is_string());
  EXPECT_TRUE(root["docs"].is_string());
  const json& v1 = root["api"]["v1"];
  EXPECT_EQ(v1["streams"], kStreamUrl);
  EXPECT_EQ(v1["transactions"], "/api/v1/transactions/");
  EXPECT_EQ(v1["assets"], "/api/v1/assets/");
  EXPECT_EQ(v1["metadata"], "/api/v1/metadata/");
  EXPECT_EQ(v1["outputs"], "/api/v1/outputs/");
  EXPECT_EQ(v1["blocks"], "/api/v1/blocks/");
  EXPECT_EQ(v1["validators"], "/api/v1/validators");

  for (const char* target : {"/api/v1/", "/api/v1"}) {
    ClientResponse api_root = Client().Get(target);
    ASSERT_EQ(api_root.result_int(), 200) << target;
    EXPECT_EQ(JsonBody(api_root), v1) << target;
  }
}

TEST_F(HttpApiTest, RootIsJsonUnlessHtmlIsPreferred) {
  // A browser gets the page instead (web_page_test.cc).
  ClientResponse response =
      Client().Send(http::verb::get, "/", "", {{"Accept", "application/json, text/html;q=0.9"}});
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(JsonBody(response)["software"], "ledgerd");
}

TEST_F(HttpApiTest, PostThenGetReturnsTheExactBytes) {
  // Whitespace is not part of the id, so a pretty-printed transaction is
  // valid; it must come back byte for byte.
  const std::string tx = json::parse(Create(TestKey(1))).dump(2);
  ClientResponse posted = Client().Post("/api/v1/transactions?mode=commit", tx);
  ASSERT_EQ(posted.result_int(), 202) << posted.body();
  EXPECT_EQ(posted.body(), tx);
  EXPECT_EQ(posted[http::field::content_type], "application/json");

  ClientResponse fetched = Client().Get("/api/v1/transactions/" + IdOf(tx));
  ASSERT_EQ(fetched.result_int(), 200);
  EXPECT_EQ(fetched.body(), tx);
}

TEST_F(HttpApiTest, ModeDefaultsToAsyncAndIsPassedOn) {
  Client().Post("/api/v1/transactions", Create(TestKey(1), 1, 1));
  Client().Post("/api/v1/transactions?mode=async", Create(TestKey(1), 1, 2));
  Client().Post("/api/v1/transactions?mode=sync", Create(TestKey(1), 1, 3));
  Client().Post("/api/v1/transactions/?mode=commit", Create(TestKey(1), 1, 4));
  EXPECT_EQ(submitter_->modes(),
            (std::vector<BroadcastMode>{BroadcastMode::kAsync, BroadcastMode::kAsync,
                                        BroadcastMode::kSync, BroadcastMode::kCommit}));
}

TEST_F(HttpApiTest, BadModeIs400) {
  ClientResponse response =
      Client().Post("/api/v1/transactions?mode=eventually", Create(TestKey(1)));
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(JsonBody(response)["message"], "mode: Mode must be \"async\", \"sync\" or \"commit\"");
  EXPECT_TRUE(submitter_->modes().empty());
}

TEST_F(HttpApiTest, MalformedJsonIs400) {
  ExpectRefused("{\"id\": ", "Invalid transaction (MalformedTransaction): ");
  ExpectRefused("", "Invalid transaction (MalformedTransaction): ");
  ExpectRefused("[1, 2]", "Invalid transaction (MalformedTransaction): ");
}

TEST_F(HttpApiTest, StatelessErrorsAreNamed) {
  KeyPair a = TestKey(1);
  JsonValue wrong_id = ParseOrDie(Create(a));
  wrong_id.Set("id", JsonValue::String(std::string(64, 'a')));
  ExpectRefused(ledger::CanonicalJson(wrong_id), "Invalid transaction (InvalidHash): ");

  ExpectRefused(
      Edited(Create(a), [](JsonValue& tx) { tx.Set("version", JsonValue::String("3.0")); }),
      "Invalid transaction schema: ");
  ExpectRefused(Edited(Create(a),
                       [](JsonValue& tx) {
                         Member(Member(tx, "outputs").mutable_items()[0], "amount") =
                             JsonValue::String("0");
                       }),
                "Invalid transaction (AmountError): ");
  ExpectRefused(NestedThresholdCreate(100), "Invalid transaction (ThresholdTooDeep): ");
  // Changing the metadata changes what the fulfillment should have signed.
  ExpectRefused(
      Edited(Create(a), [](JsonValue& tx) { tx.Set("metadata", StringObject("x", "y")); }),
      "Invalid transaction (InvalidSignature): ");
  EXPECT_TRUE(submitter_->modes().empty()) << "nothing invalid reaches the submitter";
}

TEST_F(HttpApiTest, StateErrorsAreNamed) {
  KeyPair a = TestKey(1), b = TestKey(2), c = TestKey(3);
  const std::string create = Create(a, 1, 1);
  const std::string other_create = Create(a, 1, 2);
  const std::string asset = IdOf(create);

  ExpectRefused(Transfer(create, 0, a, asset, b), "Invalid transaction (InputDoesNotExist): ");
  ASSERT_NO_FATAL_FAILURE(Commit(create));
  ASSERT_NO_FATAL_FAILURE(Commit(other_create));
  ExpectRefused(create, "Invalid transaction (DuplicateTransaction): ");
  ExpectRefused(Signed(ledger::MakeTransfer({{IdOf(create), 0, {Pub(a)}}}, IdOf(other_create),
                                            JsonValue::Null(), {{{Pub(b)}, 1}}),
                       {a}),
                "Invalid transaction (AssetIdMismatch): ");
  ExpectRefused(Transfer(create, 0, a, asset, b, /*amount=*/2),
                "Invalid transaction (AmountError): ");
  ASSERT_NO_FATAL_FAILURE(Commit(Transfer(create, 0, a, asset, b)));
  ExpectRefused(Transfer(create, 0, a, asset, c), "Invalid transaction (DoubleSpend): ");
}

TEST_F(HttpApiTest, SubmitterFailuresMapToStatuses) {
  const std::pair<SubmitOutcome, int> cases[] = {
      {SubmitOutcome::kRejected, 400},    {SubmitOutcome::kAlreadyPending, 409},
      {SubmitOutcome::kUnavailable, 503}, {SubmitOutcome::kEngineError, 502},
      {SubmitOutcome::kTimeout, 504},
  };
  int nonce = 0;
  for (const auto& [outcome, status] : cases) {
    submitter_->FailNext(SubmitResult::Failure(outcome, "told to fail"));
    ClientResponse response = Client().Post("/api/v1/transactions", Create(TestKey(1), 1, ++nonce));
    EXPECT_EQ(response.result_int(), status);
    EXPECT_EQ(JsonBody(response), (json{{"message", "told to fail"}, {"status", status}}));
  }
}

TEST_F(HttpApiTest, AnswerMayComeFromAnotherThreadLater) {
  submitter_->HoldAnswers();
  const std::string tx = Create(TestKey(1));
  auto posted = std::async(std::launch::async,
                           [&] { return Client().Post("/api/v1/transactions?mode=commit", tx); });
  submitter_->WaitUntilHeld(1);
  submitter_->AnswerHeldFromAnotherThread();
  ClientResponse response = posted.get();
  EXPECT_EQ(response.result_int(), 202) << response.body();
  EXPECT_EQ(response.body(), tx);
  EXPECT_EQ(Client().Get("/api/v1/transactions/" + IdOf(tx)).body(), tx);
}

TEST_F(HttpApiTest, TransactionsOfAnAsset) {
  KeyPair a = TestKey(1), b = TestKey(2);
  const std::string create = Create(a);
  const std::string asset = IdOf(create);
  const std::string transfer = Transfer(create, 0, a, asset, b);
  ASSERT_NO_FATAL_FAILURE(Commit(create));
  ASSERT_NO_FATAL_FAILURE(Commit(transfer));

  auto ids = [&](const std::string& query) {
    ClientResponse response = Client().Get("/api/v1/transactions?asset_id=" + asset + query);
    EXPECT_EQ(response.result_int(), 200) << response.body();
    std::vector<std::string> result;
    for (const json& tx : JsonBody(response)) result.push_back(tx["id"]);
    return result;
  };
  EXPECT_EQ(ids(""), (std::vector<std::string>{asset, IdOf(transfer)}));
  EXPECT_EQ(ids("&operation=CREATE"), (std::vector<std::string>{asset}));
  EXPECT_EQ(ids("&operation=transfer"), (std::vector<std::string>{IdOf(transfer)}));
  EXPECT_EQ(ids("&last_tx=true"), (std::vector<std::string>{IdOf(transfer)}));
  EXPECT_EQ(ids("&last_tx=false"), (std::vector<std::string>{asset, IdOf(transfer)}));

  // Full transactions, byte for byte.
  ClientResponse listed = Client().Get("/api/v1/transactions?asset_id=" + asset);
  EXPECT_EQ(listed.body(), "[" + create + "," + transfer + "]");

  EXPECT_EQ(Client().Get("/api/v1/transactions").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/transactions?asset_id=xyz").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/transactions?asset_id=" + asset + "&operation=BURN").result_int(),
            400);
  EXPECT_EQ(Client().Get("/api/v1/transactions?asset_id=" + asset + "&last_tx=maybe").result_int(),
            400);
  EXPECT_EQ(Client().Get("/api/v1/transactions?asset_id=" + std::string(64, 'b')).body(), "[]");
}

TEST_F(HttpApiTest, GetTransactionChecksTheId) {
  const std::string create = Create(TestKey(1));
  ASSERT_NO_FATAL_FAILURE(Commit(create));
  std::string upper = IdOf(create);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(Client().Get("/api/v1/transactions/" + upper).body(), create);

  ClientResponse unknown = Client().Get("/api/v1/transactions/" + std::string(64, 'c'));
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_EQ(JsonBody(unknown), (json{{"message", "Not found"}, {"status", 404}}));

  ClientResponse bad = Client().Get("/api/v1/transactions/not-an-id");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(JsonBody(bad)["status"], 400);
}

TEST_F(HttpApiTest, OutputsFilteredBySpent) {
  KeyPair a = TestKey(1), b = TestKey(2);
  const std::string create = Create(a);
  const std::string transfer = Transfer(create, 0, a, IdOf(create), b);
  ASSERT_NO_FATAL_FAILURE(Commit(create));
  ASSERT_NO_FATAL_FAILURE(Commit(transfer));

  auto outputs = [&](const std::string& query) {
    ClientResponse response = Client().Get("/api/v1/outputs?" + query);
    EXPECT_EQ(response.result_int(), 200) << response.body();
    return JsonBody(response);
  };
  const json spent_output = {{"transaction_id", IdOf(create)}, {"output_index", 0}};
  const json unspent_output = {{"transaction_id", IdOf(transfer)}, {"output_index", 0}};
  EXPECT_EQ(outputs("public_key=" + Pub(a)), json::array({spent_output}));
  EXPECT_EQ(outputs("public_key=" + Pub(a) + "&spent=true"), json::array({spent_output}));
  EXPECT_EQ(outputs("public_key=" + Pub(a) + "&spent=false"), json::array());
  EXPECT_EQ(outputs("public_key=" + Pub(b) + "&spent=false"), json::array({unspent_output}));
  EXPECT_EQ(outputs("public_key=" + Pub(b) + "&spent=true"), json::array());

  EXPECT_EQ(Client().Get("/api/v1/outputs").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/outputs?public_key=0OIl").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/outputs/?public_key=" + Pub(a) + "&spent=yes").result_int(), 400);
}

TEST_F(HttpApiTest, BlocksByHeightAndByTransaction) {
  const std::string create = Create(TestKey(1));
  ASSERT_NO_FATAL_FAILURE(Commit(create));

  ClientResponse block = Client().Get("/api/v1/blocks/1");
  ASSERT_EQ(block.result_int(), 200);
  EXPECT_EQ(block.body(), "{\"height\":1,\"transactions\":[" + create + "]}");

  EXPECT_EQ(JsonBody(Client().Get("/api/v1/blocks?transaction_id=" + IdOf(create))),
            json::array({1}));
  EXPECT_EQ(JsonBody(Client().Get("/api/v1/blocks?transaction_id=" + std::string(64, 'd'))),
            json::array());

  ClientResponse missing = Client().Get("/api/v1/blocks/99");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(JsonBody(missing)["status"], 404);
  EXPECT_EQ(Client().Get("/api/v1/blocks/abc").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/blocks/0").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/blocks").result_int(), 400);
}

TEST_F(HttpApiTest, ValidatorsAsRecordedAtInitChain) {
  const std::string validators =
      R"([{"pub_key":{"type":"ed25519-base64","data":"AAAA"},"power":10}])";
  std::string error;
  ASSERT_TRUE(app_->InitChain("test-chain", 1, validators, &error)) << error;
  ClientResponse response = Client().Get("/api/v1/validators");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), validators);
}

TEST_F(HttpApiTest, SearchAssetsAndMetadata) {
  KeyPair a = TestKey(1);
  const std::string bicycle =
      CreateWith(a, StringObject("name", "Blue Bicycle"), StringObject("note", "fast bike"));
  const std::string car =
      CreateWith(a, StringObject("name", "Red Car"), StringObject("note", "fast car"));
  ASSERT_NO_FATAL_FAILURE(Commit(bicycle));
  ASSERT_NO_FATAL_FAILURE(Commit(car));

  EXPECT_EQ(JsonBody(Client().Get("/api/v1/assets?search=bicycle")),
            json::array({{{"id", IdOf(bicycle)}, {"data", {{"name", "Blue Bicycle"}}}}}));
  EXPECT_EQ(JsonBody(Client().Get("/api/v1/assets/?search=BLUE+bicycle")).size(), 1u);
  EXPECT_EQ(JsonBody(Client().Get("/api/v1/assets?search=blue%20car")), json::array());

  json fast = JsonBody(Client().Get("/api/v1/metadata?search=fast"));
  EXPECT_EQ(fast, json::array({{{"id", IdOf(bicycle)}, {"metadata", {{"note", "fast bike"}}}},
                               {{"id", IdOf(car)}, {"metadata", {{"note", "fast car"}}}}}));
  EXPECT_EQ(JsonBody(Client().Get("/api/v1/metadata?search=fast&limit=1")).size(), 1u);
  EXPECT_EQ(JsonBody(Client().Get("/api/v1/metadata?search=fast&limit=0")).size(), 2u);

  ClientResponse empty = Client().Get("/api/v1/assets?search=");
  EXPECT_EQ(empty.result_int(), 400);
  EXPECT_EQ(JsonBody(empty)["message"], "text_search cannot be empty");
  EXPECT_EQ(Client().Get("/api/v1/metadata").result_int(), 400);
  EXPECT_EQ(Client().Get("/api/v1/assets?search=x&limit=-1").result_int(), 400);
}

TEST_F(HttpApiTest, HealthReportsTheHeight) {
  EXPECT_EQ(JsonBody(Client().Get("/health")), (json{{"status", "ok"}, {"height", 0}}));
  ASSERT_NO_FATAL_FAILURE(Commit(Create(TestKey(1))));
  EXPECT_EQ(JsonBody(Client().Get("/health")), (json{{"status", "ok"}, {"height", 1}}));
}

TEST_F(HttpApiTest, MetricsInPrometheusFormat) {
  api_->metrics()->AddSampled("ledgerd_stream_subscribers", "WebSocket subscribers.",
                              MetricType::kGauge, [] { return 3.0; });
  EXPECT_FALSE(api_->metrics()->AddSampled("ledgerd_stream_subscribers", "again",
                                           MetricType::kGauge, [] { return 0.0; }));
  EXPECT_FALSE(api_->metrics()->AddSampled("bad name", "", MetricType::kGauge, [] { return 0.0; }));
  ASSERT_NO_FATAL_FAILURE(Commit(Create(TestKey(1))));
  ExpectRefused("{", "Invalid transaction (MalformedTransaction)");
  Client().Get("/nowhere");

  ClientResponse response = Client().Get("/metrics");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = response.body();
  for (const char* line : {
           "ledgerd_height 1\n",
           "ledgerd_transactions_committed_total 1\n",
           "ledgerd_blocks_committed_total 1\n",
           "ledgerd_check_tx_total{result=\"accepted\"} 1\n",
           "ledgerd_check_tx_total{result=\"rejected\",error=\"MalformedTransaction\"} 1\n",
           "ledgerd_check_tx_total{result=\"rejected\",error=\"DoubleSpend\"} 0\n",
           "ledgerd_http_requests_total{code=\"202\"} 1\n",
           "ledgerd_http_requests_total{code=\"400\"} 1\n",
           "ledgerd_http_requests_total{code=\"404\"} 1\n",
           "ledgerd_http_commit_wait_seconds_count 1\n",
           "ledgerd_http_commit_wait_seconds_bucket{le=\"+Inf\"} 1\n",
           "# TYPE ledgerd_stream_subscribers gauge\n",
           "ledgerd_stream_subscribers 3\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  EXPECT_EQ(api_->metrics()->responses_with_status(404), 1u);
}

TEST_F(HttpApiTest, UnknownPathIs404Json) {
  ClientResponse response = Client().Get("/api/v2/transactions");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
  EXPECT_EQ(JsonBody(response)["status"], 404);
  EXPECT_TRUE(JsonBody(response)["message"].is_string());
}

TEST_F(HttpApiTest, WrongMethodIs405WithAllow) {
  ClientResponse response = Client().Send(http::verb::delete_, "/api/v1/transactions");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD, POST, OPTIONS");
  EXPECT_EQ(
      JsonBody(response),
      (json{{"message", "The method is not allowed for the requested URL."}, {"status", 405}}));

  ClientResponse put =
      Client().Send(http::verb::put, "/api/v1/transactions/" + std::string(64, 'a'));
  EXPECT_EQ(put.result_int(), 405);
  EXPECT_EQ(put[http::field::allow], "GET, HEAD, OPTIONS");
}

TEST_F(HttpApiTest, CorsOnEveryResponseAndPreflight) {
  for (const char* target : {"/",
                             "/api/v1/transactions/"
                             "0",
                             "/nowhere", "/metrics"}) {
    EXPECT_EQ(Client().Get(target)[http::field::access_control_allow_origin], "*") << target;
  }
  ClientResponse refused = Client().Post("/api/v1/transactions", "{");
  EXPECT_EQ(refused[http::field::access_control_allow_origin], "*");

  ClientResponse preflight =
      Client().Send(http::verb::options, "/api/v1/transactions", "",
                    {{"Origin", "https://app.example"},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "content-type, x-custom"}});
  EXPECT_EQ(preflight.result_int(), 200);
  EXPECT_EQ(preflight[http::field::access_control_allow_origin], "*");
  EXPECT_EQ(preflight[http::field::access_control_allow_methods], "GET, HEAD, POST, OPTIONS");
  EXPECT_EQ(preflight[http::field::access_control_allow_headers], "content-type, x-custom");
  EXPECT_TRUE(preflight.body().empty());

  EXPECT_EQ(Client().Send(http::verb::options, "/nowhere").result_int(), 404);
}

TEST_F(HttpApiTest, HeadAnswersWithoutBody) {
  ClientResponse head = Client().Send(http::verb::head, "/api/v1/");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length],
            std::to_string(Client().Get("/api/v1/").body().size()));
}

TEST_F(HttpApiTest, BodyOverOneMebibyteIs413) {
  HttpClient client = Client();
  ClientResponse response = client.Post("/api/v1/transactions", std::string((1 << 20) + 1, ' '));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(JsonBody(response)["status"], 413);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpApiTest, HeadersOverLimitAre431) {
  ClientResponse response =
      Client().Send(http::verb::get, "/health", "", {{"X-Filler", std::string(9000, 'x')}});
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_EQ(JsonBody(response)["status"], 431);
}

TEST_F(HttpApiTest, ExpectContinueGetsAnInterimAnswer) {
  // curl sends "Expect: 100-continue" for bodies over 1 KiB and waits for
  // the interim answer before sending the body.
  const std::string tx = Create(TestKey(1));
  HttpClient client = Client();
  client.WriteRaw(
      "POST /api/v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(tx.size()) + "\r\n\r\n");
  EXPECT_EQ(client.Read().result_int(), 100);
  client.WriteRaw(tx);
  ClientResponse response = client.Read();
  EXPECT_EQ(response.result_int(), 202) << response.body();
  EXPECT_EQ(response.body(), tx);
}

TEST_F(HttpApiTest, GarbageRequestIs400) {
  HttpClient client = Client();
  client.WriteRaw("NOT HTTP AT ALL\r\n\r\n");
  ClientResponse response = client.Read();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(JsonBody(response)["status"], 400);
}

TEST_F(HttpApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient client = Client();
  for (int i = 0; i < 5; ++i) {
    ClientResponse response = client.Get("/health");
    ASSERT_EQ(response.result_int(), 200) << client.last_error().message();
    EXPECT_TRUE(response.keep_alive());
  }
  ClientResponse last = client.Send(http::verb::get, "/health", "", {{"Connection", "close"}});
  EXPECT_EQ(last.result_int(), 200);
  EXPECT_FALSE(last.keep_alive());
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpApiTest, StopClosesOpenConnections) {
  HttpClient client = Client();
  ASSERT_EQ(client.Get("/health").result_int(), 200);
  api_->Stop();
  EXPECT_TRUE(client.ServerClosed());
}

// A GET /health head of exactly `size` bytes, made of many short header
// lines, as a client that trickles its head line by line sends it.
std::string HeadOfSize(size_t size) {
  std::string head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string end = "\r\n";
  for (int line = 0;; ++line) {
    const std::string name = "X-Filler-" + std::to_string(line) + ": ";
    const size_t room = size - head.size() - end.size();
    if (room < name.size() + 2 + 40 * 2) {
      head += name + std::string(room - name.size() - 2, 'x') + "\r\n";
      break;
    }
    head += name + std::string(40, 'x') + "\r\n";
  }
  return head + end;
}

// Writes `bytes` in pieces of `piece` bytes with a pause between them, so
// that the server reads them one by one; all at once when `piece` is 0.
void WriteInPieces(HttpClient& client, const std::string& bytes, size_t piece) {
  if (piece == 0) return client.WriteRaw(bytes);
  for (size_t at = 0; at < bytes.size(); at += piece) {
    client.WriteRaw(bytes.substr(at, piece));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

class SmallHeadLimitTest : public HttpApiTest {
 protected:
  HttpApiOptions ServerOptions() override {
    HttpApiOptions options;
    options.header_limit = kHeadLimit;
    return options;
  }
  static constexpr size_t kHeadLimit = 2048;
};

TEST_F(SmallHeadLimitTest, LimitCountsTheWholeHeadHoweverItArrives) {
  ASSERT_EQ(HeadOfSize(kHeadLimit).size(), kHeadLimit);
  for (const size_t piece : {size_t{0}, size_t{64}, size_t{700}}) {
    for (const size_t size : {kHeadLimit, kHeadLimit + 1}) {
      SCOPED_TRACE("head of " + std::to_string(size) + " bytes in pieces of " +
                   std::to_string(piece));
      HttpClient client = Client();
      WriteInPieces(client, HeadOfSize(size), piece);
      const ClientResponse response = client.Read();
      if (size <= kHeadLimit) {
        EXPECT_EQ(response.result_int(), 200) << response.body();
        EXPECT_TRUE(response.keep_alive());
      } else {
        EXPECT_EQ(response.result_int(), 431) << response.body();
        EXPECT_TRUE(client.ServerClosed());
      }
    }
  }
}

// A client that trickles header lines must not grow a head without bound:
// Beast checks its limit within one read's bytes only.
TEST_F(HttpApiTest, EndlessHeadInPiecesIs431) {
  HttpClient client = Client();
  const std::string head = HeadOfSize(64 << 10);
  // The server answers once the head passes 8 KiB and stops reading; what it
  // never reads may make a late write fail, which is fine.
  WriteInPieces(client, head.substr(0, (8 << 10) + 1024), 512);
  const ClientResponse response = client.Read();
  EXPECT_EQ(response.result_int(), 431) << response.body();
  EXPECT_EQ(JsonBody(response)["status"], 431);
  EXPECT_TRUE(client.ServerClosed());
}

// The input fuzz_http_request found: pipelined requests whose first head
// (2,237 bytes of request line and Host lines with bytes >= 0x80) passes a
// 2 KiB limit. Once it arrived in pieces it was answered 404 and the next
// request 400, two answers where the limit allows one: exactly one 431, then
// the connection closes.
TEST_F(SmallHeadLimitTest, FuzzFindingGetsOne431ThenTheConnectionCloses) {
  std::ifstream file(LEDGERD_TEST_DATA_DIR
                     "/../fuzz/corpus/fuzz_http_request/regression_head_over_limit_in_pieces",
                     std::ios::binary);
  const std::string input((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_EQ(input.size(), 2572u);
  for (const size_t piece : {size_t{0}, size_t{512}}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece));
    HttpClient client = Client();
    WriteInPieces(client, input, piece);
    const ClientResponse response = client.Read();
    EXPECT_EQ(response.result_int(), 431);
    EXPECT_EQ(response.body(),
              R"json({"message":"Request header fields too large (limit 2048 bytes)","status":431})json");
    EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
    EXPECT_FALSE(response.keep_alive());
    EXPECT_TRUE(client.ServerClosed()) << "a second answer followed the first";
  }
}

class SlowClientTest : public HttpApiTest {
 protected:
  HttpApiOptions ServerOptions() override {
    HttpApiOptions options;
    options.read_timeout = std::chrono::milliseconds(200);
    return options;
  }
};

TEST_F(SlowClientTest, IncompleteRequestIsCutOff) {
  HttpClient client = Client();
  client.WriteRaw("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  EXPECT_TRUE(client.ServerClosed());
}

class ConnectionLimitTest : public HttpApiTest {
 protected:
  HttpApiOptions ServerOptions() override {
    HttpApiOptions options;
    options.max_connections = 1;
    return options;
  }
};

TEST_F(ConnectionLimitTest, ConnectionsOverTheLimitGet503) {
  HttpClient first = Client();
  ASSERT_EQ(first.Get("/health").result_int(), 200);
  HttpClient second = Client();
  ClientResponse refused = second.Get("/health");
  EXPECT_EQ(refused.result_int(), 503);
  EXPECT_EQ(JsonBody(refused)["status"], 503);
  EXPECT_EQ(first.Get("/health").result_int(), 200) << "the admitted connection still works";
}

}  // namespace
}  // namespace api
