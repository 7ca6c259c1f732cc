#include "api/web_page.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "api/http_api.h"
#include "api_test_util.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/crypto.h"
#include "ledger_test_util.h"

namespace api {
namespace {

using ::api::testing::ClientResponse;
using ::api::testing::HttpClient;
using ::api::testing::IoThreads;
using ::api::testing::JsonBody;
namespace http = boost::beast::http;

constexpr char kStreamUrl[] = "wss://ledger.example/api/v1/streams/valid_transactions";
constexpr char kChromeAccept[] =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/"
    "*;q=0.8,application/signed-exchange;v=b3;q=0.7";

std::string ReadSourceFile(const std::string& name) {
  std::ifstream in(std::string(LEDGERD_WEB_DIR) + "/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The page makes no submissions; any that arrives is refused.
class RefusingSubmitter : public TransactionSubmitter {
 public:
  void Submit(std::string, BroadcastMode, SubmitCallback done) override {
    done(SubmitResult::Failure(SubmitOutcome::kEngineError, "no engine in this test"));
  }
};

TEST(HttpPageTest, HtmlOnlyWhenPreferredOverJson) {
  EXPECT_TRUE(WebPage::PrefersHtml("text/html"));
  EXPECT_TRUE(WebPage::PrefersHtml(kChromeAccept));
  EXPECT_TRUE(
      WebPage::PrefersHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  EXPECT_TRUE(WebPage::PrefersHtml("application/json;q=0.5, text/html"));
  EXPECT_TRUE(WebPage::PrefersHtml("TEXT/HTML"));

  EXPECT_FALSE(WebPage::PrefersHtml(""));
  EXPECT_FALSE(WebPage::PrefersHtml("*/*"));
  EXPECT_FALSE(WebPage::PrefersHtml("application/json"));
  EXPECT_FALSE(WebPage::PrefersHtml("application/json, text/plain, */*"));
  // A tie goes to JSON: API clients keep the root they know.
  EXPECT_FALSE(WebPage::PrefersHtml("text/html, application/json"));
  EXPECT_FALSE(WebPage::PrefersHtml("text/html;q=0.5, application/json"));
  EXPECT_FALSE(WebPage::PrefersHtml("text/html;q=0"));
  EXPECT_FALSE(WebPage::PrefersHtml("text/html;q=bogus"));
  EXPECT_FALSE(WebPage::PrefersHtml("text/htmlx, garbage"));
}

TEST(HttpPageTest, PolicyAllowsOnlySelfAndTheStreamOrigin) {
  EXPECT_EQ(WebPage(kStreamUrl).content_security_policy(),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self' wss://ledger.example https://ledger.example; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'");
  const std::string local =
      WebPage("ws://127.0.0.1:9985/api/v1/streams/valid_transactions").content_security_policy();
  EXPECT_NE(local.find("connect-src 'self' ws://127.0.0.1:9985 http://127.0.0.1:9985;"),
            std::string::npos)
      << local;
  const std::string v6 = WebPage("ws://[::1]:9985/x").content_security_policy();
  EXPECT_NE(v6.find("connect-src 'self' ws://[::1]:9985 http://[::1]:9985;"), std::string::npos)
      << v6;
  // Anything but a plain host[:port] adds nothing, so a configured URL
  // cannot widen the policy.
  for (const char* url : {"ws://a.example; script-src *", "ws://user@a.example/",
                          "http://a.example/", "ws:///path", "ws://a b/"}) {
    EXPECT_NE(WebPage(url).content_security_policy().find("connect-src 'self'; "),
              std::string::npos)
        << url;
  }
}

TEST(HttpPageTest, EmbeddedFilesAreTheSourceFilesWithTheirHashes) {
  std::set<std::string> names;
  for (const WebFile& file : WebFiles()) {
    names.insert(std::string(file.name));
    EXPECT_EQ(file.bytes, ReadSourceFile(std::string(file.name))) << file.name;
    EXPECT_EQ(file.etag, "\"" + ledger::HexEncode(ledger::Sha256(file.bytes)) + "\"") << file.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"app.js", "favicon.svg", "index.html", "style.css"}));
}

class HttpPageServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = ledger::BlockStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    app_ = std::make_unique<ledger::Application>(store_.get());
    HttpApiOptions options;
    options.listen_address = "127.0.0.1:0";
    options.advertised_ws_url = kStreamUrl;
    api_ = std::make_unique<HttpApi>(io_.context(), *app_, *store_, submitter_, options);
    ASSERT_TRUE(api_->Start(&error)) << error;
  }

  void TearDown() override {
    api_->Stop();
    io_.Join();
  }

  ClientResponse Get(const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return HttpClient(api_->port()).Send(http::verb::get, target, "", headers);
  }

  // Declared first: the io_context outlives the HttpApi.
  IoThreads io_;
  ledger::testing::TempDir dir_;
  std::unique_ptr<ledger::BlockStore> store_;
  std::unique_ptr<ledger::Application> app_;
  RefusingSubmitter submitter_;
  std::unique_ptr<HttpApi> api_;
};

void ExpectPageHeaders(const ClientResponse& response, const std::string& file) {
  EXPECT_EQ(response[http::field::etag],
            "\"" + ledger::HexEncode(ledger::Sha256(ReadSourceFile(file))) + "\"");
  EXPECT_EQ(response[http::field::cache_control], "no-cache");
  EXPECT_EQ(response["Content-Security-Policy"], WebPage(kStreamUrl).content_security_policy());
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
}

TEST_F(HttpPageServerTest, BrowserGetsThePageAtTheRoot) {
  for (const char* accept : {"text/html", kChromeAccept}) {
    SCOPED_TRACE(accept);
    ClientResponse response = Get("/", {{"Accept", accept}});
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(response[http::field::vary], "Accept");
    EXPECT_EQ(response.body(), ReadSourceFile("index.html"));
    ExpectPageHeaders(response, "index.html");
  }
}

TEST_F(HttpPageServerTest, ApiClientsKeepTheJsonRoot) {
  for (const char* accept : {"", "*/*", "application/json", "application/json, text/plain, */*"}) {
    SCOPED_TRACE(accept);
    std::vector<std::pair<std::string, std::string>> headers;
    if (*accept != '\0') headers.emplace_back("Accept", accept);
    ClientResponse response = Get("/", headers);
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_EQ(response[http::field::content_type], "application/json");
    EXPECT_EQ(response[http::field::vary], "Accept");
    EXPECT_EQ(JsonBody(response)["api"]["v1"]["streams"], kStreamUrl);
    EXPECT_EQ(response.count("Content-Security-Policy"), 0u);
  }
  // Only the root is negotiated; the rest of the API is JSON for everyone.
  ClientResponse v1 = Get("/api/v1/", {{"Accept", kChromeAccept}});
  EXPECT_EQ(v1[http::field::content_type], "application/json");
}

TEST_F(HttpPageServerTest, FilesWithTheirContentTypes) {
  const std::pair<const char*, const char*> files[] = {
      {"app.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"favicon.svg", "image/svg+xml"},
  };
  for (const auto& [name, type] : files) {
    SCOPED_TRACE(name);
    ClientResponse response = Get(std::string("/web/") + name);
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_EQ(response[http::field::content_type], type);
    EXPECT_EQ(response.body(), ReadSourceFile(name));
    ExpectPageHeaders(response, name);
  }
  ClientResponse head = HttpClient(api_->port()).Send(http::verb::head, "/web/app.js");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], std::to_string(ReadSourceFile("app.js").size()));
}

TEST_F(HttpPageServerTest, EveryFileThePageLinksIsServed) {
  const std::string page = ReadSourceFile("index.html");
  const std::regex reference(R"((?:href|src)="(web/[^"]+)\")");
  int found = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), reference);
       it != std::sregex_iterator(); ++it) {
    ++found;
    EXPECT_EQ(Get("/" + (*it)[1].str()).result_int(), 200) << (*it)[1];
  }
  EXPECT_EQ(found, 3);
}

TEST_F(HttpPageServerTest, MatchingEtagIs304WithoutBody) {
  HttpClient client(api_->port());
  const std::string etag = std::string(Get("/web/app.js")[http::field::etag]);
  for (const std::string& if_none_match :
       {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
    SCOPED_TRACE(if_none_match);
    ClientResponse response =
        client.Send(http::verb::get, "/web/app.js", "", {{"If-None-Match", if_none_match}});
    EXPECT_EQ(response.result_int(), 304);
    EXPECT_TRUE(response.body().empty());
    EXPECT_EQ(response[http::field::etag], etag);
    EXPECT_EQ(response.count(http::field::content_length), 0u);
  }
  // The connection is still good after the bodiless answers.
  EXPECT_EQ(client.Send(http::verb::get, "/web/app.js", "", {{"If-None-Match", "\"other\""}})
                .result_int(),
            200);

  const std::string page_etag = std::string(Get("/", {{"Accept", "text/html"}})[http::field::etag]);
  EXPECT_EQ(Get("/", {{"Accept", "text/html"}, {"If-None-Match", page_etag}}).result_int(), 304);
  // The JSON root is not the page: the page's ETag does not make it 304.
  EXPECT_EQ(Get("/", {{"If-None-Match", page_etag}}).result_int(), 200);
}

TEST_F(HttpPageServerTest, UnknownFilesAre404Json) {
  for (const char* target :
       {"/web/missing.js", "/web/index.html", "/web/", "/web", "/web/app.js/x", "/web/..%2Fapi"}) {
    SCOPED_TRACE(target);
    ClientResponse response = Get(target);
    EXPECT_EQ(response.result_int(), 404);
    EXPECT_EQ(response[http::field::content_type], "application/json");
    EXPECT_EQ(JsonBody(response)["status"], 404);
  }
  ClientResponse post = HttpClient(api_->port()).Post("/web/app.js", "{}");
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[http::field::allow], "GET, HEAD, OPTIONS");
}

}  // namespace
}  // namespace api
