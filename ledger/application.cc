#include "ledger/application.h"

#include <algorithm>
#include <thread>

#include "ledger/crypto.h"
#include "ledger/state.h"

namespace ledger {
namespace {

// Below this many uncached transactions, threads cost more than they save.
constexpr size_t kParallelThreshold = 8;

}  // namespace

std::vector<std::shared_ptr<const CheckedTransaction>> CheckAll(
    const std::vector<std::string>& txs, ValidationCache* cache) {
  std::vector<std::shared_ptr<const CheckedTransaction>> checked(txs.size());
  size_t workers = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                    txs.size() / kParallelThreshold + 1);
  auto work = [&](size_t first) {
    for (size_t i = first; i < txs.size(); i += workers) checked[i] = cache->Check(txs[i]);
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work, w);
  work(0);
  for (std::thread& thread : threads) thread.join();
  return checked;
}

std::string NextAppHash(const std::string& previous,
                        const std::vector<std::shared_ptr<const Transaction>>& valid) {
  if (valid.empty()) return previous;
  std::string ids;
  ids.reserve(valid.size() * 64);
  for (const auto& tx : valid) ids += tx->id;
  return DigestBytes(Sha3_256(previous + DigestBytes(Sha3_256(ids))));
}

Application::Application(BlockStore* store) : store_(store) {}

AppInfo Application::Info() const {
  ChainState state = store_->LoadChainState();
  return AppInfo{state.last_height, state.last_app_hash, state.chain_id};
}

bool Application::InitChain(const std::string& chain_id, int64_t initial_height,
                            const std::string& validators_json, std::string* error) {
  return store_->WriteChainInfo(chain_id, initial_height, validators_json, error);
}

std::shared_ptr<const CheckedTransaction> Application::CheckStatelessCached(std::string_view raw) {
  return cache_.Check(raw);
}

TxResult Application::CheckTx(std::string_view raw, bool recheck) {
  // A recheck finds its stateless result in the cache unless it was evicted,
  // in which case computing it again is the only correct answer.
  std::shared_ptr<const CheckedTransaction> checked = cache_.Check(raw);
  if (!checked->status.ok()) return TxResult{checked->status, nullptr};
  Status status = CheckAgainstCommitted(*checked);
  // A transaction that fails its recheck leaves the mempool for good.
  if (recheck && !status.ok()) cache_.Erase(raw);
  return TxResult{std::move(status), checked->transaction};
}

Status Application::CheckAgainstCommitted(const CheckedTransaction& checked) {
  // The height is read before the store. If a block commits meanwhile, the
  // reads may see it and the pass is recorded one height low: block
  // execution, which runs after that commit, then re-derives the verdict
  // from that block's changes, as it does for a pass one block old.
  const int64_t height = store_->LastHeight();
  if (KnownToPass(checked, height)) return checked.signature_status;
  Status status = CheckAgainstState(checked, *store_);
  if (status.ok()) checked.passed_state_at.store(height);
  return status;
}

bool Application::KnownToPass(const CheckedTransaction& checked, int64_t height) {
  const int64_t passed_at = checked.passed_state_at.load();
  if (passed_at == height) return true;
  if (passed_at != height - 1) return false;
  std::shared_ptr<const BlockOverlay> block;
  {
    std::lock_guard lock(changes_mutex_);
    if (last_changes_.height != height) return false;
    block = last_changes_.block;
  }
  if (block->Affects(*checked.transaction)) return false;
  checked.passed_state_at.store(height);
  return true;
}

FinalizedBlock Application::FinalizeBlock(int64_t height, const std::vector<std::string>& txs) {
  std::vector<std::shared_ptr<const CheckedTransaction>> checked = CheckAll(txs, &cache_);
  BeginBlock(height);
  for (size_t i = 0; i < txs.size(); ++i) open_->results.push_back(Deliver(txs[i], *checked[i]));
  return *EndBlock();
}

void Application::BeginBlock(int64_t height) {
  staged_.reset();
  staged_changes_.reset();
  staged_raw_.clear();
  open_.emplace(store_);
  open_->write.height = height;
}

std::optional<TxResult> Application::DeliverTx(std::string_view raw) {
  if (!open_) return std::nullopt;
  std::shared_ptr<const CheckedTransaction> checked = cache_.Check(raw);
  open_->results.push_back(Deliver(raw, *checked));
  return open_->results.back();
}

TxResult Application::Deliver(std::string_view raw, const CheckedTransaction& checked) {
  open_->raw.emplace_back(raw);
  if (!checked.status.ok()) return TxResult{checked.status, nullptr};
  // Committed state plus this block: what passed against the first passes
  // against both unless an earlier transaction of the block affects it.
  Status status = KnownToPass(checked, store_->LastHeight()) &&
                          !open_->overlay.Affects(*checked.transaction)
                      ? checked.signature_status
                      : CheckAgainstState(checked, open_->overlay);
  if (status.ok()) {
    open_->overlay.Apply(*checked.transaction);
    open_->write.transactions.push_back(checked.transaction);
  }
  return TxResult{std::move(status), checked.transaction};
}

std::optional<FinalizedBlock> Application::EndBlock() {
  if (!open_) return std::nullopt;
  FinalizedBlock result;
  result.height = open_->write.height;
  result.results = std::move(open_->results);
  open_->write.app_hash =
      NextAppHash(store_->LoadChainState().last_app_hash, open_->write.transactions);
  result.app_hash = open_->write.app_hash;
  staged_ = std::move(open_->write);
  staged_raw_ = std::move(open_->raw);
  staged_changes_ = std::make_shared<const BlockOverlay>(std::move(open_->overlay));
  open_.reset();
  return result;
}

bool Application::Commit(std::string* error) {
  if (!staged_) {
    *error = "commit without a finalized block";
    return false;
  }
  if (!store_->WriteBlock(*staged_, error)) return false;
  {
    std::lock_guard lock(changes_mutex_);
    last_changes_ = CommittedChanges{staged_->height, std::move(staged_changes_)};
  }

  CommittedBlock block;
  block.height = staged_->height;
  block.app_hash = staged_->app_hash;
  for (uint32_t i = 0; i < staged_->transactions.size(); ++i) {
    const Transaction& tx = *staged_->transactions[i];
    block.transactions.push_back(
        CommittedTransaction{tx.id, tx.asset_id, tx.operation, i, tx.PublicKeys()});
  }
  // The block's transactions leave the mempool; their cached checks are of no
  // further use.
  for (const std::string& raw : staged_raw_) cache_.Erase(raw);
  staged_.reset();
  staged_raw_.clear();

  std::vector<BlockObserver*> observers;
  {
    std::lock_guard lock(observers_mutex_);
    observers = observers_;
  }
  for (BlockObserver* observer : observers) observer->OnBlockCommitted(block);
  return true;
}

void Application::AddObserver(BlockObserver* observer) {
  std::lock_guard lock(observers_mutex_);
  observers_.push_back(observer);
}

}  // namespace ledger
