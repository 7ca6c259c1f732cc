// Hashes, Ed25519 signatures and the text encodings BigchainDB uses.
//
// Thread safety: every function is safe to call from any thread.
#ifndef LEDGER_CRYPTO_H_
#define LEDGER_CRYPTO_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// OpenSSL's digest context (EVP_MD_CTX), kept out of this header.
struct evp_md_ctx_st;

namespace ledger {

using Digest = std::array<uint8_t, 32>;

// FIPS-202 SHA3-256 (not Keccak) of `data`.
Digest Sha3_256(std::string_view data);

// SHA-256 of `data`.
Digest Sha256(std::string_view data);

// SHA3-256 fed in pieces. A copy carries the state hashed so far, so a
// common prefix is hashed once for several messages that extend it.
//
// Thread safety: one object per thread; distinct objects are independent.
class Sha3_256Hasher {
 public:
  Sha3_256Hasher();
  Sha3_256Hasher(const Sha3_256Hasher& other);
  Sha3_256Hasher& operator=(const Sha3_256Hasher&) = delete;
  ~Sha3_256Hasher();

  // Appends `data` to the message.
  void Update(std::string_view data);

  // The digest of everything appended so far; the hasher may not be used
  // afterwards (copy it first to go on).
  Digest Finish();

 private:
  ::evp_md_ctx_st* context_;
};

// The digest's bytes as a std::string of length 32.
std::string DigestBytes(const Digest& digest);

// Lower-case hexadecimal of `bytes`.
std::string HexEncode(std::string_view bytes);
std::string HexEncode(const Digest& digest);

// Bytes of an even-length hex string (either case); nullopt on any other input.
std::optional<std::string> HexDecode(std::string_view hex);

// Base58 with the Bitcoin alphabet; leading zero bytes become '1'.
std::string Base58Encode(std::string_view bytes);

// Bytes of a Base58 string; nullopt on an empty string, a character outside
// the alphabet, or input longer than 128 characters.
std::optional<std::string> Base58Decode(std::string_view text);

// Base64url (RFC 4648 §5) without padding.
std::string Base64UrlEncode(std::string_view bytes);

// Bytes of a base64url string with or without '=' padding; nullopt on a
// character outside the alphabet, an impossible length, or misplaced padding.
std::optional<std::string> Base64UrlDecode(std::string_view text);

inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kSignatureSize = 64;

// An Ed25519 key pair. `public_key` and `seed` are the 32 raw bytes that
// BigchainDB encodes in Base58; `secret_key` is libsodium's 64-byte form.
struct KeyPair {
  std::string public_key;
  std::string seed;
  std::string secret_key;
};

// The key pair derived from a 32-byte seed (deterministic).
KeyPair KeyPairFromSeed(std::string_view seed);

// A fresh key pair from the system's secure random source.
KeyPair GenerateKeyPair();

// The 64-byte Ed25519 signature of `message`.
std::string Sign(const KeyPair& keys, std::string_view message);

// True when `signature` is a valid Ed25519 signature of `message` by
// `public_key` (libsodium's crypto_sign_verify_detached, as PyNaCl uses).
// False on wrong sizes.
bool Verify(std::string_view public_key, std::string_view message, std::string_view signature);

// Number of Verify calls made by this process; lets tests prove that cached
// validation results skip signature checks.
uint64_t VerifyCount();

}  // namespace ledger

#endif  // LEDGER_CRYPTO_H_
