// The registry of subscribers and the fan-out of committed blocks to them.
//
// Thread safety: every method is safe to call from any thread. Blocks are
// handed to subscribers on the broadcaster's strand, one block at a time, in
// the order Publish was called.
#ifndef STREAM_BROADCASTER_H_
#define STREAM_BROADCASTER_H_

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "stream/block_events.h"
#include "stream/counters.h"
#include "stream/subscriber.h"

namespace stream {

class Broadcaster {
 public:
  // Fans out on a strand of `executor`; admits at most `max_subscribers`;
  // updates `counters`, which may outlive the broadcaster. The broadcaster
  // must be destroyed before the executor's execution context finishes
  // destroying its services (the strand belongs to them).
  Broadcaster(boost::asio::any_io_executor executor, size_t max_subscribers,
              std::shared_ptr<Counters> counters);

  Broadcaster(const Broadcaster&) = delete;
  Broadcaster& operator=(const Broadcaster&) = delete;

  // Takes one of the `max_subscribers` places for a connection about to be
  // upgraded. Returns false (and counts a refusal) when all are taken. Every
  // successful call is paired with one Leave().
  bool TryAdmit();

  // Adds an admitted subscriber to the fan-out: every block published from
  // now on is delivered to it while it lives. Returns false, adding nothing,
  // once GoAwayAll has been called.
  bool Join(Subscriber* subscriber, std::weak_ptr<Subscriber> handle);

  // Removes `subscriber` (if it joined) and frees its place.
  void Leave(Subscriber* subscriber);

  // Delivers `block` to every subscriber joined by the time the fan-out runs.
  // Returns at once.
  void Publish(std::shared_ptr<const BlockEvents> block);

  // Asks every joined subscriber to close with 1001, and refuses later
  // joins. Returns at once.
  void GoAwayAll();

  // Blocks until no place is taken or `timeout` passes; true if none is.
  bool WaitUntilEmpty(std::chrono::milliseconds timeout);

  // Counters shared with the sessions.
  Counters& counters() { return *counters_; }

 private:
  std::vector<std::shared_ptr<Subscriber>> LiveSubscribers();

  const size_t max_subscribers_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  const std::shared_ptr<Counters> counters_;
  std::mutex mutex_;
  std::condition_variable emptied_;
  size_t admitted_ = 0;                                                // guarded by mutex_
  bool going_away_ = false;                                            // guarded by mutex_
  std::unordered_map<Subscriber*, std::weak_ptr<Subscriber>> joined_;  // guarded by mutex_
};

}  // namespace stream

#endif  // STREAM_BROADCASTER_H_
