// Maps a request's method and path to its endpoint, and answers what no
// endpoint does: 404, 405 with Allow, CORS preflights, HEAD.
#ifndef API_ROUTER_H_
#define API_ROUTER_H_

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "api/endpoints.h"
#include "api/reply.h"
#include "api/request_target.h"

namespace api {

// Thread safety: Route may be called from several threads at once.
class Router {
 public:
  explicit Router(std::shared_ptr<Endpoints> endpoints);

  // Answers `request` through `respond`, exactly once, possibly later and
  // from another thread (a POST waits for the submitter). HEAD is answered as
  // GET (the transport drops the body); OPTIONS on a known path is a CORS
  // preflight answered 200; an unknown path is 404 and a known path with
  // another method 405 with an Allow header, both with a JSON error body.
  void Route(Request request, Respond respond);

 private:
  // What a route's handler gets: the request, its parsed target, and the
  // path segment matched by the pattern's '*' (empty if none).
  struct Call {
    Request& request;
    const RequestTarget& target;
    std::string_view segment;
  };
  using Handler = std::function<void(Call call, Respond respond)>;

  struct RouteEntry {
    std::string_view pattern;  // a '*' segment matches any one segment
    boost::beast::http::verb method;
    Handler handler;
  };

  // Whether `path` matches `pattern`; sets `*segment` to what '*' matched.
  static bool Matches(std::string_view pattern, std::string_view path, std::string_view* segment);

  const std::shared_ptr<Endpoints> endpoints_;
  std::vector<RouteEntry> routes_;
};

}  // namespace api

#endif  // API_ROUTER_H_
