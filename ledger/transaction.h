// The BigchainDB 2.0 transaction model and its stateless checks.
//
// Thread safety: Transaction is immutable once parsed; share it freely.
#ifndef LEDGER_TRANSACTION_H_
#define LEDGER_TRANSACTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto_condition.h"
#include "ledger/json.h"
#include "ledger/status.h"

namespace ledger {

enum class Operation { kCreate, kTransfer };

// "CREATE" or "TRANSFER".
std::string_view OperationName(Operation operation);
// The operation named `name`, or nullopt.
std::optional<Operation> ParseOperation(std::string_view name);

inline constexpr uint64_t kMaxAmount = 9'000'000'000'000'000'000ULL;

// A reference to an output: `fulfills` of an input.
struct OutputLink {
  std::string transaction_id;
  uint32_t output_index = 0;
};

struct Input {
  std::vector<std::string> owners_before;  // Base58 public keys
  std::optional<OutputLink> fulfills;      // empty for CREATE
  std::string fulfillment;                 // base64url DER, as sent
  Fulfillment parsed_fulfillment;
  std::string fulfillment_condition_uri;   // the condition it satisfies
};

struct Output {
  std::vector<std::string> public_keys;  // Base58
  uint64_t amount = 0;
  std::string condition_uri;
};

// A transaction that passed the structural checks (steps 1-4 of DESIGN.md §3).
struct Transaction {
  std::string id;
  Operation operation = Operation::kCreate;
  // A CREATE's own id, or a TRANSFER's asset.id.
  std::string asset_id;
  std::vector<Input> inputs;
  std::vector<Output> outputs;
  // The document as parsed (for asset data and metadata).
  JsonValue document;
  // The bytes exactly as the client sent them.
  std::string raw;

  // Every public key among the outputs and the inputs' owners_before, each
  // once, in order of first appearance.
  std::vector<std::string> PublicKeys() const;
};

// The outcome of everything that does not depend on ledger state: parsing,
// the id, the schema, fulfillments, amounts, and signature verification.
// Cacheable by the hash of the raw bytes.
struct CheckedTransaction {
  // First failure among steps 1-4; when not ok, `transaction` is null.
  Status status;
  std::shared_ptr<const Transaction> transaction;
  // Result of verifying every fulfillment against its message. Reported only
  // after the state checks, to keep BigchainDB's error order.
  Status signature_status;
  // The committed height at which the transaction last passed every check
  // against committed state, or -1. Application keeps it, so that a
  // transaction is read against the store once per state change.
  mutable std::atomic<int64_t> passed_state_at{-1};
};

// Runs every stateless check on `raw` (the transaction JSON as received).
// Never throws; hostile input yields a Status naming the reason.
std::shared_ptr<const CheckedTransaction> CheckStateless(std::string_view raw);

// The message an input's fulfillment signs: SHA3-256 of the canonical body
// (id and every fulfillment null), followed for TRANSFER by the spent
// output's transaction id and index, hashed again. `body` is that canonical
// body.
Digest InputMessage(std::string_view body, const Input& input);

// The canonical document with "id" and every input's "fulfillment" set to
// null: what each input signs.
std::string SigningBody(const JsonValue& document);

// The transaction id of a signed document: SHA3-256 hex of its canonical form
// with "id": null.
std::string ComputeId(const JsonValue& document);

}  // namespace ledger

#endif  // LEDGER_TRANSACTION_H_
