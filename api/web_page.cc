#include "api/web_page.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace api {
namespace {

namespace http = boost::beast::http;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

// The quality an Accept header gives `type`/`subtype`: the q of the most
// specific media range that matches it (type/subtype over type/* over */*),
// 0 if none does (RFC 9110 §12.5.1). A malformed q counts as 0.
double QualityOf(std::string_view accept, std::string_view type, std::string_view subtype) {
  int best_specificity = -1;
  double quality = 0;
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);

    const size_t semicolon = item.find(';');
    const std::string_view range = Trim(item.substr(0, semicolon));
    const size_t slash = range.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string_view range_type = range.substr(0, slash);
    const std::string_view range_subtype = range.substr(slash + 1);
    int specificity = -1;
    if (range_type == "*" && range_subtype == "*") {
      specificity = 0;
    } else if (EqualsIgnoringCase(range_type, type) && range_subtype == "*") {
      specificity = 1;
    } else if (EqualsIgnoringCase(range_type, type) && EqualsIgnoringCase(range_subtype, subtype)) {
      specificity = 2;
    }
    if (specificity < 0 || specificity < best_specificity) continue;

    double q = 1;
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      const std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() < 2 || !EqualsIgnoringCase(param.substr(0, 2), "q=")) continue;
      const std::string_view value = param.substr(2);
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
      if (ec != std::errc() || end != value.data() + value.size() || q < 0 || q > 1) q = 0;
    }
    // The same range twice: the more generous one counts.
    quality = specificity > best_specificity ? q : std::max(quality, q);
    best_specificity = specificity;
  }
  return quality;
}

// Whether an If-None-Match header ("*" or a list of entity tags) names
// `etag`. Weak comparison, as RFC 9110 §13.1.2 asks for If-None-Match.
bool NamesEtag(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = Trim(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

std::string_view ContentTypeOf(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const WebFile* FindFile(std::string_view name) {
  const std::span<const WebFile> files = WebFiles();
  const auto it = std::find_if(files.begin(), files.end(),
                               [name](const WebFile& file) { return file.name == name; });
  return it == files.end() ? nullptr : &*it;
}

// " ws://host:port http://host:port" for "ws://host:port/path" (wss and
// https for wss://); empty unless the URL has a plain host[:port], so that a
// configured string can never add another directive.
std::string StreamOrigins(std::string_view url) {
  std::string_view scheme;
  std::string_view http_scheme;
  if (url.starts_with("ws://")) {
    scheme = "ws";
    http_scheme = "http";
  } else if (url.starts_with("wss://")) {
    scheme = "wss";
    http_scheme = "https";
  } else {
    return "";
  }
  url.remove_prefix(scheme.size() + 3);
  const std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  const bool plain =
      !authority.empty() && std::all_of(authority.begin(), authority.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      });
  if (!plain) return "";
  std::string origins;
  for (std::string_view origin_scheme : {scheme, http_scheme}) {
    origins.append(" ").append(origin_scheme).append("://").append(authority);
  }
  return origins;
}

}  // namespace

WebPage::WebPage(std::string_view streams_url)
    : content_security_policy_(
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "connect-src 'self'" +
          StreamOrigins(streams_url) +
          "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'") {}

bool WebPage::PrefersHtml(std::string_view accept) {
  const double html =
      std::max(QualityOf(accept, "text", "html"), QualityOf(accept, "application", "xhtml+xml"));
  return html > 0 && html > QualityOf(accept, "application", "json");
}

Reply WebPage::Page(std::string_view if_none_match) const {
  const WebFile* page = FindFile(kPageName);
  if (page == nullptr) {
    return ErrorReply(http::status::not_found, "The requested URL was not found on the server.");
  }
  Reply reply = Serve(*page, if_none_match);
  // GET / answers JSON or this page depending on Accept.
  reply.headers.emplace_back(http::field::vary, "Accept");
  return reply;
}

Reply WebPage::File(std::string_view name, std::string_view if_none_match) const {
  const WebFile* file = name == kPageName ? nullptr : FindFile(name);
  if (file == nullptr) {
    return ErrorReply(http::status::not_found, "The requested URL was not found on the server.");
  }
  return Serve(*file, if_none_match);
}

Reply WebPage::Serve(const WebFile& file, std::string_view if_none_match) const {
  Reply reply;
  // no-cache: a browser keeps the file but asks again with If-None-Match, so
  // a new ledgerd's page is picked up at once and an unchanged one costs 304.
  reply.headers = {{http::field::etag, std::string(file.etag)},
                   {http::field::cache_control, "no-cache"}};
  reply.named_headers = {{"Content-Security-Policy", content_security_policy_},
                         {"X-Content-Type-Options", "nosniff"}};
  if (NamesEtag(if_none_match, file.etag)) {
    reply.status = http::status::not_modified;
    return reply;
  }
  reply.body = std::string(file.bytes);
  reply.content_type = std::string(ContentTypeOf(file.name));
  return reply;
}

}  // namespace api
