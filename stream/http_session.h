// One accepted connection before it becomes a subscriber: the TLS handshake
// (wss://), the HTTP request, and either the upgrade or an HTTP error.
//
// Thread safety: all work happens on the connection's strand.
#ifndef STREAM_HTTP_SESSION_H_
#define STREAM_HTTP_SESSION_H_

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

#include "ledger/committed_block.h"
#include "stream/broadcaster.h"
#include "stream/event_stream.h"
#include "stream/subscription.h"

namespace stream {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// `Stream` is beast::tcp_stream (ws://) or beast::ssl_stream<beast::tcp_stream>
// (wss://); both are instantiated in http_session.cc.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // `locate` resolves after_transaction_id; without one, every such request
  // is refused as naming no committed transaction.
  HttpSession(Stream&& stream, std::shared_ptr<Broadcaster> broadcaster,
              const ledger::CommittedBlockSource& blocks,
              std::shared_ptr<const EventStreamOptions> options, TransactionLocator locate = {});

  // Reads one request and answers it: a valid upgrade of the stream path
  // becomes a WebSocketSession; anything else gets a JSON error (404 unknown
  // path, 405 not GET, 400 bad parameter or an after_transaction_id that is
  // not committed, 426 not an upgrade, 503 full; with
  // Access-Control-Allow-Origin: *) and the connection is closed.
  void Run();

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void Start();
  void OnTlsHandshake(beast::error_code ec);
  // Reads the upgrade request piece by piece, counting the head's bytes:
  // Beast's own header_limit applies to the bytes of one read only.
  void DoRead();
  void OnRead(beast::error_code ec, std::size_t bytes);
  void Route();
  void Respond(http::status status, const std::string& message);
  void OnWrite(beast::error_code ec, std::size_t bytes);

  Stream stream_;
  const std::shared_ptr<Broadcaster> broadcaster_;
  const ledger::CommittedBlockSource& blocks_;
  const std::shared_ptr<const EventStreamOptions> options_;
  const TransactionLocator locate_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  std::size_t head_bytes_ = 0;  // request line and headers read so far
  bool head_read_ = false;
  http::response<http::string_body> response_;
};

}  // namespace stream

#endif  // STREAM_HTTP_SESSION_H_
