#include "api/reply.h"

#include <nlohmann/json.hpp>

namespace api {

namespace http = boost::beast::http;

Reply JsonReply(http::status status, std::string json) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(json);
  return reply;
}

Reply ErrorReply(http::status status, std::string_view message) {
  nlohmann::json body = {{"message", message}, {"status", static_cast<unsigned>(status)}};
  // Replacing invalid UTF-8 (a client's percent-decoded path, say) keeps the
  // body valid JSON instead of throwing.
  return JsonReply(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string InvalidTransactionMessage(std::string_view error_name, std::string_view message) {
  std::string text = error_name == "SchemaValidationError"
                         ? std::string("Invalid transaction schema: ")
                         : "Invalid transaction (" + std::string(error_name) + "): ";
  text += message;
  return text;
}

Response ToResponse(Reply reply, unsigned version, bool keep_alive, bool head) {
  Response response(reply.status, version);
  response.set(http::field::server, "ledgerd/" LEDGERD_VERSION);
  response.set(http::field::access_control_allow_origin, "*");
  if (!reply.body.empty()) response.set(http::field::content_type, reply.content_type);
  for (const auto& [field, value] : reply.headers) response.set(field, value);
  for (const auto& [name, value] : reply.named_headers) response.set(name, value);
  response.keep_alive(keep_alive);
  const size_t length = reply.body.size();
  if (!head) response.body() = std::move(reply.body);
  if (reply.status != http::status::not_modified) response.content_length(length);
  return response;
}

std::string SerializeHead(const Response& response) {
  std::string head;
  head.reserve(256);
  head += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(response.result_int());
  head += ' ';
  const boost::beast::string_view reason = response.reason();
  head += reason.empty() ? http::obsolete_reason(response.result()) : reason;
  head += "\r\n";
  for (const auto& field : response) {
    head += field.name_string();
    head += ": ";
    head += field.value();
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace api
