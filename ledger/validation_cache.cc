#include "ledger/validation_cache.h"

#include "ledger/crypto.h"

namespace ledger {

std::string ValidationCache::KeyOf(std::string_view raw) const { return DigestBytes(Sha256(raw)); }

std::shared_ptr<const CheckedTransaction> ValidationCache::Check(std::string_view raw) {
  std::string key = KeyOf(raw);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
  }
  // Verify outside the lock so that different transactions check in parallel.
  std::shared_ptr<const CheckedTransaction> checked = CheckStateless(raw);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = entries_.emplace(key, checked);
  if (!inserted) return it->second;
  insertion_order_.push_back(key);
  while (entries_.size() > capacity_ && !insertion_order_.empty()) {
    entries_.erase(insertion_order_.front());
    insertion_order_.pop_front();
  }
  // Erase leaves stale keys behind in the queue; drop them before they
  // outnumber the live entries.
  if (insertion_order_.size() > 2 * capacity_ + 16) {
    std::deque<std::string> live;
    for (std::string& old : insertion_order_) {
      if (entries_.count(old)) live.push_back(std::move(old));
    }
    insertion_order_.swap(live);
  }
  return checked;
}

void ValidationCache::Erase(std::string_view raw) {
  std::string key = KeyOf(raw);
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

size_t ValidationCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace ledger
