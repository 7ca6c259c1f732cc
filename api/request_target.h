// The path and query parameters of an HTTP request target.
#ifndef API_REQUEST_TARGET_H_
#define API_REQUEST_TARGET_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace api {

// An origin-form target ("/path?a=1&b=2") split and percent-decoded.
//
// Boost.URL would do this, but its compiled part is already built into
// stream/ (boost/url/src.hpp); a second copy here would collide when node/
// links both libraries.
//
// Thread safety: immutable after Parse; share freely.
class RequestTarget {
 public:
  // Splits `target` into path and query. Returns nullopt if it does not start
  // with '/' or holds a malformed percent-escape. In the query, '+' means a
  // space (HTML form encoding, as Flask reads it).
  static std::optional<RequestTarget> Parse(std::string_view target);

  // The decoded path without a trailing '/' ("/api/v1/" is "/api/v1"), so
  // that BigchainDB's "/api/v1/outputs/" and the JavaScript driver's
  // "/api/v1/outputs" name the same resource. The root stays "/".
  const std::string& path() const { return path_; }

  // The decoded value of the first parameter called `name`, or nullopt if
  // there is none. "?a" and "?a=" both give an empty value.
  std::optional<std::string_view> Param(std::string_view name) const;

 private:
  RequestTarget() = default;

  std::string path_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace api

#endif  // API_REQUEST_TARGET_H_
