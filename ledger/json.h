// Strict JSON parsing with limits, and BigchainDB's canonical serialization.
//
// Thread safety: JsonValue is a plain value; const access from several
// threads is safe.
#ifndef LEDGER_JSON_H_
#define LEDGER_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace ledger {

// A parsed JSON document that keeps what canonical serialization needs:
// numbers as the exact lexeme the client wrote, and object members sorted by
// key (byte order of UTF-8 = code point order).
class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool value);
  // `lexeme` must be a valid JSON number; it is emitted verbatim.
  static JsonValue Number(std::string lexeme);
  static JsonValue String(std::string value);
  static JsonValue Array(std::vector<JsonValue> items = {});
  // Sorts `members` by key. Callers must not pass duplicate keys.
  static JsonValue Object(std::vector<Member> members = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool as_bool() const { return bool_; }
  // The string's value, or a number's lexeme.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // The member named `key`, or nullptr (also for non-objects).
  const JsonValue* Find(std::string_view key) const;

  // Replaces or inserts member `key`, keeping the order. Object only.
  void Set(std::string_view key, JsonValue value);
  // Mutable access for building documents in place; whoever changes
  // members must keep them sorted by key.
  std::vector<JsonValue>& mutable_items() { return items_; }
  std::vector<Member>& mutable_members() { return members_; }
  JsonValue* FindMutable(std::string_view key);

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB, BigchainDB's transaction size limit
  size_t max_depth = 512;      // room for 100 nested threshold conditions
};

// Parses `text` as one JSON value. On failure returns kMalformedTransaction
// with the reason (size, depth, syntax with byte offset, invalid UTF-8,
// duplicate key, number out of range) and leaves `out` unspecified.
Status ParseJson(std::string_view text, JsonValue* out, const JsonLimits& limits = {});

// Appends the canonical form of `value`: sorted keys, no whitespace, raw
// UTF-8, only '"', '\\' and control characters escaped, numbers verbatim.
void AppendCanonicalJson(const JsonValue& value, std::string* out);

// Appends `text` as a canonical JSON string literal (quoted and escaped).
void AppendCanonicalString(std::string_view text, std::string* out);

// The canonical form of `value` as a new string.
std::string CanonicalJson(const JsonValue& value);

}  // namespace ledger

#endif  // LEDGER_JSON_H_
