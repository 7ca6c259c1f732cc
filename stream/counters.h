// Counters of the event stream, for logs and a /metrics endpoint.
#ifndef STREAM_COUNTERS_H_
#define STREAM_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace stream {

// Thread safety: every member is an atomic; update and read from any thread.
struct Counters {
  std::atomic<uint64_t> subscribers{0};           // sessions admitted and not yet ended
  std::atomic<uint64_t> messages_sent{0};         // messages written to sockets
  std::atomic<uint64_t> slow_consumer_closes{0};  // sessions closed with 1008
  std::atomic<uint64_t> refused_connections{0};   // upgrades answered 503
};

}  // namespace stream

#endif  // STREAM_COUNTERS_H_
