// Builds and signs transactions the way the official BigchainDB drivers do.
// Used by ledgerctl, tests and the load tools.
//
// Thread safety: pure functions of their arguments.
#ifndef LEDGER_TRANSACTION_BUILDER_H_
#define LEDGER_TRANSACTION_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/json.h"

namespace ledger {

// An output to create: one key gives an ed25519-sha-256 condition, several
// keys an n-of-n threshold-sha-256 of them.
struct OutputSpec {
  std::vector<std::string> public_keys;  // Base58
  uint64_t amount = 1;
};

// An output to spend, with the keys that own it.
struct SpendSpec {
  std::string transaction_id;
  uint32_t output_index = 0;
  std::vector<std::string> owners_before;  // Base58
};

// The condition JSON ({"details":..., "uri":...}) for `public_keys`.
JsonValue MakeCondition(const std::vector<std::string>& public_keys);

// An unsigned CREATE ("id" and fulfillments null). `asset_data` and
// `metadata` are objects or null.
JsonValue MakeCreate(const std::vector<std::string>& issuers, JsonValue asset_data,
                     JsonValue metadata, const std::vector<OutputSpec>& outputs);

// An unsigned TRANSFER of `asset_id` spending `inputs`.
JsonValue MakeTransfer(const std::vector<SpendSpec>& inputs, const std::string& asset_id,
                       JsonValue metadata, const std::vector<OutputSpec>& outputs);

// Signs every input of `transaction` with the keys among `keys` that match its
// owners_before (a threshold fulfillment when there are several), then sets
// the id. Returns false with `*error` naming the missing key or bad field.
bool SignTransaction(JsonValue* transaction, const std::vector<KeyPair>& keys,
                     std::string* error);

// Base58 public key of `keys`.
std::string PublicKeyBase58(const KeyPair& keys);

}  // namespace ledger

#endif  // LEDGER_TRANSACTION_BUILDER_H_
