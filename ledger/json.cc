#include "ledger/json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ledger {
namespace {

bool KeyLess(const JsonValue::Member& a, const JsonValue::Member& b) { return a.first < b.first; }

// Builds a JsonValue tree from nlohmann's SAX events. nlohmann does the
// lexing and UTF-8 validation; this handler adds the depth limit, duplicate
// key detection and keeps floating-point lexemes verbatim.
class TreeBuilder {
 public:
  using number_integer_t = nlohmann::json::number_integer_t;
  using number_unsigned_t = nlohmann::json::number_unsigned_t;
  using number_float_t = nlohmann::json::number_float_t;
  using string_t = nlohmann::json::string_t;
  using binary_t = nlohmann::json::binary_t;

  explicit TreeBuilder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(JsonValue::Null()); }
  bool boolean(bool value) { return Add(JsonValue::Bool(value)); }
  bool number_integer(number_integer_t value) {
    return Add(JsonValue::Number(std::to_string(value)));
  }
  bool number_unsigned(number_unsigned_t value) {
    return Add(JsonValue::Number(std::to_string(value)));
  }
  bool number_float(number_float_t, const string_t& lexeme) {
    return Add(JsonValue::Number(lexeme));
  }
  bool string(string_t& value) { return Add(JsonValue::String(std::move(value))); }
  bool binary(binary_t&) { return Fail("binary values are not JSON"); }

  bool start_object(std::size_t) { return Open(JsonValue::Object()); }
  bool key(string_t& name) {
    stack_.back().key = std::move(name);
    return true;
  }
  bool end_object() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    auto& members = frame.value.mutable_members();
    // Equal keys are refused below, so a stable sort (which allocates) would
    // order nothing differently.
    std::sort(members.begin(), members.end(), KeyLess);
    for (size_t i = 1; i < members.size(); ++i) {
      if (members[i - 1].first == members[i].first) {
        return Fail("duplicate key \"" + members[i].first + "\"");
      }
    }
    return Add(std::move(frame.value));
  }
  bool start_array(std::size_t) { return Open(JsonValue::Array()); }
  bool end_array() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    return Add(std::move(frame.value));
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    if (error_.empty()) {
      // nlohmann's message already names the offending token; keep its text
      // after the "[json.exception...]" prefix.
      std::string what = e.what();
      auto bracket = what.find("] ");
      if (bracket != std::string::npos) what = what.substr(bracket + 2);
      error_ = "invalid JSON at byte " + std::to_string(position) + ": " + what;
    }
    return false;
  }

  const std::string& error() const { return error_; }
  JsonValue TakeResult() { return std::move(result_); }

 private:
  struct Frame {
    JsonValue value;
    std::string key;
  };

  bool Open(JsonValue container) {
    if (stack_.size() >= max_depth_) {
      return Fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
    }
    stack_.push_back(Frame{std::move(container), {}});
    return true;
  }

  bool Add(JsonValue value) {
    if (stack_.empty()) {
      result_ = std::move(value);
      return true;
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.mutable_items().push_back(std::move(value));
    } else {
      top.value.mutable_members().emplace_back(std::move(top.key), std::move(value));
    }
    return true;
  }

  bool Fail(std::string reason) {
    error_ = std::move(reason);
    return false;
  }

  size_t max_depth_;
  std::vector<Frame> stack_;
  JsonValue result_;
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
  TreeBuilder builder(limits.max_depth);
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                      nlohmann::json::input_format_t::json, /*strict=*/true);
  if (!ok) {
    std::string reason = builder.error().empty() ? "invalid JSON" : builder.error();
    return Status::Error(ErrorCode::kMalformedTransaction, std::move(reason));
  }
  *out = builder.TakeResult();
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
