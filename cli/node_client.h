// What ledgerctl says to a running node: HTTP requests to its API and a
// subscription to its event stream.
//
// Thread safety: each call uses its own connection; callers may run several.
#ifndef CLI_NODE_CLIENT_H_
#define CLI_NODE_CLIENT_H_

#include <chrono>
#include <functional>
#include <string>

namespace cli {

// Parts of an http:// or ws:// URL.
struct Endpoint {
  std::string host;
  std::string port;
  std::string path;  // "/..." including any query; "/" when absent
};

// Splits `url` (scheme `expected_scheme`, e.g. "http"). Returns false with
// `*error` on another scheme, a missing host, or a bad port.
bool ParseUrl(const std::string& url, const std::string& expected_scheme, Endpoint* endpoint,
              std::string* error);

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Sends one request (`body` with Content-Type application/json when not
// empty) and reads the answer. Returns false with `*error` when the node
// cannot be reached or answers garbage within `timeout`.
bool HttpRequest(const Endpoint& endpoint, const std::string& method, const std::string& target,
                 const std::string& body, std::chrono::seconds timeout, HttpResponse* response,
                 std::string* error);

// How a subscription ended.
struct WatchEnd {
  // True when `on_message` asked to stop or the server closed normally
  // (1000); false when the connection failed, was refused, or was closed
  // with another code.
  bool finished = false;
  // The HTTP status of a refused upgrade; 0 when the upgrade was not refused.
  int refused_status = 0;
  // Why it ended, for people: the error, the refusal's status and body, or
  // the close code and reason. Empty when finished.
  std::string error;
};

// Subscribes to the stream at `endpoint` and calls `on_message` for every
// text message until it returns false or the connection ends; says how it
// ended. A node that does not answer the upgrade within `idle_timeout`, or
// then sends nothing (not even a pong to the pings sent after half of it) for
// that long, counts as a failed connection.
WatchEnd Watch(const Endpoint& endpoint, const std::function<bool(const std::string&)>& on_message,
               std::chrono::milliseconds idle_timeout);

}  // namespace cli

#endif  // CLI_NODE_CLIENT_H_
