// Fuzzes the HTTP API's request handling: the input is the raw bytes a client
// sends on one connection (one or more requests, pipelined), served by the
// real api::HttpSession, Router and Endpoints over a real LevelDB-backed
// ledger (two committed blocks, in a temporary directory made once).
//
// Invariants (a violation traps, which libFuzzer records as a crash):
// - no input crashes, hangs or trips ASan/UBSan;
// - the connection ends once the client has sent everything and
//   half-closed (no session outlives its client);
// - what the server sends is a sequence of whole HTTP/1.1 responses, nothing
//   else: interim 100s, then at most one final response per request the
//   same Beast parser finds in the input, plus at most one error answer;
// - every final response carries Access-Control-Allow-Origin: * and a known
//   status, never 500;
// - every JSON body parses, and every error body is
//   {"message": <non-empty string>, "status": <the response's status>}.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/endpoints.h"
#include "api/http_session.h"
#include "api/metrics.h"
#include "api/open_connections.h"
#include "api/router.h"
#include "api/transaction_submitter.h"
#include "ledger/application.h"
#include "ledger/block_store.h"
#include "tests/fuzz/socket_conversation.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    __builtin_trap();
  }
}

// Answers at once; the outcome depends only on the transaction's bytes, so
// every submitter status is reachable and an input always gets the same one.
class FixedSubmitter : public api::TransactionSubmitter {
 public:
  void Submit(std::string tx, api::BroadcastMode mode, api::SubmitCallback done) override {
    if (mode != api::BroadcastMode::kCommit) return done(api::SubmitResult::Accepted());
    static constexpr api::SubmitOutcome kOutcomes[] = {
        api::SubmitOutcome::kAccepted,       api::SubmitOutcome::kRejected,
        api::SubmitOutcome::kAlreadyPending, api::SubmitOutcome::kUnavailable,
        api::SubmitOutcome::kEngineError,    api::SubmitOutcome::kTimeout};
    const api::SubmitOutcome outcome = kOutcomes[tx.size() % std::size(kOutcomes)];
    if (outcome == api::SubmitOutcome::kAccepted) return done(api::SubmitResult::Accepted());
    done(api::SubmitResult::Failure(outcome, "refused by the fuzzing submitter"));
  }
};

// The signed CREATE and TRANSFER of the JavaScript driver's vectors.
std::vector<std::string> VectorTransactions() {
  std::ifstream file(LEDGERD_ROOT "/tests/data/js-driver-vectors.json");
  const nlohmann::json vectors = nlohmann::json::parse(file);
  return {vectors["create"]["signed"].dump(), vectors["transfer"]["signed"].dump()};
}

// Everything a session needs, made once per process.
struct Server {
  Server() {
    char pattern[] = "/tmp/ledgerd-fuzz-http-XXXXXX";
    Require(mkdtemp(pattern) != nullptr, "mkdtemp");
    directory = pattern;
    std::string error;
    store = ledger::BlockStore::Open(directory, &error);
    Require(store != nullptr, "open the store");
    app = std::make_unique<ledger::Application>(store.get());
    Require(app->InitChain("fuzz", 1, "[]", &error), "InitChain");
    int64_t height = 0;
    for (const std::string& tx : VectorTransactions()) {
      const ledger::FinalizedBlock block = app->FinalizeBlock(++height, {tx});
      Require(block.results.at(0).status.ok(), "a vector transaction is valid");
      Require(app->Commit(&error), "Commit");
    }
    auto metrics = std::make_shared<api::Metrics>();
    router = std::make_shared<api::Router>(std::make_shared<api::Endpoints>(
        *app, *store, submitter, metrics,
        api::EndpointSettings{"0.0.0-fuzz", "https://docs.example/",
                              "ws://localhost:9985/api/v1/streams/valid_transactions", 1000}));
    session_metrics = std::move(metrics);
    // Small limits, so that the fuzzer reaches them.
    limits = std::make_shared<api::SessionLimits>(
        api::SessionLimits{kBodyLimit, kHeaderLimit, std::chrono::seconds(30),
                           std::chrono::seconds(30)});
    connections = std::make_shared<api::OpenConnections>(1);
    full = std::make_shared<api::OpenConnections>(0);
  }

  ~Server() {
    router.reset();
    app.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }

  static constexpr size_t kBodyLimit = 64 << 10;
  static constexpr size_t kHeaderLimit = 2 << 10;

  std::string directory;
  std::unique_ptr<ledger::BlockStore> store;
  std::unique_ptr<ledger::Application> app;
  FixedSubmitter submitter;
  std::shared_ptr<api::Metrics> session_metrics;
  std::shared_ptr<api::Router> router;
  std::shared_ptr<const api::SessionLimits> limits;
  std::shared_ptr<api::OpenConnections> connections;
  std::shared_ptr<api::OpenConnections> full;  // admits nobody
  boost::asio::io_context io_context;
};

Server* g_server = nullptr;

// Made on first use; removed at exit with its directory.
Server& TheServer() {
  if (g_server == nullptr) {
    g_server = new Server();
    std::atexit([] { delete g_server; });
  }
  return *g_server;
}

// The methods of the requests the server's parser finds in `input`, in
// order, read with the same parser and limits; parsing stops at the first
// request that is malformed, too large or incomplete. As in the server, the
// head limit counts the whole head (request line and headers), whatever
// Beast's parser allows within one buffer.
std::vector<http::verb> RequestMethods(std::string_view input) {
  std::vector<http::verb> methods;
  beast::flat_buffer buffer;
  if (!input.empty()) {
    auto bytes = buffer.prepare(input.size());
    std::memcpy(bytes.data(), input.data(), input.size());
    buffer.commit(input.size());
  }
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(Server::kHeaderLimit);
    parser.body_limit(Server::kBodyLimit);
    beast::error_code ec;
    size_t head_bytes = 0;
    while (!parser.is_header_done() && buffer.size() > 0) {
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      head_bytes += used;  // not eager: the parser stops at the end of the head
      if (ec == http::error::need_more && used > 0) continue;
      break;
    }
    if (!parser.is_header_done() || head_bytes > Server::kHeaderLimit) return methods;
    parser.eager(true);
    while (!parser.is_done() && buffer.size() > 0) {
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more && used > 0) continue;
      break;
    }
    // Malformed, too large, or incomplete: the server reads no further.
    // (An end of stream ends a body without a length only in a response.)
    if (!parser.is_done()) return methods;
    methods.push_back(parser.get().method());
    if (!parser.get().keep_alive()) return methods;
  }
}

const std::set<unsigned> kStatuses = {200, 202, 304, 400, 404, 405, 409, 413, 431, 502, 503, 504};

void CheckJsonBody(const http::response<http::string_body>& response) {
  const unsigned status = response.result_int();
  const bool json = response[http::field::content_type] == api::kJsonContentType;
  if (status >= 400) Require(json, "an error body is JSON");
  if (!json || response.body().empty()) return;
  const nlohmann::json body = nlohmann::json::parse(response.body(), nullptr, false);
  Require(!body.is_discarded(), "a JSON body parses");
  if (status < 400) return;
  Require(body.is_object() && body.size() == 2, "an error body has two members");
  Require(body.contains("message") && body["message"].is_string() &&
              !body["message"].get<std::string>().empty(),
          "an error body has a message");
  Require(body.contains("status") && body["status"] == status, "an error body names its status");
}

// Checks what the server sent in answer to `input`.
void CheckAnswer(std::string_view input, std::string_view answer) {
  const std::vector<http::verb> methods = RequestMethods(input);
  size_t finals = 0;
  while (!answer.empty()) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.eager(true);
    // The response to a HEAD announces a length it does not send.
    if (finals < methods.size() && methods[finals] == http::verb::head) parser.skip(true);
    beast::error_code ec;
    size_t used = 0;
    while (!parser.is_done() && used < answer.size()) {
      const size_t n = parser.put(boost::asio::buffer(answer.substr(used)), ec);
      used += n;
      if (ec == http::error::need_more && n > 0) continue;
      break;
    }
    Require(!ec && parser.is_done(), "the server's bytes are whole HTTP responses");
    answer.remove_prefix(used);
    const http::response<http::string_body>& response = parser.get();
    Require(response.version() == 11 || response.version() == 10, "HTTP/1.x");
    if (response.result_int() == 100) continue;  // interim answer to Expect: 100-continue
    ++finals;
    Require(kStatuses.contains(response.result_int()), "a known status");
    Require(response[http::field::access_control_allow_origin] == "*", "CORS header");
    if (finals <= methods.size() && methods[finals - 1] == http::verb::head) {
      Require(response.body().empty(), "no body for HEAD");
    } else {
      CheckJsonBody(response);
    }
  }
  Require(finals <= methods.size() + 1, "at most one answer per request and one error");
  // A keep-alive connection whose requests all parsed answers every one of
  // them (the rest of the input is an incomplete request, or nothing).
  if (!methods.empty()) Require(finals >= 1, "the first whole request is answered");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& server = TheServer();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz::SocketPair pair = fuzz::MakeSocketPair(server.io_context);
  // An input starting with 'X' meets a full server (limit 0) and sees the
  // over-limit answer; any other is admitted (limit 1, one session at a
  // time).
  const bool full = size > 0 && data[0] == 'X';
  const std::shared_ptr<api::OpenConnections>& connections =
      full ? server.full : server.connections;
  auto session = std::make_shared<api::HttpSession>(std::move(pair.server), server.router,
                                                    server.session_metrics, server.limits,
                                                    connections);
  session->Run(connections->Add(session));
  session.reset();
  const std::optional<std::string> answer =
      fuzz::Converse(server.io_context, pair.client, input, std::chrono::seconds(10));
  Require(answer.has_value(), "the connection ends after the client's end of stream");
  CheckAnswer(input, *answer);
  return 0;
}
