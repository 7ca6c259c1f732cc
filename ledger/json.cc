#include "ledger/json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace ledger {
namespace {

bool KeyLess(const JsonValue::Member& a, const JsonValue::Member& b) { return a.first < b.first; }

// A strict RFC 8259 parser that builds the JsonValue tree directly. It is
// iterative (an explicit stack of open containers), so a deeply nested
// document costs heap, not call stack, up to the depth limit. Every refusal
// names the byte offset and the reason.
class Parser {
 public:
  Parser(std::string_view text, size_t max_depth) : text_(text), max_depth_(max_depth) {}

  // Parses the whole text as one value into `out`; false with error() set
  // at the first violation.
  bool Parse(JsonValue* out) {
    JsonValue value;
    SkipSpace();
    for (;;) {
      bool complete = false;
      if (!ParseValue(&value, &complete)) return false;
      if (!complete) {
        // A container opened; its first member or item follows.
        if (stack_.back().value.is_object() && !ParseKey()) return false;
        continue;
      }
      // Hand the complete value to its container, then close every
      // container that ends right after it.
      for (;;) {
        if (stack_.empty()) {
          SkipSpace();
          if (pos_ != text_.size()) return Fail("unexpected characters after the document");
          *out = std::move(value);
          return true;
        }
        Frame& top = stack_.back();
        const bool is_array = top.value.is_array();
        if (is_array) {
          top.value.mutable_items().push_back(std::move(value));
        } else {
          top.value.mutable_members().emplace_back(std::move(top.key), std::move(value));
        }
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          SkipSpace();
          if (!is_array && !ParseKey()) return false;
          break;  // on to the next item or member value
        }
        if (pos_ < text_.size() && text_[pos_] == (is_array ? ']' : '}')) {
          ++pos_;
          if (!CloseTop(&value)) return false;
          continue;
        }
        return Fail(is_array ? "expected ',' or ']'" : "expected ',' or '}'");
      }
    }
  }

  const std::string& error() const { return error_; }

 private:
  static constexpr size_t kInitialCapacity = 4;

  struct Frame {
    JsonValue value;
    std::string key;  // the member whose value is being read
  };

  // Reads a value starting at pos_ (not whitespace). Scalars, "{}" and "[]"
  // are read whole (`*complete` true, the value in `*value`); any other
  // container is pushed on the stack with `*complete` false.
  bool ParseValue(JsonValue* value, bool* complete) {
    if (pos_ >= text_.size()) return Fail("unexpected end of input");
    const char c = text_[pos_];
    *complete = true;
    switch (c) {
      case '{':
      case '[': {
        if (stack_.size() >= max_depth_) {
          return Fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
        }
        ++pos_;
        SkipSpace();
        JsonValue container = c == '{' ? JsonValue::Object() : JsonValue::Array();
        if (pos_ < text_.size() && text_[pos_] == (c == '{' ? '}' : ']')) {
          ++pos_;
          *value = std::move(container);
          return true;
        }
        // Most objects and arrays of a transaction hold a few entries:
        // room for them up front saves the first regrowths.
        if (container.is_object()) {
          container.mutable_members().reserve(kInitialCapacity);
        } else {
          container.mutable_items().reserve(kInitialCapacity);
        }
        stack_.push_back(Frame{std::move(container), {}});
        *complete = false;
        return true;
      }
      case '"': {
        std::string text;
        if (!ParseString(&text)) return false;
        *value = JsonValue::String(std::move(text));
        return true;
      }
      case 't': return ParseLiteral("true", JsonValue::Bool(true), value);
      case 'f': return ParseLiteral("false", JsonValue::Bool(false), value);
      case 'n': return ParseLiteral("null", JsonValue::Null(), value);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(value);
        return Fail("unexpected " + Describe(c));
    }
  }

  // Reads `"key"` and the colon after it into the top frame, leaving pos_
  // at the member's value.
  bool ParseKey() {
    if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a string key");
    if (!ParseString(&stack_.back().key)) return false;
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':' after a key");
    ++pos_;
    SkipSpace();
    return true;
  }

  // Pops the finished top container into `*value`. An object's members are
  // sorted by key, and equal neighbours are duplicate keys.
  bool CloseTop(JsonValue* value) {
    JsonValue container = std::move(stack_.back().value);
    stack_.pop_back();
    if (container.is_object()) {
      auto& members = container.mutable_members();
      // Canonical documents arrive sorted. Otherwise: equal keys are refused
      // below, so an unstable sort orders nothing differently.
      if (!std::is_sorted(members.begin(), members.end(), KeyLess)) {
        std::sort(members.begin(), members.end(), KeyLess);
      }
      for (size_t i = 1; i < members.size(); ++i) {
        if (members[i - 1].first == members[i].first) {
          return Fail("duplicate key \"" + members[i].first + "\"");
        }
      }
    }
    *value = std::move(container);
    return true;
  }

  bool ParseLiteral(std::string_view literal, JsonValue parsed, JsonValue* value) {
    if (text_.substr(pos_, literal.size()) != literal) return Fail("invalid literal");
    pos_ += literal.size();
    *value = std::move(parsed);
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? kept as written, except
  // that "-0" is 0; a number a double cannot hold (such as 1e400) is refused.
  bool ParseNumber(JsonValue* value) {
    const size_t begin = pos_;
    auto digits = [this] {
      const size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - start;
    };
    if (text_[pos_] == '-') ++pos_;
    const size_t int_begin = pos_;
    const size_t int_digits = digits();
    if (int_digits == 0) return Fail("invalid number: a digit must follow '-'");
    if (int_digits > 1 && text_[int_begin] == '0') return Fail("invalid number: leading zero");
    bool integer = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      integer = false;
      if (digits() == 0) return Fail("invalid number: a digit must follow '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      integer = false;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Fail("invalid number: a digit must follow the exponent");
    }
    std::string lexeme(text_.substr(begin, pos_ - begin));
    // Integers of up to 19 digits fit a 64-bit integer and need no check.
    if (!integer || int_digits > 19) {
      const double parsed = std::strtod(lexeme.c_str(), nullptr);
      if (!std::isfinite(parsed)) {
        pos_ = begin;
        return Fail("number " + lexeme.substr(0, 40) + " is out of range");
      }
    }
    if (lexeme == "-0") lexeme = "0";
    *value = JsonValue::Number(std::move(lexeme));
    return true;
  }

  // Reads a string literal at pos_ into `*out`, decoding escapes and
  // checking that the text is UTF-8 without unpaired surrogates.
  bool ParseString(std::string* out) {
    ++pos_;  // the opening quote
    out->clear();
    size_t run = pos_;
    for (;;) {
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        ++pos_;
        continue;
      }
      if (c >= 0x80) {
        const size_t length = Utf8SequenceLength(text_.substr(pos_));
        if (length == 0) return Fail("invalid UTF-8 in a string");
        pos_ += length;
        continue;
      }
      out->append(text_.data() + run, pos_ - run);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("unescaped control character in a string");
      if (!ParseEscape(out)) return false;
      run = pos_;
    }
  }

  // Decodes the escape at pos_ (a backslash) onto `out`.
  bool ParseEscape(std::string* out) {
    if (pos_ + 1 >= text_.size()) return Fail("unterminated string");
    const char kind = text_[pos_ + 1];
    pos_ += 2;
    switch (kind) {
      case '"': out->push_back('"'); return true;
      case '\\': out->push_back('\\'); return true;
      case '/': out->push_back('/'); return true;
      case 'b': out->push_back('\b'); return true;
      case 'f': out->push_back('\f'); return true;
      case 'n': out->push_back('\n'); return true;
      case 'r': out->push_back('\r'); return true;
      case 't': out->push_back('\t'); return true;
      case 'u': break;
      default: pos_ -= 2; return Fail("invalid escape in a string");
    }
    uint32_t code_point = 0;
    if (!ReadHex4(&code_point)) return false;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
      return Fail("a low surrogate \\u escape without a high one");
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      uint32_t low = 0;
      if (text_.substr(pos_, 2) != "\\u") return Fail("a high surrogate \\u escape without a low one");
      pos_ += 2;
      if (!ReadHex4(&low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return Fail("a high surrogate \\u escape without a low one");
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code_point, out);
    return true;
  }

  bool ReadHex4(uint32_t* value) {
    if (pos_ + 4 > text_.size()) return Fail("a \\u escape needs four hex digits");
    uint32_t result = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return Fail("a \\u escape needs four hex digits");
      }
      result = result << 4 | digit;
    }
    pos_ += 4;
    *value = result;
    return true;
  }

  static void AppendUtf8(uint32_t code_point, std::string* out) {
    if (code_point < 0x80) {
      out->push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      out->push_back(static_cast<char>(0xC0 | code_point >> 6));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | code_point >> 12));
      out->push_back(static_cast<char>(0x80 | (code_point >> 6 & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | code_point >> 18));
      out->push_back(static_cast<char>(0x80 | (code_point >> 12 & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code_point >> 6 & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
  }

  // The length of the well-formed UTF-8 sequence (Unicode table 3-7) that
  // `text` starts with, or 0: no overlong forms, surrogates or code points
  // beyond U+10FFFF.
  static size_t Utf8SequenceLength(std::string_view text) {
    auto byte = [&text](size_t i) {
      return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
    };
    auto continuation = [](unsigned b, unsigned low = 0x80, unsigned high = 0xBF) {
      return b >= low && b <= high;
    };
    const unsigned lead = byte(0);
    if (lead >= 0xC2 && lead <= 0xDF) return continuation(byte(1)) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
      const unsigned low = lead == 0xE0 ? 0xA0 : 0x80;
      const unsigned high = lead == 0xED ? 0x9F : 0xBF;
      return continuation(byte(1), low, high) && continuation(byte(2)) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
      const unsigned low = lead == 0xF0 ? 0x90 : 0x80;
      const unsigned high = lead == 0xF4 ? 0x8F : 0xBF;
      return continuation(byte(1), low, high) && continuation(byte(2)) && continuation(byte(3))
                 ? 4
                 : 0;
    }
    return 0;
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
      ++pos_;
    }
  }

  // A byte named for an error message: printable ASCII quoted, others in hex.
  static std::string Describe(char c) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x21 && b < 0x7F) return std::string("character '") + c + "'";
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[b >> 4] + kHex[b & 0xF];
  }

  bool Fail(std::string reason) {
    error_ = "invalid JSON at byte " + std::to_string(pos_) + ": " + std::move(reason);
    return false;
  }

  std::string_view text_;
  size_t max_depth_;
  size_t pos_ = 0;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

void AppendCanonicalString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

JsonValue JsonValue::Bool(bool value) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::Number(std::string lexeme) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.text_ = std::move(lexeme);
  return v;
}

JsonValue JsonValue::String(std::string value) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(value);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<Member> members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  v.members_ = std::move(members);
  std::stable_sort(v.members_.begin(), v.members_.end(), KeyLess);
  return v;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const Member& m, std::string_view k) { return m.first < k; });
  if (it == members_.end() || it->first != key) return nullptr;
  return &it->second;
}

JsonValue* JsonValue::FindMutable(std::string_view key) {
  return const_cast<JsonValue*>(static_cast<const JsonValue*>(this)->Find(key));
}

void JsonValue::Set(std::string_view key, JsonValue value) {
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const Member& m, std::string_view k) { return m.first < k; });
  if (it != members_.end() && it->first == key) {
    it->second = std::move(value);
  } else {
    members_.emplace(it, std::string(key), std::move(value));
  }
}

Status ParseJson(std::string_view text, JsonValue* out, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::Error(ErrorCode::kMalformedTransaction,
                         "document of " + std::to_string(text.size()) +
                             " bytes exceeds the limit of " + std::to_string(limits.max_bytes));
  }
  Parser parser(text, limits.max_depth);
  if (!parser.Parse(out)) return Status::Error(ErrorCode::kMalformedTransaction, parser.error());
  return Status::Ok();
}

void AppendCanonicalJson(const JsonValue& value, std::string* out) {
  switch (value.kind()) {
    case JsonValue::Kind::kNull: out->append("null"); return;
    case JsonValue::Kind::kBool: out->append(value.as_bool() ? "true" : "false"); return;
    case JsonValue::Kind::kNumber: out->append(value.text()); return;
    case JsonValue::Kind::kString: AppendCanonicalString(value.text(), out); return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : value.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.members()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalString(key, out);
        out->push_back(':');
        AppendCanonicalJson(member, out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string CanonicalJson(const JsonValue& value) {
  std::string out;
  AppendCanonicalJson(value, &out);
  return out;
}

}  // namespace ledger
