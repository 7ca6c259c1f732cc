// What the broadcaster sees of a WebSocket session.
#ifndef STREAM_SUBSCRIBER_H_
#define STREAM_SUBSCRIBER_H_

#include <memory>

#include "stream/block_events.h"

namespace stream {

// Thread safety: implementations accept calls from any thread and do the work
// on their own strand.
class Subscriber {
 public:
  virtual ~Subscriber() = default;

  // Hands over the next committed block (blocks arrive in height order).
  // Returns at once; never waits on the socket.
  virtual void Deliver(std::shared_ptr<const BlockEvents> block) = 0;

  // Closes the connection with 1001 (going away), naming the point to resume
  // from (the last transaction sent, else a height). Returns at once.
  virtual void GoAway() = 0;
};

}  // namespace stream

#endif  // STREAM_SUBSCRIBER_H_
