// Fuzzes the text encodings: Base58 (Bitcoin alphabet), base64url and hex.
//
// The input is used twice: as bytes to encode, and as text to decode.
// Invariants (a violation traps):
// - decode(encode(bytes)) == bytes for all three encodings;
// - Base58: every string Base58Decode accepts is canonical, so
//   encode(decode(text)) == text; and Base58Decode agrees with a plain
//   reference decoder (the library's is chunked for speed);
// - base64url: encode(decode(text)) is text without its '=' padding, except
//   that the unused low bits of the last character (which no byte holds) may
//   differ;
// - hex: encode(decode(text)) is text in lower case.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"

namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Base58Decode refuses longer text.
constexpr size_t kMaxBase58Length = 128;
// Base58 is quadratic; longer byte strings only slow the fuzzer down.
constexpr size_t kMaxBase58Bytes = 256;

void Require(bool condition) {
  if (!condition) __builtin_trap();
}

// Textbook Base58 decoding, one digit at a time into a big-endian byte array.
std::optional<std::string> ReferenceBase58Decode(std::string_view text) {
  if (text.empty() || text.size() > kMaxBase58Length) return std::nullopt;
  std::vector<uint8_t> number;  // big-endian, no leading zero bytes
  for (char c : text) {
    const size_t digit = kBase58Alphabet.find(c);
    if (digit == std::string_view::npos) return std::nullopt;
    unsigned carry = static_cast<unsigned>(digit);
    for (auto byte = number.rbegin(); byte != number.rend(); ++byte) {
      carry += *byte * 58u;
      *byte = static_cast<uint8_t>(carry);
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) number.insert(number.begin(), static_cast<uint8_t>(carry));
  }
  const size_t leading_ones = text.find_first_not_of('1');
  std::string bytes(leading_ones == std::string_view::npos ? text.size() : leading_ones, '\0');
  bytes.append(number.begin(), number.end());
  return bytes;
}

void CheckBase58(std::string_view input) {
  const std::string_view bytes = input.substr(0, kMaxBase58Bytes);
  const std::string encoded = ledger::Base58Encode(bytes);
  const std::optional<std::string> decoded = ledger::Base58Decode(encoded);
  if (encoded.empty() || encoded.size() > kMaxBase58Length) {
    Require(!decoded.has_value());
  } else {
    Require(decoded == bytes);
  }

  const std::optional<std::string> text_decoded = ledger::Base58Decode(input);
  Require(text_decoded == ReferenceBase58Decode(input));
  if (text_decoded) Require(ledger::Base58Encode(*text_decoded) == input);
}

void CheckBase64Url(std::string_view input) {
  const std::string encoded = ledger::Base64UrlEncode(input);
  Require(encoded.find('=') == std::string::npos);
  Require(ledger::Base64UrlDecode(encoded) == input);

  const std::optional<std::string> decoded = ledger::Base64UrlDecode(input);
  if (!decoded) return;
  std::string_view unpadded = input;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  Require(decoded->size() == unpadded.size() * 3 / 4);
  const std::string reencoded = ledger::Base64UrlEncode(*decoded);
  Require(reencoded.size() == unpadded.size());
  if (reencoded == unpadded) return;
  // Only the last character may differ, and only in the bits that do not
  // reach a byte: 4 of them after 2 characters of a group, 2 after 3.
  const size_t last = unpadded.size() - 1;
  Require(reencoded.compare(0, last, unpadded.substr(0, last)) == 0);
  const int unused_bits = unpadded.size() % 4 == 2 ? 4 : 2;
  Require(unpadded.size() % 4 == 2 || unpadded.size() % 4 == 3);
  const size_t original = kBase64UrlAlphabet.find(unpadded[last]);
  const size_t canonical = kBase64UrlAlphabet.find(reencoded[last]);
  Require(original >> unused_bits == canonical >> unused_bits);
  Require((canonical & ((1u << unused_bits) - 1)) == 0);
}

void CheckHex(std::string_view input) {
  const std::string encoded = ledger::HexEncode(input);
  Require(ledger::HexDecode(encoded) == input);

  const std::optional<std::string> decoded = ledger::HexDecode(input);
  if (!decoded) return;
  std::string lower(input);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  Require(ledger::HexEncode(*decoded) == lower);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckBase58(input);
  CheckBase64Url(input);
  CheckHex(input);
  return 0;
}
