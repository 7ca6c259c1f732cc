#include "stream/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "stream/subscription.h"
#include "stream/websocket_session.h"

namespace stream {
namespace {

constexpr size_t kMaxRequestHeaderBytes = 8 * 1024;

// True for the parser's errors (bad syntax, header too large), as opposed to
// the connection's.
bool IsMalformedRequest(beast::error_code ec) {
  return ec.category() == beast::error_code(http::error::bad_target).category();
}

// A refused upgrade request: the status and the message saying why.
struct Refusal {
  http::status status;
  std::string message;
};

// Why an upgrade request (one websocket::is_upgrade accepts, so HTTP/1.1: the
// parser refuses versions above it) cannot complete the WebSocket handshake,
// checked as Beast's accept checks it, so that every refusal is ours: JSON,
// readable from any origin. nullopt when it can.
std::optional<Refusal> HandshakeRefusal(const http::request<http::empty_body>& request) {
  if (request.find(http::field::host) == request.end()) {
    return Refusal{http::status::bad_request, "the upgrade request has no Host header"};
  }
  const auto key = request.find(http::field::sec_websocket_key);
  // Beast keeps the key in 24 bytes, the length of a base64 16-byte nonce.
  if (key == request.end() || key->value().size() > 24) {
    return Refusal{http::status::bad_request,
                   "the upgrade request needs a Sec-WebSocket-Key of at most 24 characters"};
  }
  const auto version = request.find(http::field::sec_websocket_version);
  if (version == request.end() || version->value() != "13") {
    // RFC 6455 §4.4: name the version we speak.
    return Refusal{http::status::upgrade_required,
                   "unsupported Sec-WebSocket-Version; this server speaks version 13"};
  }
  return std::nullopt;
}

}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, std::shared_ptr<Broadcaster> broadcaster,
                                 const ledger::CommittedBlockSource& blocks,
                                 std::shared_ptr<const EventStreamOptions> options,
                                 TransactionLocator locate)
    : stream_(std::move(stream)),
      broadcaster_(std::move(broadcaster)),
      blocks_(blocks),
      options_(std::move(options)),
      locate_(std::move(locate)) {}

template <class Stream>
void HttpSession<Stream>::Run() {
  // The acceptor's handler runs on the listener's strand; move to ours.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::Start, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::Start() {
  beast::get_lowest_layer(stream_).expires_after(options_->handshake_timeout);
  if constexpr (kTls) {
    stream_.async_handshake(
        net::ssl::stream_base::server,
        beast::bind_front_handler(&HttpSession::OnTlsHandshake, this->shared_from_this()));
  } else {
    DoRead();
  }
}

template <class Stream>
void HttpSession<Stream>::OnTlsHandshake(beast::error_code ec) {
  if (ec) return;  // not a TLS client, or gone; nothing to answer
  DoRead();
}

template <class Stream>
void HttpSession<Stream>::DoRead() {
  parser_.header_limit(kMaxRequestHeaderBytes);
  http::async_read_some(stream_, buffer_, parser_,
                        beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::OnRead(beast::error_code ec, std::size_t bytes) {
  if (!ec && !head_read_) {
    // The parser consumes whole header lines and stops at the end of the
    // head (it is not eager), so these are exactly the head's bytes.
    head_bytes_ += bytes;
    head_read_ = parser_.is_header_done();
    if (head_bytes_ > kMaxRequestHeaderBytes) ec = http::error::header_limit;
  }
  if (!ec && !parser_.is_done()) {
    return http::async_read_some(
        stream_, buffer_, parser_,
        beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
  }
  if (ec == http::error::end_of_stream) return;
  if (ec && IsMalformedRequest(ec)) {
    return Respond(http::status::bad_request, "malformed HTTP request: " + ec.message());
  }
  if (ec) return;  // timed out or reset before a whole request arrived
  Route();
}

template <class Stream>
void HttpSession<Stream>::Route() {
  const http::request<http::empty_body>& request = parser_.get();
  const std::string_view target(request.target().data(), request.target().size());
  const size_t question_mark = target.find('?');
  const std::string_view path = target.substr(0, question_mark);
  const std::string_view query = question_mark == std::string_view::npos
                                     ? std::string_view()
                                     : target.substr(question_mark + 1);

  if (path != kStreamPath) {
    return Respond(http::status::not_found, "no such endpoint: " + std::string(path) +
                                                "; the event stream is at " +
                                                std::string(kStreamPath));
  }
  if (request.method() != http::verb::get) {
    response_.set(http::field::allow, "GET");
    return Respond(http::status::method_not_allowed,
                   "the event stream is opened with a GET WebSocket upgrade request");
  }
  // Parameters first: a browser cannot read the answer to a refused
  // WebSocket upgrade, but it can fetch the same URL and read this 400.
  Subscription subscription;
  std::string error;
  if (!ParseSubscription(query, &subscription, &error)) {
    return Respond(http::status::bad_request, error);
  }
  if (const std::optional<std::string>& after = subscription.after_transaction_id) {
    if (locate_) subscription.after_position = locate_(*after);
    if (!subscription.after_position) {
      return Respond(http::status::bad_request,
                     "after_transaction_id " + *after + " is not a committed transaction");
    }
  }
  if (!beast::websocket::is_upgrade(request)) {
    response_.set(http::field::upgrade, "websocket");
    response_.set(http::field::connection, "Upgrade");
    return Respond(http::status::upgrade_required,
                   "the event stream speaks WebSocket only; connect with a WebSocket client");
  }
  if (const std::optional<Refusal> refusal = HandshakeRefusal(request)) {
    if (refusal->status == http::status::upgrade_required) {
      response_.set(http::field::sec_websocket_version, "13");
    }
    return Respond(refusal->status, refusal->message);
  }
  if (!broadcaster_->TryAdmit()) {
    response_.set(http::field::retry_after, "5");
    return Respond(http::status::service_unavailable,
                   "too many subscribers (limit " + std::to_string(options_->max_connections) +
                       "); try again later");
  }
  // From here on the WebSocket stream's own timeouts apply.
  beast::get_lowest_layer(stream_).expires_never();
  std::make_shared<WebSocketSession<Stream>>(std::move(stream_), std::move(subscription),
                                             broadcaster_, blocks_, options_)
      ->Run(parser_.release());
}

template <class Stream>
void HttpSession<Stream>::Respond(http::status status, const std::string& message) {
  response_.version(11);
  response_.result(status);
  response_.set(http::field::server, "ledgerd");
  response_.set(http::field::content_type, "application/json");
  // Any origin may read why it was refused, as with the HTTP API.
  response_.set(http::field::access_control_allow_origin, "*");
  response_.keep_alive(false);
  // The message may quote what the client sent, which need not be UTF-8.
  response_.body() =
      nlohmann::json{{"message", message}, {"status", static_cast<int>(status)}}.dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace);
  response_.prepare_payload();
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::OnWrite, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::OnWrite(beast::error_code ec, std::size_t) {
  if (ec) return;
  if constexpr (kTls) {
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
  } else {
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
}

template class HttpSession<beast::tcp_stream>;
template class HttpSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace stream
