// A bounded cache of stateless validation results, so that a transaction's
// signatures are verified once per node however often it is checked.
//
// Thread safety: all methods are safe to call concurrently.
#ifndef LEDGER_VALIDATION_CACHE_H_
#define LEDGER_VALIDATION_CACHE_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ledger/transaction.h"

namespace ledger {

class ValidationCache {
 public:
  explicit ValidationCache(size_t capacity = 20000) : capacity_(capacity) {}

  // The stateless result for `raw`, computed and remembered on a miss. The
  // oldest entry is evicted when the cache is full.
  std::shared_ptr<const CheckedTransaction> Check(std::string_view raw);

  // Forgets `raw` (after its block committed it has no further use).
  void Erase(std::string_view raw);

  size_t size() const;

 private:
  std::string KeyOf(std::string_view raw) const;

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CheckedTransaction>> entries_;
  std::deque<std::string> insertion_order_;
};

}  // namespace ledger

#endif  // LEDGER_VALIDATION_CACHE_H_
