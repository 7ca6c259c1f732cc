// What one subscriber asked for in its query string: where to start and
// which transactions to receive.
//
// Thread safety: Subscription is a plain value; const access from several
// threads is safe.
#ifndef STREAM_SUBSCRIPTION_H_
#define STREAM_SUBSCRIPTION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/committed_block.h"
#include "ledger/transaction.h"

namespace stream {

// Where a committed transaction sits in commit order.
struct TransactionPosition {
  int64_t height = 0;
  uint32_t index = 0;  // among the block's valid transactions
};

struct Subscription {
  // Replay committed blocks from this height on; live blocks only if unset.
  std::optional<int64_t> from_height;
  // Replay from the committed transaction after this one (64 lower-case hex
  // digits); never set together with from_height.
  std::optional<std::string> after_transaction_id;
  // Where after_transaction_id sits; set by the server once it has looked the
  // id up, before the subscription starts.
  std::optional<TransactionPosition> after_position;
  // Filters, combined with AND; an unset filter matches everything.
  std::optional<std::string> asset_id;    // 64 lower-case hex digits
  std::optional<std::string> public_key;  // Base58 of 32 bytes
  std::optional<ledger::Operation> operation;

  // True when `transaction` passes every filter that is set.
  bool Matches(const ledger::CommittedTransaction& transaction) const;

  // True when no filter is set (every transaction matches).
  bool MatchesEverything() const { return !asset_id && !public_key && !operation; }
};

// Finds a committed transaction by id: its position, or nullopt when no
// committed transaction has that id. Must be safe to call from any thread.
using TransactionLocator =
    std::function<std::optional<TransactionPosition>(std::string_view transaction_id)>;

// Parses the query string of a stream request (the part after '?', still
// percent-encoded; empty for none). Accepts from_height (a non-negative
// decimal integer) or after_transaction_id (64 lower-case hex digits; the two
// exclude each other), asset_id, public_key and operation (CREATE or
// TRANSFER), each at most once. Whether after_transaction_id names a
// committed transaction is for the caller to check. On success fills `*out` and returns true;
// otherwise returns false with `*error` saying which parameter is wrong and why, and leaves `*out`
// unspecified.
bool ParseSubscription(std::string_view query, Subscription* out, std::string* error);

}  // namespace stream

#endif  // STREAM_SUBSCRIPTION_H_
