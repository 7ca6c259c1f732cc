// Fuzzes the strict JSON parser and the canonical writer (ledger/json.h).
//
// Invariants (a violation traps):
// - no input crashes, with the default limits or with tiny ones (depth 8,
//   256 bytes); a refusal is MalformedTransaction;
// - ParseJson -> CanonicalJson -> ParseJson -> CanonicalJson is a fixed
//   point, and the canonical form is never longer than the input (so a
//   document within the limits stays within them once re-serialized);
// - under tiny limits a document that parses has the same canonical form as
//   under the default limits;
// - a canonical string literal of the input bytes parses back to those bytes
//   whenever they are valid UTF-8 (always when they are ASCII).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/json.h"
#include "ledger/status.h"

namespace {

void Require(bool condition) {
  if (!condition) __builtin_trap();
}

// The canonical form of `text` under `limits`, or nullopt when it does not
// parse; checks the fixed point on the way.
std::optional<std::string> Canonicalize(std::string_view text, const ledger::JsonLimits& limits) {
  ledger::JsonValue value;
  const ledger::Status status = ledger::ParseJson(text, &value, limits);
  if (!status.ok()) {
    Require(status.code() == ledger::ErrorCode::kMalformedTransaction);
    return std::nullopt;
  }
  std::string canonical = ledger::CanonicalJson(value);
  Require(canonical.size() <= text.size());
  ledger::JsonValue reparsed;
  Require(ledger::ParseJson(canonical, &reparsed, limits).ok());
  Require(ledger::CanonicalJson(reparsed) == canonical);
  return canonical;
}

void CheckStringLiteral(std::string_view bytes) {
  std::string literal;
  ledger::AppendCanonicalString(bytes, &literal);
  ledger::JsonValue value;
  const bool parsed = ledger::ParseJson(literal, &value).ok();
  const bool ascii =
      std::all_of(bytes.begin(), bytes.end(), [](char c) { return (c & 0x80) == 0; });
  if (ascii) Require(parsed);
  if (parsed) Require(value.is_string() && value.text() == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<std::string> canonical = Canonicalize(text, ledger::JsonLimits{});
  const std::optional<std::string> tiny =
      Canonicalize(text, ledger::JsonLimits{.max_bytes = 256, .max_depth = 8});
  if (tiny) Require(canonical == tiny);
  CheckStringLiteral(text);
  return 0;
}
