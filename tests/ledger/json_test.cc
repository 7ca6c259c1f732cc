#include "ledger/json.h"

#include <gtest/gtest.h>

#include <string>

namespace ledger {
namespace {

std::string Canonical(std::string_view text) {
  JsonValue value;
  Status status = ParseJson(text, &value);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return CanonicalJson(value);
}

Status ParseError(std::string_view text, const JsonLimits& limits = {}) {
  JsonValue value;
  return ParseJson(text, &value, limits);
}

TEST(JsonTest, SortsKeysAtEveryDepthAndDropsWhitespace) {
  EXPECT_EQ(Canonical(R"( { "b" : [ {"z":1, "a":2} ], "a" : null } )"),
            R"({"a":null,"b":[{"a":2,"z":1}]})");
}

TEST(JsonTest, SortsKeysByCodePoint) {
  EXPECT_EQ(Canonical(R"({"é":1,"z":2,"Z":3,"😀":4,"":5})"),
            R"({"":5,"Z":3,"z":2,"é":1,"😀":4})");
}

TEST(JsonTest, KeepsNumberLexemes) {
  EXPECT_EQ(Canonical(R"([1.0, 1e5, 1E+05, -0.5, 12345678901234567890123, 18446744073709551615, -9223372036854775808, 0])"),
            R"([1.0,1e5,1E+05,-0.5,12345678901234567890123,18446744073709551615,-9223372036854775808,0])");
}

TEST(JsonTest, EscapesOnlyQuoteBackslashAndControlCharacters) {
  EXPECT_EQ(Canonical(R"(["a\"b\\c\/d\b\f\n\r\t\u0001\u001f\u007f\u00e9\u2028", "\ud83d\ude00"])"),
            "[\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\xe2\x80\xa8\",\"\xf0\x9f\x98\x80\"]");
}

TEST(JsonTest, FindLooksUpMembers) {
  JsonValue value;
  ASSERT_TRUE(ParseJson(R"({"b":true,"a":"x"})", &value).ok());
  ASSERT_NE(value.Find("a"), nullptr);
  EXPECT_EQ(value.Find("a")->text(), "x");
  EXPECT_TRUE(value.Find("b")->as_bool());
  EXPECT_EQ(value.Find("c"), nullptr);
}

TEST(JsonTest, SetKeepsOrder) {
  JsonValue value = JsonValue::Object({{"b", JsonValue::Null()}});
  value.Set("a", JsonValue::Bool(false));
  value.Set("c", JsonValue::Number("1"));
  value.Set("b", JsonValue::String("x"));
  EXPECT_EQ(CanonicalJson(value), R"({"a":false,"b":"x","c":1})");
}

TEST(JsonTest, RejectsDuplicateKeys) {
  Status status = ParseError(R"({"a":1,"b":{"x":1,"x":2}})");
  EXPECT_EQ(status.code(), ErrorCode::kMalformedTransaction);
  EXPECT_NE(status.message().find("duplicate key \"x\""), std::string::npos);
}

TEST(JsonTest, RejectsTruncatedAndTrailingInput) {
  EXPECT_EQ(ParseError(R"({"a":[1,2)").code(), ErrorCode::kMalformedTransaction);
  EXPECT_EQ(ParseError(R"({"a":1} x)").code(), ErrorCode::kMalformedTransaction);
  EXPECT_EQ(ParseError("").code(), ErrorCode::kMalformedTransaction);
}

TEST(JsonTest, RejectsInvalidUtf8) {
  EXPECT_EQ(ParseError("[\"\xff\"]").code(), ErrorCode::kMalformedTransaction);
  EXPECT_EQ(ParseError("[\"\xc3\"]").code(), ErrorCode::kMalformedTransaction);
  EXPECT_EQ(ParseError(R"(["\ud800"])").code(), ErrorCode::kMalformedTransaction);
}

TEST(JsonTest, RejectsNumbersOutOfRange) {
  Status status = ParseError("[1e400]");
  EXPECT_EQ(status.code(), ErrorCode::kMalformedTransaction);
}

TEST(JsonTest, RejectsOversizedDocument) {
  std::string big = "[\"" + std::string(2 << 20, 'a') + "\"]";
  Status status = ParseError(big);
  EXPECT_EQ(status.code(), ErrorCode::kMalformedTransaction);
  EXPECT_NE(status.message().find("exceeds the limit"), std::string::npos);
}

TEST(JsonTest, RejectsDeepNestingWithoutRecursion) {
  std::string deep(1000000, '[');
  Status status = ParseError(deep, JsonLimits{.max_bytes = 4 << 20, .max_depth = 512});
  EXPECT_EQ(status.code(), ErrorCode::kMalformedTransaction);
  EXPECT_NE(status.message().find("nesting deeper than 512"), std::string::npos);
}

TEST(JsonTest, AcceptsNestingAtTheLimit) {
  std::string nested = std::string(512, '[') + std::string(512, ']');
  JsonValue value;
  EXPECT_TRUE(ParseJson(nested, &value).ok());
  EXPECT_EQ(CanonicalJson(value), nested);
}

TEST(JsonTest, HandlesManyKeys) {
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) {
    if (i) text += ',';
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += "}";
  JsonValue value;
  ASSERT_TRUE(ParseJson(text, &value, JsonLimits{.max_bytes = 4 << 20}).ok());
  EXPECT_EQ(value.members().size(), 100000u);
  EXPECT_EQ(value.Find("k99999")->text(), "99999");
}

TEST(JsonTest, ParseWriteParseIsStable) {
  const char* text = R"({"z":[1.50,{"b":"\u0000é","a":[]}],"a":{},"m":-3e-7,"t":true})";
  std::string once = Canonical(text);
  EXPECT_EQ(Canonical(once), once);
}

}  // namespace
}  // namespace ledger
