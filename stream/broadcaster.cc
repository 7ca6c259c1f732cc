#include "stream/broadcaster.h"

#include <boost/asio/post.hpp>
#include <utility>
#include <vector>

namespace stream {

Broadcaster::Broadcaster(boost::asio::any_io_executor executor, size_t max_subscribers,
                         std::shared_ptr<Counters> counters)
    : max_subscribers_(max_subscribers),
      strand_(boost::asio::make_strand(std::move(executor))),
      counters_(std::move(counters)) {}

bool Broadcaster::TryAdmit() {
  std::lock_guard lock(mutex_);
  if (admitted_ >= max_subscribers_) {
    counters_->refused_connections.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  ++admitted_;
  counters_->subscribers.store(admitted_, std::memory_order_relaxed);
  return true;
}

bool Broadcaster::Join(Subscriber* subscriber, std::weak_ptr<Subscriber> handle) {
  std::lock_guard lock(mutex_);
  if (going_away_) return false;
  joined_.emplace(subscriber, std::move(handle));
  return true;
}

void Broadcaster::Leave(Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  joined_.erase(subscriber);
  --admitted_;
  counters_->subscribers.store(admitted_, std::memory_order_relaxed);
  if (admitted_ == 0) emptied_.notify_all();
}

std::vector<std::shared_ptr<Subscriber>> Broadcaster::LiveSubscribers() {
  std::vector<std::weak_ptr<Subscriber>> handles;
  {
    std::lock_guard lock(mutex_);
    handles.reserve(joined_.size());
    for (const auto& [subscriber, handle] : joined_) handles.push_back(handle);
  }
  // Locking the weak pointers outside the mutex: a subscriber destroyed here
  // calls Leave(), which takes the mutex.
  std::vector<std::shared_ptr<Subscriber>> live;
  live.reserve(handles.size());
  for (const std::weak_ptr<Subscriber>& handle : handles) {
    if (std::shared_ptr<Subscriber> subscriber = handle.lock())
      live.push_back(std::move(subscriber));
  }
  return live;
}

void Broadcaster::Publish(std::shared_ptr<const BlockEvents> block) {
  boost::asio::post(strand_, [this, block = std::move(block)] {
    for (const std::shared_ptr<Subscriber>& subscriber : LiveSubscribers()) {
      subscriber->Deliver(block);
    }
  });
}

void Broadcaster::GoAwayAll() {
  {
    std::lock_guard lock(mutex_);
    going_away_ = true;
  }
  for (const std::shared_ptr<Subscriber>& subscriber : LiveSubscribers()) subscriber->GoAway();
}

bool Broadcaster::WaitUntilEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return emptied_.wait_for(lock, timeout, [this] { return admitted_ == 0; });
}

}  // namespace stream
