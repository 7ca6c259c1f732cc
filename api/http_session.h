// One client connection: reads requests one after the other, has the Router
// answer each, writes the answers, and keeps the connection alive between
// them.
#ifndef API_HTTP_SESSION_H_
#define API_HTTP_SESSION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "api/metrics.h"
#include "api/open_connections.h"
#include "api/reply.h"
#include "api/router.h"

namespace api {

// What every session enforces.
struct SessionLimits {
  size_t body_limit = 1 << 20;    // larger bodies are answered 413
  size_t header_limit = 8 << 10;  // larger request heads are answered 431
  // The whole of a request (head and body) must arrive within this, counted
  // from when the session starts waiting for it; this also ends idle
  // keep-alive connections and slowloris clients.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // Writing one response must take no longer.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
};

// Thread safety: Run once, from the thread that created it; Close from any
// thread. Everything else happens on the session's strand (the socket's
// executor).
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<Router> router,
              std::shared_ptr<Metrics> metrics, std::shared_ptr<const SessionLimits> limits,
              std::shared_ptr<OpenConnections> connections);
  // Leaves `connections` if Run registered it there.
  ~HttpSession();

  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Starts serving. `admission` is what OpenConnections::Add said: an
  // over-limit session answers its first request 503 and closes.
  void Run(OpenConnections::Admission admission);

  // Closes the connection; a request being answered is abandoned. Returns
  // at once.
  void Close();

 private:
  void DoRead();
  // Reads and parses the request head piece by piece, counting its bytes:
  // Beast's own header_limit applies to the bytes of one read only, so a
  // head sent in pieces could otherwise grow past the limit.
  void ReadHead();
  void OnReadHeadPart(boost::beast::error_code ec, size_t bytes);
  void OnReadHeader(boost::beast::error_code ec, size_t bytes);
  void OnContinueSent(boost::beast::error_code ec, size_t bytes);
  void ReadBody();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  // Sends `reply` for a request of HTTP `version`; `keep_alive` false ends
  // the connection after it.
  void Answer(Reply reply, unsigned version, bool keep_alive, bool head);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, size_t bytes);
  // Stops sending, then reads and discards what the client still sends for a
  // short while before closing: closing with unread data would make the
  // kernel reset the connection and could destroy the error response before
  // the client reads it (a client still uploading a 413 body, say).
  void LingerThenClose();
  void OnLingerRead(boost::beast::error_code ec, size_t bytes);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  const std::shared_ptr<Router> router_;
  const std::shared_ptr<Metrics> metrics_;
  const std::shared_ptr<const SessionLimits> limits_;
  const std::shared_ptr<OpenConnections> connections_;
  bool registered_ = false;
  bool admitted_ = false;
  bool closing_ = false;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  size_t head_bytes_ = 0;  // of the request being read: request line and headers so far
  std::optional<Response> response_;  // the one being written
  std::string response_head_;         // its status line and fields, serialized
  // "100 Continue", for clients that wait for it before sending a body (curl
  // does above 1 KiB).
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
};

}  // namespace api

#endif  // API_HTTP_SESSION_H_
