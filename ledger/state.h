// Ledger state as validation sees it, and the stateful checks (step 5 of
// DESIGN.md §3).
#ifndef LEDGER_STATE_H_
#define LEDGER_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/transaction.h"

namespace ledger {

// What validation needs to know about a committed output.
struct StoredOutput {
  std::string condition_uri;
  uint64_t amount = 0;
  std::string asset_id;
};

// Read-only state. Implementations say whether they are thread-safe.
class LedgerView {
 public:
  virtual ~LedgerView() = default;
  virtual bool HasTransaction(std::string_view id) const = 0;
  virtual std::optional<StoredOutput> GetOutput(std::string_view transaction_id,
                                                uint32_t index) const = 0;
  // The id of the transaction that spent the output, if any.
  virtual std::optional<std::string> SpentBy(std::string_view transaction_id,
                                             uint32_t index) const = 0;
};

// Committed state plus the valid transactions accepted so far in the block
// being executed, so chains inside one block work and the first of two
// conflicting transactions wins. Not thread-safe; one per block.
class BlockOverlay : public LedgerView {
 public:
  explicit BlockOverlay(const LedgerView* committed) : committed_(committed) {}

  // Makes `tx` (already validated against this overlay) visible.
  void Apply(const Transaction& tx);

  // Whether the transactions applied so far include `tx`'s id or spend an
  // output that `tx` spends. State only grows, so these are the only ways
  // they can turn a transaction that passed the checks against the state
  // below into one that fails them.
  bool Affects(const Transaction& tx) const;

  bool HasTransaction(std::string_view id) const override;
  std::optional<StoredOutput> GetOutput(std::string_view transaction_id,
                                        uint32_t index) const override;
  std::optional<std::string> SpentBy(std::string_view transaction_id,
                                     uint32_t index) const override;

 private:
  using OutputKey = std::pair<std::string, uint32_t>;
  const LedgerView* committed_;
  std::set<std::string, std::less<>> transactions_;
  std::map<OutputKey, StoredOutput> outputs_;
  std::map<OutputKey, std::string> spent_by_;
};

// Runs the checks that depend on state, in BigchainDB's order:
// CREATE: DuplicateTransaction, then signatures. TRANSFER: DuplicateTransaction,
// then per input InputDoesNotExist and DoubleSpend (also twice in this tx),
// then AssetIdMismatch, AmountError (inputs != outputs) and InvalidSignature
// (each fulfillment's condition must equal the spent output's, and verify).
// `checked` must have an ok status.
Status CheckAgainstState(const CheckedTransaction& checked, const LedgerView& state);

}  // namespace ledger

#endif  // LEDGER_STATE_H_
