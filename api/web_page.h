// The page that shows the event stream live in a browser: GET / for a client
// that asks for HTML, and its files under /web/. The files (api/web/) are
// compiled into the binary by api/embed_web_files.cmake.
#ifndef API_WEB_PAGE_H_
#define API_WEB_PAGE_H_

#include <span>
#include <string>
#include <string_view>

#include "api/reply.h"

namespace api {

// One file of api/web/, as compiled in. Plain value type over static data.
struct WebFile {
  std::string_view name;   // e.g. "app.js"
  std::string_view bytes;  // the file's content
  std::string_view etag;   // strong ETag: the quoted SHA-256 hex of `bytes`
};

// Every file of api/web/, sorted by name. Defined by the generated source.
std::span<const WebFile> WebFiles();

// Thread safety: immutable after construction; every method may be called
// from several threads at once.
class WebPage {
 public:
  // The page's address is GET /; it is not served under /web/ as well, so
  // that its relative links resolve one way only.
  static constexpr std::string_view kPageName = "index.html";

  // `streams_url` is the advertised event stream URL (ws:// or wss://). The
  // Content-Security-Policy lets the page connect to the node's own origin
  // and to that URL's origin only (ws/wss for the stream, and the matching
  // http/https to read why a subscription was refused). A URL without a
  // plain host[:port] adds no origin.
  explicit WebPage(std::string_view streams_url);

  // Whether a request with this Accept header should get the page rather
  // than the JSON root: text/html (or application/xhtml+xml) is acceptable
  // and has a higher quality than application/json. An empty header, "*/*",
  // "application/json" and ties prefer JSON, so API clients keep it.
  static bool PrefersHtml(std::string_view accept);

  // The page (index.html) with Content-Type text/html, a strong ETag,
  // Cache-Control: no-cache, the Content-Security-Policy and Vary: Accept.
  // 304 without a body if `if_none_match` names its ETag.
  Reply Page(std::string_view if_none_match) const;

  // GET /web/{name}: the file with its Content-Type, ETag, Cache-Control and
  // Content-Security-Policy; 304 without a body if `if_none_match` names its
  // ETag; 404 with a JSON error body for an unknown name or the page itself.
  Reply File(std::string_view name, std::string_view if_none_match) const;

  // The Content-Security-Policy header value sent with every file.
  const std::string& content_security_policy() const { return content_security_policy_; }

 private:
  Reply Serve(const WebFile& file, std::string_view if_none_match) const;

  std::string content_security_policy_;
};

}  // namespace api

#endif  // API_WEB_PAGE_H_
