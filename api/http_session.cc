#include "api/http_session.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <utility>

namespace api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// How long LingerThenClose waits for the client to stop sending.
constexpr std::chrono::seconds kLingerTime(2);
// Bytes discarded per read while lingering.
constexpr size_t kLingerReadBytes = 64 << 10;

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<Router> router,
                         std::shared_ptr<Metrics> metrics,
                         std::shared_ptr<const SessionLimits> limits,
                         std::shared_ptr<OpenConnections> connections)
    : stream_(std::move(socket)),
      router_(std::move(router)),
      metrics_(std::move(metrics)),
      limits_(std::move(limits)),
      connections_(std::move(connections)) {}

HttpSession::~HttpSession() {
  if (registered_) connections_->Remove(this, admitted_);
}

void HttpSession::Run(OpenConnections::Admission admission) {
  registered_ = admission != OpenConnections::Admission::kClosed;
  admitted_ = admission == OpenConnections::Admission::kAdmitted;
  // Onto the strand: from here on only the strand touches the session.
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
}

void HttpSession::Close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    beast::error_code ignored;
    self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    self->stream_.close();
  });
}

void HttpSession::DoRead() {
  if (closing_) return;
  // A parser serves one message; each request gets a fresh one.
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_->header_limit));
  parser_->body_limit(limits_->body_limit);
  head_bytes_ = 0;
  // One deadline for the whole request, head and body.
  stream_.expires_after(limits_->read_timeout);
  ReadHead();
}

void HttpSession::ReadHead() {
  http::async_read_some(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&HttpSession::OnReadHeadPart, shared_from_this()));
}

void HttpSession::OnReadHeadPart(beast::error_code ec, size_t bytes) {
  if (ec) return OnRead(ec, bytes);
  // The parser consumes whole header lines, and stops at the end of the
  // head (it is not eager), so these are exactly the head's bytes.
  head_bytes_ += bytes;
  if (head_bytes_ > limits_->header_limit) return OnRead(http::error::header_limit, 0);
  if (!parser_->is_header_done()) return ReadHead();
  OnReadHeader(ec, head_bytes_);
}

void HttpSession::OnReadHeader(beast::error_code ec, size_t bytes) {
  if (ec) return OnRead(ec, bytes);
  if (admitted_ && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    continue_ = {http::status::continue_, parser_->get().version()};
    http::async_write(stream_, continue_,
                      beast::bind_front_handler(&HttpSession::OnContinueSent, shared_from_this()));
    return;
  }
  ReadBody();
}

void HttpSession::OnContinueSent(beast::error_code ec, size_t bytes) {
  if (ec) return OnRead(ec, bytes);
  ReadBody();
}

void HttpSession::ReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
}

void HttpSession::OnRead(beast::error_code ec, size_t) {
  if (ec == http::error::header_limit) {
    Answer(ErrorReply(http::status::request_header_fields_too_large,
                      "Request header fields too large (limit " +
                          std::to_string(limits_->header_limit) + " bytes)"),
           11, /*keep_alive=*/false, /*head=*/false);
    return;
  }
  if (ec == http::error::body_limit) {
    Answer(ErrorReply(
               http::status::payload_too_large,
               "Request body too large (limit " + std::to_string(limits_->body_limit) + " bytes)"),
           11, /*keep_alive=*/false, /*head=*/false);
    return;
  }
  if (ec && IsHttpParseError(ec) && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    Answer(ErrorReply(http::status::bad_request, "Malformed HTTP request: " + ec.message()), 11,
           /*keep_alive=*/false, /*head=*/false);
    return;
  }
  if (ec) {
    // The client closed, went silent past the read timeout (the stream has
    // closed the socket), or the socket failed: nobody to answer.
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }

  stream_.expires_never();  // the endpoint may wait for the submitter
  Request request = parser_->release();
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive() && admitted_;
  const bool head = request.method() == http::verb::head;
  if (!admitted_) {
    Answer(ErrorReply(http::status::service_unavailable, "Too many connections; try again later"),
           version, /*keep_alive=*/false, head);
    return;
  }
  router_->Route(std::move(request),
                 [self = shared_from_this(), version, keep_alive, head](Reply reply) mutable {
                   // The answer may come from any thread (the submitter's); back to the
                   // strand. Posting also keeps a synchronous answer from nesting in OnRead.
                   net::post(self->stream_.get_executor(),
                             [self, reply = std::move(reply), version, keep_alive, head]() mutable {
                               self->Answer(std::move(reply), version, keep_alive, head);
                             });
                 });
}

void HttpSession::Answer(Reply reply, unsigned version, bool keep_alive, bool head) {
  if (closing_) return;
  metrics_->CountResponse(static_cast<unsigned>(reply.status));
  response_ = ToResponse(std::move(reply), version, keep_alive, head);
  // The head and the body leave in one gathered write: Beast's general
  // serializer costs more CPU than the system call for these small answers.
  response_head_ = SerializeHead(*response_);
  stream_.expires_after(limits_->write_timeout);
  const std::array<net::const_buffer, 2> wire{net::buffer(response_head_),
                                              net::buffer(response_->body())};
  net::async_write(
      stream_, wire,
      beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), keep_alive));
}

void HttpSession::OnWrite(bool keep_alive, beast::error_code ec, size_t) {
  response_.reset();
  if (ec) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  if (!keep_alive) {
    LingerThenClose();
    return;
  }
  DoRead();
}

void HttpSession::LingerThenClose() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  buffer_.clear();
  stream_.async_read_some(
      buffer_.prepare(kLingerReadBytes),
      beast::bind_front_handler(&HttpSession::OnLingerRead, shared_from_this()));
}

void HttpSession::OnLingerRead(beast::error_code ec, size_t) {
  if (ec || closing_) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  // The deadline set in LingerThenClose still runs: keep discarding.
  stream_.async_read_some(
      buffer_.prepare(kLingerReadBytes),
      beast::bind_front_handler(&HttpSession::OnLingerRead, shared_from_this()));
}

}  // namespace api
