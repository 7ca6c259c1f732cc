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

TEST(JsonTest, NegativeZeroIsZeroAndOtherIntegersStayAsWritten) {
  EXPECT_EQ(Canonical("[-0,0,-0.0,-1,9223372036854775807,99999999999999999999]"),
            "[0,0,-0.0,-1,9223372036854775807,99999999999999999999]");
}

TEST(JsonTest, AcceptsEveryWellFormedUtf8Length) {
  // U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF
  const std::string text =
      "[\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]";
  EXPECT_EQ(Canonical(text), text);
}

// Each malformed form is refused with the byte offset of the fault and a
// reason a client can act on.
TEST(JsonTest, RefusalsNameTheOffsetAndTheReason) {
  struct Case {
    std::string text;
    std::string message;  // empty: the text is valid
  };
  const Case cases[] = {
      {"", "at byte 0: unexpected end of input"},
      {"  ", "at byte 2: unexpected end of input"},
      {"{\"a\" 1}", "at byte 5: expected ':' after a key"},
      {"{1:2}", "at byte 1: expected a string key"},
      {"[1 2]", "at byte 3: expected ',' or ']'"},
      {"{\"a\":1 \"b\":2}", "at byte 7: expected ',' or '}'"},
      {"[1,]", "at byte 3: unexpected character ']'"},
      {"[tru]", "at byte 1: invalid literal"},
      {"[01]", "leading zero"},
      {"[-]", "a digit must follow '-'"},
      {"[1.]", "a digit must follow '.'"},
      {"[1e+]", "a digit must follow the exponent"},
      {"[1e400]", "at byte 1: number 1e400 is out of range"},
      {std::string("[\"").append(400, '9').append("\"]"), ""},
      {std::string("[").append(400, '9').append("]"), "is out of range"},
      {"[1e-400]", ""},
      {"[\"a\nb\"]", "at byte 3: unescaped control character in a string"},
      {"[\"\\x\"]", "at byte 2: invalid escape in a string"},
      {"[\"\\u12\"]", "four hex digits"},
      {"[\"\\udc00\"]", "a low surrogate \\u escape without a high one"},
      {"[\"\\ud800\\u0041\"]", "a high surrogate \\u escape without a low one"},
      {"[\"\xc0\x80\"]", "at byte 2: invalid UTF-8 in a string"},      // overlong NUL
      {"[\"\xed\xa0\x80\"]", "at byte 2: invalid UTF-8 in a string"},  // a surrogate
      {"[\"\xf4\x90\x80\x80\"]", "invalid UTF-8"},                     // beyond U+10FFFF
      {"[\"\xe2\x82\"]", "invalid UTF-8"},                             // truncated
      {"[\"abc", "at byte 5: unterminated string"},
      {"{} {}", "at byte 3: unexpected characters after the document"},
      {"\x01", "at byte 0: unexpected byte 0x01"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 60));
    const Status status = ParseError(c.text);
    if (c.message.empty()) {
      EXPECT_TRUE(status.ok()) << status.ToString();
      continue;
    }
    EXPECT_EQ(status.code(), ErrorCode::kMalformedTransaction);
    EXPECT_NE(status.message().find(c.message), std::string::npos) << status.message();
  }
}

TEST(JsonTest, DecodesEscapesAndSurrogatePairs) {
  JsonValue value;
  ASSERT_TRUE(ParseJson(R"(["\u00e9\uD83D\uDE00\u0000\/"])", &value).ok());
  EXPECT_EQ(value.items()[0].text(), std::string("\xc3\xa9\xf0\x9f\x98\x80\0/", 8));
}

TEST(JsonTest, ParseWriteParseIsStable) {
  const char* text = R"({"z":[1.50,{"b":"\u0000é","a":[]}],"a":{},"m":-3e-7,"t":true})";
  std::string once = Canonical(text);
  EXPECT_EQ(Canonical(once), once);
}

}  // namespace
}  // namespace ledger
