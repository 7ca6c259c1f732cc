#include "api/reply.h"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>
#include <string>

namespace api {
namespace {

namespace http = boost::beast::http;

// What Beast's own serializer writes for `response`.
std::string BeastWire(const Response& response) {
  std::ostringstream out;
  out << response;
  return out.str();
}

void ExpectSameWireAsBeast(const Response& response) {
  EXPECT_EQ(SerializeHead(response) + response.body(), BeastWire(response));
}

TEST(SerializeHeadTest, JsonAnswerWithBodyKeepAlive) {
  Reply reply = JsonReply(http::status::accepted, R"({"id":"abc"})");
  ExpectSameWireAsBeast(ToResponse(reply, 11, /*keep_alive=*/true, /*head=*/false));
}

TEST(SerializeHeadTest, ErrorThatClosesTheConnection) {
  Reply reply = ErrorReply(http::status::bad_request, "Malformed HTTP request");
  ExpectSameWireAsBeast(ToResponse(reply, 11, /*keep_alive=*/false, /*head=*/false));
}

TEST(SerializeHeadTest, Http10KeepAliveAndExtraHeaders) {
  Reply reply = JsonReply(http::status::ok, "[]");
  reply.headers.emplace_back(http::field::etag, "\"v1\"");
  reply.named_headers.emplace_back("Content-Security-Policy", "default-src 'self'");
  ExpectSameWireAsBeast(ToResponse(reply, 10, /*keep_alive=*/true, /*head=*/false));
}

TEST(SerializeHeadTest, HeadRequestKeepsTheLengthWithoutTheBody) {
  Reply reply = JsonReply(http::status::ok, R"({"a":1})");
  Response response = ToResponse(reply, 11, /*keep_alive=*/true, /*head=*/true);
  EXPECT_TRUE(response.body().empty());
  EXPECT_NE(SerializeHead(response).find("Content-Length: 7\r\n"), std::string::npos);
  ExpectSameWireAsBeast(response);
}

TEST(SerializeHeadTest, NotModifiedHasNoLength) {
  Reply reply;
  reply.status = http::status::not_modified;
  ExpectSameWireAsBeast(ToResponse(reply, 11, /*keep_alive=*/true, /*head=*/false));
}

TEST(SerializeHeadTest, StatusWithoutAStandardReason) {
  Reply reply = JsonReply(static_cast<http::status>(599), "{}");
  ExpectSameWireAsBeast(ToResponse(reply, 11, /*keep_alive=*/true, /*head=*/false));
}

}  // namespace
}  // namespace api
