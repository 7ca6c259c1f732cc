// Accepts connections on the API's port and starts an HttpSession for each.
#ifndef API_LISTENER_H_
#define API_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_session.h"
#include "api/metrics.h"
#include "api/open_connections.h"
#include "api/router.h"

namespace api {

// Thread safety: Open and local_endpoint before Run; Run and Close from any
// thread (the work happens on the listener's strand).
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `log` receives one line per unexpected accept failure; may be null.
  Listener(boost::asio::io_context& io_context, std::shared_ptr<Router> router,
           std::shared_ptr<Metrics> metrics, std::shared_ptr<const SessionLimits> limits,
           std::shared_ptr<OpenConnections> connections, std::function<void(std::string_view)> log);

  // Binds and listens on `endpoint`. Returns false with `*error` if the
  // address cannot be used (in use, not local, no permission).
  bool Open(const boost::asio::ip::tcp::endpoint& endpoint, std::string* error);

  // The bound address (with the port the system chose for port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting; keeps doing so until Close.
  void Run();

  // Stops accepting. Returns at once; open sessions are not touched.
  void Close();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_context_;
  const std::shared_ptr<Router> router_;
  const std::shared_ptr<Metrics> metrics_;
  const std::shared_ptr<const SessionLimits> limits_;
  const std::shared_ptr<OpenConnections> connections_;
  const std::function<void(std::string_view)> log_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // backs off when out of descriptors
};

}  // namespace api

#endif  // API_LISTENER_H_
