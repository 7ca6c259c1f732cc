#include "ledger/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace ledger {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kMaxBase58Length = 128;

std::atomic<uint64_t> verify_calls{0};

// The library cannot work on without its crypto backends or with a broken
// caller contract, so these failures stop the process like a failed CHECK.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "ledger/crypto: %s\n", what);
  std::abort();
}

void EnsureSodiumInitialized() {
  // A function-local static runs sodium_init() exactly once, even when the
  // first calls race.
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) Fatal("sodium_init failed");
}

// OpenSSL 3 looks an algorithm up on every implicit use; fetching it once
// and reusing a per-thread context keeps hashing off the profile.
const EVP_MD* FetchDigest(const char* name) {
  const EVP_MD* algorithm = EVP_MD_fetch(nullptr, name, nullptr);
  if (algorithm == nullptr) Fatal(name);
  return algorithm;
}

Digest DigestWith(const EVP_MD* algorithm, std::string_view data) {
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());
  Digest digest;
  unsigned int size = 0;
  if (!context || EVP_DigestInit_ex2(context.get(), algorithm, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1 || size != digest.size()) {
    Fatal("OpenSSL digest failed");
  }
  return digest;
}

// Digit values of every byte in an alphabet, -1 outside it: decoding looks
// each character up once instead of searching the alphabet.
struct DigitTable {
  std::array<int8_t, 256> value;
  constexpr explicit DigitTable(std::string_view alphabet) : value() {
    value.fill(-1);
    for (size_t i = 0; i < alphabet.size(); ++i) {
      value[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    }
  }
  int operator()(char c) const { return value[static_cast<unsigned char>(c)]; }
};

constexpr DigitTable kBase58Digits(kBase58Alphabet);
constexpr DigitTable kBase64UrlDigits(kBase64UrlAlphabet);
constexpr DigitTable kHexLowerDigits(kHexDigits);

int HexValue(char c) {
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return kHexLowerDigits(c);
}

const unsigned char* AsBytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

Digest Sha3_256(std::string_view data) {
  static const EVP_MD* const algorithm = FetchDigest("SHA3-256");
  return DigestWith(algorithm, data);
}

Digest Sha256(std::string_view data) {
  static const EVP_MD* const algorithm = FetchDigest("SHA2-256");
  return DigestWith(algorithm, data);
}

Sha3_256Hasher::Sha3_256Hasher() : context_(EVP_MD_CTX_new()) {
  static const EVP_MD* const algorithm = FetchDigest("SHA3-256");
  if (!context_ || EVP_DigestInit_ex2(context_, algorithm, nullptr) != 1) {
    Fatal("OpenSSL digest failed");
  }
}

Sha3_256Hasher::Sha3_256Hasher(const Sha3_256Hasher& other) : context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_MD_CTX_copy_ex(context_, other.context_) != 1) {
    Fatal("OpenSSL digest copy failed");
  }
}

Sha3_256Hasher::~Sha3_256Hasher() { EVP_MD_CTX_free(context_); }

void Sha3_256Hasher::Update(std::string_view data) {
  if (EVP_DigestUpdate(context_, data.data(), data.size()) != 1) Fatal("OpenSSL digest failed");
}

Digest Sha3_256Hasher::Finish() {
  Digest digest;
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context_, digest.data(), &size) != 1 || size != digest.size()) {
    Fatal("OpenSSL digest failed");
  }
  return digest;
}

std::string DigestBytes(const Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string HexEncode(std::string_view bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex += kHexDigits[byte >> 4];
    hex += kHexDigits[byte & 0x0f];
  }
  return hex;
}

std::string HexEncode(const Digest& digest) { return HexEncode(DigestBytes(digest)); }

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexValue(hex[i]);
    const int low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes += static_cast<char>(high << 4 | low);
  }
  return bytes;
}

std::string Base58Encode(std::string_view bytes) {
  const size_t leading_zeros =
      std::find_if(bytes.begin(), bytes.end(), [](char c) { return c != 0; }) - bytes.begin();
  // Base-58 digits of the number, least significant first.
  std::vector<uint8_t> digits;
  for (unsigned char byte : bytes.substr(leading_zeros)) {
    unsigned carry = byte;
    for (uint8_t& digit : digits) {
      carry += static_cast<unsigned>(digit) << 8;
      digit = carry % 58;
      carry /= 58;
    }
    for (; carry > 0; carry /= 58) digits.push_back(carry % 58);
  }
  std::string text(leading_zeros, '1');
  for (auto digit = digits.rbegin(); digit != digits.rend(); ++digit) {
    text += kBase58Alphabet[*digit];
  }
  return text;
}

std::optional<std::string> Base58Decode(std::string_view text) {
  if (text.empty() || text.size() > kMaxBase58Length) return std::nullopt;
  const size_t leading_ones =
      std::find_if(text.begin(), text.end(), [](char c) { return c != '1'; }) - text.begin();
  // The number in 32-bit limbs, least significant first, fed five digits at a
  // time (58^5 < 2^32) to keep the quadratic part small.
  std::vector<uint32_t> limbs;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t chunk = 0;
    uint32_t scale = 1;
    for (size_t end = std::min(i + 5, text.size()); i < end; ++i) {
      const int value = kBase58Digits(text[i]);
      if (value < 0) return std::nullopt;
      chunk = chunk * 58 + static_cast<uint32_t>(value);
      scale *= 58;
    }
    uint64_t carry = chunk;
    for (uint32_t& limb : limbs) {
      carry += static_cast<uint64_t>(limb) * scale;
      limb = static_cast<uint32_t>(carry);
      carry >>= 32;
    }
    if (carry > 0) limbs.push_back(static_cast<uint32_t>(carry));
  }
  std::string decoded(leading_ones, '\0');
  bool significant = false;
  for (auto limb = limbs.rbegin(); limb != limbs.rend(); ++limb) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      const char byte = static_cast<char>((*limb >> shift) & 0xff);
      if (byte == 0 && !significant) continue;
      significant = true;
      decoded.push_back(byte);
    }
  }
  return decoded;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t bits = 0;
  int bit_count = 0;
  for (unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      text += kBase64UrlAlphabet[(bits >> bit_count) & 0x3f];
    }
  }
  if (bit_count > 0) text += kBase64UrlAlphabet[(bits << (6 - bit_count)) & 0x3f];
  return text;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 0) {
    // Padding is only correct when it completes the last group of four.
    if (padding > 2 || text.size() % 4 != 0) return std::nullopt;
    text.remove_suffix(padding);
  }
  // One leftover character carries fewer than 8 bits: no byte ends there.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    const int value = kBase64UrlDigits(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      bytes += static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  return bytes;
}

KeyPair KeyPairFromSeed(std::string_view seed) {
  if (seed.size() != kSeedSize) Fatal("KeyPairFromSeed needs a 32-byte seed");
  EnsureSodiumInitialized();
  KeyPair keys;
  keys.seed = std::string(seed);
  keys.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  keys.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(keys.public_key.data()),
                           reinterpret_cast<unsigned char*>(keys.secret_key.data()), AsBytes(seed));
  return keys;
}

KeyPair GenerateKeyPair() {
  EnsureSodiumInitialized();
  std::string seed(kSeedSize, '\0');
  randombytes_buf(seed.data(), seed.size());
  return KeyPairFromSeed(seed);
}

std::string Sign(const KeyPair& keys, std::string_view message) {
  if (keys.secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    Fatal("Sign needs a key pair made by KeyPairFromSeed or GenerateKeyPair");
  }
  EnsureSodiumInitialized();
  std::string signature(kSignatureSize, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       AsBytes(message), message.size(), AsBytes(keys.secret_key));
  return signature;
}

bool Verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  verify_calls.fetch_add(1, std::memory_order_relaxed);
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  EnsureSodiumInitialized();
  return crypto_sign_verify_detached(AsBytes(signature), AsBytes(message), message.size(),
                                     AsBytes(public_key)) == 0;
}

uint64_t VerifyCount() { return verify_calls.load(std::memory_order_relaxed); }

}  // namespace ledger
