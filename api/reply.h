// What the API answers, before the transport turns it into an HTTP message,
// and the one place that adds the headers every response carries.
#ifndef API_REPLY_H_
#define API_REPLY_H_

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr std::string_view kJsonContentType = "application/json";

// A status, a body and its type, and any headers particular to the answer
// (Allow, CORS preflight, ETag). Plain value type.
struct Reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string content_type = std::string(kJsonContentType);
  std::vector<std::pair<boost::beast::http::field, std::string>> headers;
  // Headers Beast has no field constant for (Content-Security-Policy).
  std::vector<std::pair<std::string, std::string>> named_headers;
};

// A JSON reply: `json` must already be a serialized JSON document.
Reply JsonReply(boost::beast::http::status status, std::string json);

// BigchainDB's error body: {"message": <message>, "status": <code>}.
Reply ErrorReply(boost::beast::http::status status, std::string_view message);

// BigchainDB's wording of a refused transaction: "Invalid transaction schema:
// <message>" for a SchemaValidationError, otherwise "Invalid transaction
// (<error_name>): <message>".
std::string InvalidTransactionMessage(std::string_view error_name, std::string_view message);

// The HTTP response for `reply`, with Access-Control-Allow-Origin: * (as
// BigchainDB, every origin may read every answer), Server, Content-Type and
// Content-Length (none on a 304, which describes the representation it does
// not send). `head` keeps Content-Length but drops the body; `keep_alive`
// false adds Connection: close.
Response ToResponse(Reply reply, unsigned version, bool keep_alive, bool head);

// The status line and header fields of `response` as they go on the wire,
// through the empty line that ends them; the body follows as it is. The
// same bytes as Beast's serializer writes for a body of known length.
std::string SerializeHead(const Response& response);

}  // namespace api

#endif  // API_REPLY_H_
