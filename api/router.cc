#include "api/router.h"

#include <optional>
#include <string>
#include <utility>

namespace api {
namespace {

namespace http = boost::beast::http;

// The handler of a GET that only needs the endpoints and answers at once.
template <typename Fn>
auto Sync(Fn fn) {
  return [fn = std::move(fn)](auto call, const Respond& respond) { respond(fn(call)); };
}

}  // namespace

Router::Router(std::shared_ptr<Endpoints> endpoints) : endpoints_(std::move(endpoints)) {
  Endpoints* e = endpoints_.get();
  const auto get = http::verb::get;
  routes_ = {
      {"/", get, Sync([e](const Call& call) {
         return e->Root(call.request[http::field::accept],
                        call.request[http::field::if_none_match]);
       })},
      {"/api/v1", get, Sync([e](const Call&) { return e->ApiV1Root(); })},
      {"/api/v1/transactions", get,
       Sync([e](const Call& call) { return e->ListTransactions(call.target); })},
      {"/api/v1/transactions", http::verb::post,
       [e](Call call, Respond respond) {
         e->PostTransaction(call.target, std::move(call.request.body()), std::move(respond));
       }},
      {"/api/v1/transactions/*", get,
       Sync([e](const Call& call) { return e->GetTransaction(call.segment); })},
      {"/api/v1/outputs", get, Sync([e](const Call& call) { return e->ListOutputs(call.target); })},
      {"/api/v1/blocks", get, Sync([e](const Call& call) { return e->ListBlocks(call.target); })},
      {"/api/v1/blocks/*", get, Sync([e](const Call& call) { return e->GetBlock(call.segment); })},
      {"/api/v1/validators", get, Sync([e](const Call&) { return e->Validators(); })},
      {"/api/v1/assets", get, Sync([e](const Call& call) { return e->SearchAssets(call.target); })},
      {"/api/v1/metadata", get,
       Sync([e](const Call& call) { return e->SearchMetadata(call.target); })},
      {"/health", get, Sync([e](const Call&) { return e->Health(); })},
      {"/metrics", get, Sync([e](const Call&) { return e->PrometheusMetrics(); })},
      {"/web/*", get, Sync([e](const Call& call) {
         return e->PageFile(call.segment, call.request[http::field::if_none_match]);
       })},
  };
}

bool Router::Matches(std::string_view pattern, std::string_view path, std::string_view* segment) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == path;
  // Patterns hold one '*', as their last segment.
  if (path.size() <= star || path.substr(0, star) != pattern.substr(0, star)) return false;
  std::string_view rest = path.substr(star);
  if (rest.find('/') != std::string_view::npos) return false;
  *segment = rest;
  return true;
}

void Router::Route(Request request, Respond respond) {
  std::optional<RequestTarget> target = RequestTarget::Parse(request.target());
  if (!target) {
    respond(ErrorReply(http::status::bad_request, "Malformed request target"));
    return;
  }
  // HEAD is a GET whose body the transport leaves out.
  const http::verb method =
      request.method() == http::verb::head ? http::verb::get : request.method();

  std::string allowed;  // methods of the routes matching the path
  for (const auto& route : routes_) {
    std::string_view segment;
    if (!Matches(route.pattern, target->path(), &segment)) continue;
    if (route.method == method) {
      route.handler(Call{request, *target, segment}, std::move(respond));
      return;
    }
    if (!allowed.empty()) allowed += ", ";
    allowed += std::string(http::to_string(route.method));
    if (route.method == http::verb::get) allowed += ", HEAD";
  }

  if (allowed.empty()) {
    respond(ErrorReply(http::status::not_found, "The requested URL was not found on the server."));
    return;
  }
  allowed += ", OPTIONS";
  if (method == http::verb::options) {
    // A CORS preflight: any origin may use every method of the resource,
    // with whichever headers it asks for.
    Reply preflight;
    preflight.content_type.clear();
    std::string_view asked = request[http::field::access_control_request_headers];
    preflight.headers = {
        {http::field::allow, allowed},
        {http::field::access_control_allow_methods, allowed},
        {http::field::access_control_allow_headers,
         asked.empty() ? std::string("Content-Type") : std::string(asked)},
        {http::field::access_control_max_age, "600"},
    };
    respond(std::move(preflight));
    return;
  }
  Reply not_allowed = ErrorReply(http::status::method_not_allowed,
                                 "The method is not allowed for the requested URL.");
  not_allowed.headers.emplace_back(http::field::allow, allowed);
  respond(std::move(not_allowed));
}

}  // namespace api
