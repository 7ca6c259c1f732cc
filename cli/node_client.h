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

// Subscribes to the stream at `endpoint` and calls `on_message` for every
// text message until it returns false or the server closes. Returns false
// with `*error` when the connection fails or the server refuses it (the HTTP
// status and body are in the error), or closes with a code other than normal
// (the code and reason are in the error).
bool Watch(const Endpoint& endpoint, const std::function<bool(const std::string&)>& on_message,
           std::string* error);

}  // namespace cli

#endif  // CLI_NODE_CLIENT_H_
