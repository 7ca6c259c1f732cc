// Accepts connections on the stream's port and starts an HttpSession for
// each.
//
// Thread safety: Open and local_endpoint before Run; Run and Close from any
// thread (the work happens on the listener's strand).
#ifndef STREAM_LISTENER_H_
#define STREAM_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>
#include <string>

#include "ledger/committed_block.h"
#include "stream/broadcaster.h"
#include "stream/event_stream.h"
#include "stream/subscription.h"

namespace stream {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `tls` (null for ws://) and `blocks` must outlive every session;
  // `locate` resolves after_transaction_id.
  Listener(boost::asio::io_context& io_context, boost::asio::ssl::context* tls,
           std::shared_ptr<Broadcaster> broadcaster, const ledger::CommittedBlockSource& blocks,
           TransactionLocator locate, std::shared_ptr<const EventStreamOptions> options);

  // Binds and listens on `endpoint`. Returns false with `*error` if the
  // address cannot be used (in use, not local, no permission).
  bool Open(const boost::asio::ip::tcp::endpoint& endpoint, std::string* error);

  // The bound address (with the port the system chose for port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting; keeps doing so until Close.
  void Run();

  // Stops accepting. Returns at once; established sessions are not touched.
  void Close();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void StartSession(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_context_;
  boost::asio::ssl::context* const tls_;
  const std::shared_ptr<Broadcaster> broadcaster_;
  const ledger::CommittedBlockSource& blocks_;
  const TransactionLocator locate_;
  const std::shared_ptr<const EventStreamOptions> options_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // backs off when out of descriptors
};

}  // namespace stream

#endif  // STREAM_LISTENER_H_
