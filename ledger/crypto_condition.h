// Crypto-conditions (draft-thomas-crypto-conditions-04) as BigchainDB uses
// them: ed25519-sha-256 and threshold-sha-256, with their DER encodings,
// fingerprints, costs, URIs and verification.
//
// Thread safety: values are immutable after construction; all functions are
// safe to call from any thread.
#ifndef LEDGER_CRYPTO_CONDITION_H_
#define LEDGER_CRYPTO_CONDITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace ledger {

// Type ids from the crypto-conditions registry.
enum class ConditionType : uint8_t {
  kThresholdSha256 = 2,
  kEd25519Sha256 = 4,
};

// "ed25519-sha-256" or "threshold-sha-256".
std::string_view ConditionTypeName(ConditionType type);

// Nodes at this depth or deeper (the root is depth 0) are ThresholdTooDeep,
// matching BigchainDB's limit.
inline constexpr int kMaxConditionDepth = 100;

inline constexpr uint64_t kEd25519Cost = 131072;

// A condition: what a fulfillment must hash to.
struct Condition {
  ConditionType type = ConditionType::kEd25519Sha256;
  Digest fingerprint{};
  uint64_t cost = 0;
  // Bit i set = type id i occurs strictly below this node (thresholds only).
  uint32_t subtypes = 0;

  // DER: A<type> L 80 20 <fingerprint> 81 L <cost> [82 L <subtypes bits>].
  std::string Der() const;
  // ni:///sha-256;<b64url fingerprint>?fpt=<type>&cost=<n>[&subtypes=...]
  std::string Uri() const;
};

// The JSON `details` of an output's condition, as a tree:
//   {"type":"ed25519-sha-256","public_key":"<b58>"}
//   {"type":"threshold-sha-256","threshold":t,"subconditions":[...]}
struct ConditionDetails {
  ConditionType type = ConditionType::kEd25519Sha256;
  std::string public_key;  // raw 32 bytes (ed25519 only)
  uint32_t threshold = 0;  // threshold only
  std::vector<ConditionDetails> subconditions;

  // The condition these details describe.
  Condition ToCondition() const;
};

// A fulfillment tree parsed from, or encoded to, DER.
struct Fulfillment {
  ConditionType type = ConditionType::kEd25519Sha256;
  // ed25519-sha-256
  std::string public_key;  // raw 32 bytes
  std::string signature;   // raw 64 bytes
  // threshold-sha-256
  uint32_t threshold = 0;
  std::vector<Fulfillment> subfulfillments;
  std::vector<Condition> subconditions;  // the unfulfilled ones

  // Parses a DER fulfillment. Fails with kInvalidSignature for anything that is
  // not a well-formed ed25519/threshold fulfillment (unknown types, bad
  // lengths, trailing bytes, a threshold of 0 or above its sub-count), and
  // with kThresholdTooDeep past kMaxConditionDepth. Never reads out of bounds.
  static Status ParseDer(std::string_view der, Fulfillment* out);

  // DER encoding; threshold members are written sorted by their encodings.
  std::string Der() const;

  // The condition this fulfillment satisfies.
  Condition ToCondition() const;

  // True when every Ed25519 signature in the tree verifies over `message` and
  // every threshold has exactly `threshold` sub-fulfillments.
  bool Verify(std::string_view message) const;

  // Appends the raw public keys of every Ed25519 fulfillment in the tree.
  void CollectPublicKeys(std::vector<std::string>* keys) const;
};

}  // namespace ledger

#endif  // LEDGER_CRYPTO_CONDITION_H_
