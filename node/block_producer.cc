#include "node/block_producer.h"

#include "node/log.h"

namespace node {

BlockProducer::BlockProducer(ledger::Application* app, Options options)
    : app_(app), options_(options) {}

BlockProducer::~BlockProducer() { Stop(); }

BlockProducer::Admission BlockProducer::Submit(std::string raw, Outcome outcome,
                                               ledger::Status* status) {
  ledger::TxResult result = app_->CheckTx(raw);
  if (!result.status.ok()) {
    *status = result.status;
    return Admission::kRejected;
  }
  std::lock_guard lock(mutex_);
  if (stopping_) {
    *status = ledger::Status::Error(ledger::ErrorCode::kMalformedTransaction,
                                    "the node is shutting down");
    return Admission::kRejected;
  }
  if (mempool_.size() >= options_.max_mempool_txs) return Admission::kMempoolFull;
  if (!mempool_ids_.insert(result.transaction->id).second) {
    *status = ledger::Status::Error(ledger::ErrorCode::kDuplicateTransaction,
                                    "transaction " + result.transaction->id +
                                        " is already waiting in the mempool");
    return Admission::kAlreadyPending;
  }
  mempool_.push_back(Pending{std::move(raw), result.transaction->id, std::move(outcome)});
  // The producer sleeps on an empty mempool only; waking it for every
  // further transaction would cost a context switch per submission.
  if (mempool_.size() == 1) wake_.notify_one();
  return Admission::kAccepted;
}

void BlockProducer::Start() {
  if (app_->Info().chain_id.empty()) {
    std::string error;
    if (!app_->InitChain("ledgerd-dev", 1, R"([{"power":10,"pub_key":null}])", &error)) {
      Log(LogLevel::kError, "dev", "cannot record the chain: " + error);
    }
  }
  Log(LogLevel::kWarn, "dev",
      "this is a single node producing its own blocks; there is no consensus and no "
      "Byzantine fault tolerance. Run beside CometBFT for a real network.");
  thread_ = std::thread([this] { Run(); });
}

void BlockProducer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(mempool_);
    mempool_ids_.clear();
  }
  for (Pending& pending : left) {
    if (pending.outcome) {
      pending.outcome(ledger::Status::Error(ledger::ErrorCode::kMalformedTransaction,
                                            "the node shut down before committing it"),
                      0);
    }
  }
}

size_t BlockProducer::mempool_size() const {
  std::lock_guard lock(mutex_);
  return mempool_.size();
}

void BlockProducer::Run() {
  auto last_block = std::chrono::steady_clock::now() - options_.block_interval;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !mempool_.empty(); });
    if (stopping_) return;
    auto next_allowed = last_block + options_.block_interval;
    if (std::chrono::steady_clock::now() < next_allowed) {
      // Let the interval pass; a stop request still ends the wait.
      if (wake_.wait_until(lock, next_allowed, [this] { return stopping_; })) return;
    }
    std::deque<Pending> batch;
    while (!mempool_.empty() && batch.size() < options_.max_block_txs) {
      batch.push_back(std::move(mempool_.front()));
      mempool_.pop_front();
    }
    lock.unlock();
    last_block = std::chrono::steady_clock::now();
    ProduceBlock(std::move(batch));
    Recheck();
    lock.lock();
  }
}

void BlockProducer::ProduceBlock(std::deque<Pending> batch) {
  int64_t height = app_->Info().last_height + 1;
  std::vector<std::string> txs;
  txs.reserve(batch.size());
  for (const Pending& pending : batch) txs.push_back(pending.raw);
  ledger::FinalizedBlock block = app_->FinalizeBlock(height, txs);
  std::string error;
  bool committed = app_->Commit(&error);
  if (!committed) {
    Log(LogLevel::kError, "dev", "commit of block " + std::to_string(height) + " failed: " + error);
  }
  {
    std::lock_guard lock(mutex_);
    for (const Pending& pending : batch) mempool_ids_.erase(pending.id);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].outcome) continue;
    if (!committed) {
      batch[i].outcome(ledger::Status::Error(ledger::ErrorCode::kMalformedTransaction,
                                             "the block could not be written: " + error),
                       0);
    } else if (block.results[i].status.ok()) {
      batch[i].outcome(block.results[i].status, height);
    } else {
      batch[i].outcome(block.results[i].status, 0);
    }
  }
}

void BlockProducer::Recheck() {
  std::deque<Pending> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(mempool_);
  }
  std::deque<Pending> still_valid;
  std::vector<std::pair<Pending, ledger::Status>> evicted;
  for (Pending& pending : waiting) {
    ledger::TxResult result = app_->CheckTx(pending.raw, /*recheck=*/true);
    if (result.status.ok()) {
      still_valid.push_back(std::move(pending));
    } else {
      evicted.emplace_back(std::move(pending), result.status);
    }
  }
  {
    std::lock_guard lock(mutex_);
    // Submissions that arrived during the recheck queue up behind.
    for (Pending& pending : mempool_) still_valid.push_back(std::move(pending));
    mempool_.swap(still_valid);
    for (const auto& [pending, status] : evicted) mempool_ids_.erase(pending.id);
  }
  for (auto& [pending, status] : evicted) {
    if (pending.outcome) pending.outcome(status, 0);
  }
}

}  // namespace node
