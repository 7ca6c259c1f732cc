// Fuzzes the event stream's side of a connection: the input is the raw bytes
// a client sends to port 9985 (the HTTP upgrade request, then WebSocket
// frames), served by the real stream::HttpSession and WebSocketSession over
// three in-memory committed blocks. The input is also given to
// ParseSubscription as a query string of its own.
//
// Invariants (a violation traps, which libFuzzer records as a crash):
// - no input crashes, hangs or trips ASan/UBSan;
// - a query ParseSubscription accepts, written back in canonical form,
//   parses to the same subscription; a refusal says why;
// - the connection ends once the client has sent everything and
//   half-closed;
// - the server answers with one HTTP/1.1 response, and decides as
//   docs/event-stream.md says, in this order: a request Beast cannot parse is
//   400, a path other than the stream's 404, a method other than GET 405, a
//   bad parameter 400 with ParseSubscription's message, an
//   after_transaction_id naming no committed transaction 400, a request
//   that is not a WebSocket upgrade 426, an upgrade without Host or a
//   Sec-WebSocket-Key of at most 24 characters 400, one whose
//   Sec-WebSocket-Version is not 13 426; only what passes all of these is
//   upgraded (101). Every refusal is {"message","status"} JSON with
//   Access-Control-Allow-Origin: *;
// - after a 101 the server sends only whole, unmasked frames, and its text
//   frames are a prefix of the messages the subscription asks for, in
//   order: replayed from `from_height` or after `after_transaction_id`,
//   filtered, none twice.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/committed_block.h"
#include "ledger/crypto.h"
#include "stream/block_events.h"
#include "stream/broadcaster.h"
#include "stream/counters.h"
#include "stream/event_stream.h"
#include "stream/http_session.h"
#include "stream/subscription.h"
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

// The keys of the JavaScript driver's vectors (keypair_A, keypair_B).
constexpr const char* kKeyA = "FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF";
constexpr const char* kKeyB = "3ogUn1GNXoASaRbxPNeVJnVv5rG4EPBtmQmX61jVorUe";

// Blocks 1 to 3 (block 2 without valid transactions), kept in memory.
class FixedBlocks : public ledger::CommittedBlockSource {
 public:
  FixedBlocks() {
    auto tx = [](char id_digit, char asset_digit, ledger::Operation operation, uint32_t index,
                 std::vector<std::string> keys) {
      return ledger::CommittedTransaction{std::string(64, id_digit), std::string(64, asset_digit),
                                          operation, index, std::move(keys)};
    };
    blocks_[1] = {1, std::string(32, '\1'),
                  {tx('a', 'a', ledger::Operation::kCreate, 0, {kKeyA}),
                   tx('b', 'b', ledger::Operation::kCreate, 1, {kKeyB})}};
    blocks_[2] = {2, std::string(32, '\1'), {}};
    blocks_[3] = {3, std::string(32, '\3'),
                  {tx('c', 'a', ledger::Operation::kTransfer, 0, {kKeyA, kKeyB}),
                   tx('d', 'd', ledger::Operation::kCreate, 1, {kKeyB}),
                   tx('e', 'b', ledger::Operation::kTransfer, 2, {kKeyB, kKeyA})}};
  }

  std::optional<ledger::CommittedBlock> BlockAt(int64_t height) const override {
    const auto found = blocks_.find(height);
    if (found == blocks_.end()) return std::nullopt;
    return found->second;
  }
  int64_t LastHeight() const override { return 3; }

  // Where the committed transaction `id` sits, as the server's locator finds it.
  std::optional<stream::TransactionPosition> Locate(std::string_view id) const {
    for (const auto& [height, block] : blocks_) {
      for (const ledger::CommittedTransaction& tx : block.transactions) {
        if (tx.id == id) return stream::TransactionPosition{height, tx.index};
      }
    }
    return std::nullopt;
  }

  // The messages `subscription` asks for, in order.
  std::vector<std::string> MessagesFor(const stream::Subscription& subscription) const {
    std::vector<std::string> messages;
    const std::optional<stream::TransactionPosition>& after = subscription.after_position;
    if (!subscription.from_height && !after) return messages;  // live only, nothing is published
    for (const auto& [height, block] : blocks_) {
      if (subscription.from_height && height < *subscription.from_height) continue;
      if (after && height < after->height) continue;
      for (const ledger::CommittedTransaction& tx : block.transactions) {
        if (after && height == after->height && tx.index <= after->index) continue;
        if (subscription.Matches(tx)) messages.push_back(stream::TransactionMessage(tx, height));
      }
    }
    return messages;
  }

 private:
  std::map<int64_t, ledger::CommittedBlock> blocks_;
};

// Everything a connection needs, made once per process.
struct Server {
  Server()
      : broadcaster(std::make_shared<stream::Broadcaster>(io_context.get_executor(), 1,
                                                          std::make_shared<stream::Counters>())) {
    auto settings = std::make_shared<stream::EventStreamOptions>();
    // Long enough never to end a conversation: it must end because the
    // client's stream ended.
    settings->handshake_timeout = std::chrono::seconds(60);
    settings->idle_timeout = std::chrono::seconds(60);
    settings->max_client_message_bytes = 1024;
    options = std::move(settings);
  }

  boost::asio::io_context io_context;
  FixedBlocks blocks;
  std::shared_ptr<stream::Broadcaster> broadcaster;
  std::shared_ptr<const stream::EventStreamOptions> options;
};

// The canonical query string of `subscription`.
std::string CanonicalQuery(const stream::Subscription& subscription) {
  std::vector<std::string> parts;
  if (subscription.from_height) {
    parts.push_back("from_height=" + std::to_string(*subscription.from_height));
  }
  if (subscription.after_transaction_id) {
    parts.push_back("after_transaction_id=" + *subscription.after_transaction_id);
  }
  if (subscription.asset_id) parts.push_back("asset_id=" + *subscription.asset_id);
  if (subscription.public_key) parts.push_back("public_key=" + *subscription.public_key);
  if (subscription.operation) {
    parts.push_back("operation=" + std::string(ledger::OperationName(*subscription.operation)));
  }
  std::string query;
  for (const std::string& part : parts) query += (query.empty() ? "" : "&") + part;
  return query;
}

void CheckQueryRoundTrip(std::string_view query) {
  stream::Subscription subscription;
  std::string error;
  if (!stream::ParseSubscription(query, &subscription, &error)) {
    Require(!error.empty(), "a refused query says why");
    return;
  }
  if (subscription.from_height) Require(*subscription.from_height >= 0, "from_height >= 0");
  Require(!subscription.from_height || !subscription.after_transaction_id,
          "from_height and after_transaction_id exclude each other");
  if (subscription.after_transaction_id) {
    Require(subscription.after_transaction_id->size() == 64 &&
                subscription.after_transaction_id->find_first_not_of("0123456789abcdef") ==
                    std::string::npos,
            "after_transaction_id is 64 lower-case hex digits");
  }
  if (subscription.asset_id) {
    Require(subscription.asset_id->size() == 64 &&
                subscription.asset_id->find_first_not_of("0123456789abcdef") == std::string::npos,
            "asset_id is 64 lower-case hex digits");
  }
  if (subscription.public_key) {
    const std::optional<std::string> key = ledger::Base58Decode(*subscription.public_key);
    Require(key && key->size() == 32, "public_key is 32 bytes");
  }
  stream::Subscription again;
  Require(stream::ParseSubscription(CanonicalQuery(subscription), &again, &error),
          "the canonical query parses");
  Require(again.from_height == subscription.from_height &&
              again.after_transaction_id == subscription.after_transaction_id &&
              again.asset_id == subscription.asset_id &&
              again.public_key == subscription.public_key &&
              again.operation == subscription.operation,
          "the canonical query means the same");
}

// What the server must answer to `input`, worked out from the request as
// Beast parses it; `message` is set for a refused parameter.
struct Expected {
  unsigned status = 0;  // 0: no whole request, so no answer
  std::string message;
  stream::Subscription subscription;  // for 101
};

Expected Decide(std::string_view input, const FixedBlocks& blocks) {
  constexpr size_t kHeadLimit = 8 * 1024;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kHeadLimit);
  beast::error_code ec;
  size_t used = 0;
  // The head first (the parser is not eager, so it stops at its end): the
  // server counts the whole head against the limit, whatever Beast's parser
  // allows within one buffer.
  while (!parser.is_header_done() && used < input.size()) {
    const size_t n = parser.put(boost::asio::buffer(input.substr(used)), ec);
    used += n;
    if (ec == http::error::need_more && n > 0) continue;
    break;
  }
  // A head the parser refused (or that is incomplete) ends the request: the
  // parser must not be fed after an error.
  const bool head_accepted = parser.is_header_done() && used <= kHeadLimit;
  parser.eager(true);
  while (head_accepted && !parser.is_done() && used < input.size()) {
    const size_t n = parser.put(boost::asio::buffer(input.substr(used)), ec);
    used += n;
    if (ec == http::error::need_more && n > 0) continue;
    break;
  }
  Expected expected;
  if (!head_accepted || !parser.is_done()) {
    // Refused by the parser, or cut short by the end of the stream (Beast
    // reports partial_message): malformed. No byte at all: no request.
    if (!input.empty()) expected.status = 400;
    return expected;
  }
  const http::request<http::empty_body>& request = parser.get();
  const std::string_view target(request.target().data(), request.target().size());
  const size_t question_mark = target.find('?');
  const std::string_view path = target.substr(0, question_mark);
  const std::string_view query =
      question_mark == std::string_view::npos ? std::string_view() : target.substr(question_mark + 1);
  if (path != stream::kStreamPath) {
    expected.status = 404;
  } else if (request.method() != http::verb::get) {
    expected.status = 405;
  } else if (!stream::ParseSubscription(query, &expected.subscription, &expected.message)) {
    expected.status = 400;
  } else if (const std::optional<std::string>& after = expected.subscription.after_transaction_id;
             after && !(expected.subscription.after_position = blocks.Locate(*after))) {
    expected.status = 400;
    expected.message = "after_transaction_id " + *after + " is not a committed transaction";
  } else if (!beast::websocket::is_upgrade(request)) {
    expected.status = 426;
  } else if (request.find(http::field::host) == request.end() ||
             request.find(http::field::sec_websocket_key) == request.end() ||
             request[http::field::sec_websocket_key].size() > 24) {
    expected.status = 400;
  } else if (request[http::field::sec_websocket_version] != "13") {
    expected.status = 426;
  } else {
    expected.status = 101;
  }
  return expected;
}

// The server's frames after a 101: whole, unmasked; text payloads in order.
void CheckFrames(std::string_view bytes, const std::vector<std::string>& wanted) {
  size_t texts = 0;
  while (!bytes.empty()) {
    Require(bytes.size() >= 2, "a whole frame header");
    const uint8_t opcode = static_cast<uint8_t>(bytes[0]) & 0x0f;
    Require((static_cast<uint8_t>(bytes[1]) & 0x80) == 0, "server frames are unmasked");
    uint64_t length = static_cast<uint8_t>(bytes[1]) & 0x7f;
    size_t header = 2;
    if (length == 126 || length == 127) {
      const size_t extra = length == 126 ? 2 : 8;
      Require(bytes.size() >= 2 + extra, "a whole frame header");
      length = 0;
      for (size_t i = 0; i < extra; ++i) length = length << 8 | static_cast<uint8_t>(bytes[2 + i]);
      header += extra;
    }
    Require(bytes.size() - header >= length, "a whole frame");
    const std::string_view payload = bytes.substr(header, length);
    if (opcode == 1) {
      Require(texts < wanted.size(), "no message beyond what the subscription asks for");
      Require(payload == wanted[texts], "the subscription's messages, in order");
      ++texts;
    } else {
      Require(opcode == 8 || opcode == 9 || opcode == 10, "text and control frames only");
    }
    bytes.remove_prefix(header + length);
  }
}

void CheckAnswer(std::string_view input, std::string_view answer, const FixedBlocks& blocks) {
  const Expected expected = Decide(input, blocks);
  if (expected.status == 0) {
    Require(answer.empty(), "no answer without a whole request");
    return;
  }
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  if (expected.status == 101) parser.skip(true);  // what follows the head is frames
  beast::error_code ec;
  size_t used = 0;
  while (!parser.is_done() && used < answer.size()) {
    const size_t n = parser.put(boost::asio::buffer(answer.substr(used)), ec);
    used += n;
    if (ec == http::error::need_more && n > 0) continue;
    break;
  }
  Require(!ec && parser.is_done(), "a whole HTTP response");
  const http::response<http::string_body>& response = parser.get();
  if (response.result_int() != expected.status) {
    std::fprintf(stderr, "expected status %u, answered %u\n", expected.status,
                 response.result_int());
  }
  Require(response.result_int() == expected.status, "the decision the documentation states");
  if (expected.status == 101) {
    CheckFrames(answer.substr(used), blocks.MessagesFor(expected.subscription));
    return;
  }
  Require(used == answer.size(), "nothing after a refusal");
  Require(response[http::field::access_control_allow_origin] == "*", "CORS header");
  const nlohmann::json body = nlohmann::json::parse(response.body(), nullptr, false);
  Require(body.is_object() && body.size() == 2 && body["status"] == expected.status &&
              body["message"].is_string() && !body["message"].get<std::string>().empty(),
          "a refusal is {message, status}");
  if (expected.status == 400 && !expected.message.empty()) {
    // The message may quote bytes that are not UTF-8, replaced when encoded.
    const std::string quoted = nlohmann::json(expected.message)
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Require(nlohmann::json(body["message"]).dump() == quoted, "ParseSubscription's message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* const server = new Server();  // lives for the process
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckQueryRoundTrip(input);

  fuzz::SocketPair pair = fuzz::MakeSocketPair(server->io_context);
  std::make_shared<stream::HttpSession<beast::tcp_stream>>(
      beast::tcp_stream(std::move(pair.server)), server->broadcaster, server->blocks,
      server->options,
      [](std::string_view id) { return server->blocks.Locate(id); })
      ->Run();
  // Frames after the upgrade request wait for the server's answer, as a
  // WebSocket client's do.
  const size_t head_end = input.find("\r\n\r\n");
  const std::optional<std::string> answer =
      fuzz::Converse(server->io_context, pair.client, input, std::chrono::seconds(10),
                     head_end == std::string_view::npos ? head_end : head_end + 4);
  Require(answer.has_value(), "the connection ends after the client's end of stream");
  CheckAnswer(input, *answer, server->blocks);
  return 0;
}
