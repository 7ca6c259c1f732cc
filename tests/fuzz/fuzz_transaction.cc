// Fuzzes the transaction decoder and stateless validator, ledger::CheckStateless.
//
// Invariants (a violation traps, which libFuzzer records as a crash):
// - no input crashes, hangs or trips ASan/UBSan;
// - an accepted transaction, re-serialized in canonical form, is accepted
//   again with the same id, asset id, outputs and signature verdict;
// - an input refused only for its id is re-checked with the id corrected, and
//   is then not refused for the id. Random bytes almost never hash to their
//   own id, so without this step the fuzzer would not get past the hash check
//   into the schema, condition and amount checks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/json.h"
#include "ledger/status.h"
#include "ledger/transaction.h"

namespace {

void Require(bool condition) {
  if (!condition) __builtin_trap();
}

void RequireSameTransaction(const ledger::CheckedTransaction& first,
                            const ledger::CheckedTransaction& second) {
  Require(second.status.ok() && second.transaction != nullptr);
  const ledger::Transaction& a = *first.transaction;
  const ledger::Transaction& b = *second.transaction;
  Require(a.id == b.id);
  Require(a.operation == b.operation);
  Require(a.asset_id == b.asset_id);
  Require(a.inputs.size() == b.inputs.size());
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    Require(a.inputs[i].fulfillment_condition_uri == b.inputs[i].fulfillment_condition_uri);
  }
  Require(a.outputs.size() == b.outputs.size());
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    Require(a.outputs[i].amount == b.outputs[i].amount);
    Require(a.outputs[i].condition_uri == b.outputs[i].condition_uri);
  }
  Require(first.signature_status.code() == second.signature_status.code());
}

// An accepted transaction is stored and served in canonical form; that form
// must validate to the same transaction.
void CheckCanonicalForm(const ledger::CheckedTransaction& checked) {
  Require(checked.transaction != nullptr);
  const ledger::Transaction& tx = *checked.transaction;
  Require(tx.id == ledger::ComputeId(tx.document));
  if (tx.operation == ledger::Operation::kCreate) Require(tx.asset_id == tx.id);
  RequireSameTransaction(checked, *ledger::CheckStateless(ledger::CanonicalJson(tx.document)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto checked = ledger::CheckStateless(raw);
  if (checked->status.ok()) {
    CheckCanonicalForm(*checked);
    return 0;
  }
  Require(checked->transaction == nullptr);
  if (checked->status.code() != ledger::ErrorCode::kInvalidHash) return 0;

  ledger::JsonValue document;
  Require(ledger::ParseJson(raw, &document).ok());
  document.Set("id", ledger::JsonValue::String(ledger::ComputeId(document)));
  const std::string corrected = ledger::CanonicalJson(document);
  // A 64-digit id may push a document at the size limit over it.
  if (corrected.size() > ledger::JsonLimits{}.max_bytes) return 0;
  const auto fixed = ledger::CheckStateless(corrected);
  Require(fixed->status.code() != ledger::ErrorCode::kMalformedTransaction);
  Require(fixed->status.code() != ledger::ErrorCode::kInvalidHash);
  if (fixed->status.ok()) CheckCanonicalForm(*fixed);
  return 0;
}
