// One kept-alive HTTP/1.1 connection to CometBFT's RPC server, carrying one
// JSON-RPC POST at a time. Private to CometRpcSubmitter.
#ifndef API_RPC_CONNECTION_H_
#define API_RPC_CONNECTION_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace api {

// Where CometBFT's RPC listens, from a URL like http://127.0.0.1:26657.
struct RpcEndpoint {
  std::string url;          // as configured, for messages
  std::string host;         // name or address, without brackets
  std::string port;         // decimal
  std::string target;       // path to POST to, "/" by default
  std::string host_header;  // value of the Host header
};

// Parses "http://host[:port][/path]" (also "tcp://", CometBFT's own spelling
// of its laddr; port 80 if absent). Returns nullopt with `*error` on any
// other form, https:// included.
std::optional<RpcEndpoint> ParseRpcUrl(std::string_view url, std::string* error);

// How one POST ended.
struct RpcExchange {
  enum class Phase { kConnect, kExchange };
  // Set on a network failure or timeout (boost::beast::error::timeout);
  // `phase` says whether it happened while connecting.
  boost::beast::error_code error;
  Phase phase = Phase::kExchange;
  // The failure hit a connection kept from an earlier request before any
  // byte of the reply arrived: the server most likely closed it while idle,
  // and the request can be sent again on a fresh connection.
  bool stale = false;
  unsigned status = 0;  // HTTP status of the reply
  std::string body;     // the reply's body
};

// Thread safety: Post and Close from any thread, but one Post at a time (the
// next only after the previous one's callback). Work runs on the
// connection's own strand.
class RpcConnection : public std::enable_shared_from_this<RpcConnection> {
 public:
  // `endpoint` must outlive the connection.
  RpcConnection(boost::asio::io_context& io_context, const RpcEndpoint& endpoint,
                std::chrono::milliseconds connect_timeout);

  // Connects if not connected, POSTs `json_body` and reads the reply, all
  // within `timeout` after connecting; calls `done` on the connection's
  // strand. After a failure, or a reply without keep-alive, the connection is
  // closed and the next Post reconnects.
  void Post(std::string json_body, std::chrono::milliseconds timeout,
            std::function<void(RpcExchange)> done);

  // Closes the socket; a Post in progress ends with an error.
  void Close();

 private:
  void OnResolve(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void OnConnect(boost::beast::error_code ec, boost::asio::ip::tcp::endpoint);
  void DoWrite();
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void OnRead(boost::beast::error_code ec, size_t bytes);
  void Finish(boost::beast::error_code ec, RpcExchange::Phase phase, bool stale);

  const RpcEndpoint& endpoint_;
  const std::chrono::milliseconds connect_timeout_;
  boost::beast::tcp_stream stream_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  bool reused_ = false;  // the current Post found the connection open
  std::chrono::milliseconds timeout_{0};
  boost::beast::http::request<boost::beast::http::string_body> request_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::function<void(RpcExchange)> done_;
};

}  // namespace api

#endif  // API_RPC_CONNECTION_H_
