// One subscriber's WebSocket connection: finishes the upgrade, replays
// history paced by the socket, then streams live blocks through a bounded
// queue.
//
// Thread safety: Deliver and GoAway may be called from any thread; all other
// work happens on the connection's strand.
#ifndef STREAM_WEBSOCKET_SESSION_H_
#define STREAM_WEBSOCKET_SESSION_H_

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "ledger/committed_block.h"
#include "stream/block_events.h"
#include "stream/broadcaster.h"
#include "stream/event_stream.h"
#include "stream/outbound_stream.h"
#include "stream/subscriber.h"
#include "stream/subscription.h"

namespace stream {

namespace http = beast::http;
namespace websocket = beast::websocket;

// `Stream` is beast::tcp_stream (ws://) or beast::ssl_stream<beast::tcp_stream>
// (wss://); both are instantiated in websocket_session.cc.
template <class Stream>
class WebSocketSession : public Subscriber,
                         public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  // Takes over `stream`, whose upgrade request asked for `subscription` (with
  // after_position set when it names after_transaction_id) and took a place
  // in `broadcaster` (given back when the session ends).
  WebSocketSession(Stream&& stream, Subscription subscription,
                   std::shared_ptr<Broadcaster> broadcaster,
                   const ledger::CommittedBlockSource& blocks,
                   std::shared_ptr<const EventStreamOptions> options);
  ~WebSocketSession() override;

  // Answers the upgrade `request` and starts streaming. Call once, on the
  // stream's strand.
  void Run(http::request<http::empty_body> request);

  void Deliver(std::shared_ptr<const BlockEvents> block) override;
  void GoAway() override;

 private:
  // kUpgrading: handshake not done; live blocks are dropped (the store has
  // them). kCatchingUp: reading committed blocks
  // from the store as the socket drains; live blocks are dropped (the store
  // has them). kLive: live blocks go through the bounded queue. kEnded:
  // closing or closed; nothing more is sent.
  enum class Phase { kUpgrading, kCatchingUp, kLive, kEnded };

  struct QueuedBlock {
    std::shared_ptr<const BlockEvents> block;
    size_t matching = 0;  // messages this subscriber gets from it
  };

  void OnAccept(beast::error_code ec);
  void DoRead();
  void OnRead(beast::error_code ec, std::size_t bytes);
  void OnBlock(std::shared_ptr<const BlockEvents> block);
  void OnGoAway();
  void OnDrained();
  void OnClose(beast::error_code ec);

  // Sends what comes next — queued live blocks, else the next stretch of
  // history — if the socket has drained.
  void Pump();
  void WriteQueuedBlocks();
  void ReplayNextBlocks();
  // Queues the frames of `block` that match the subscription on the socket,
  // leaving out those at or before after_position; returns their size in
  // bytes.
  size_t QueueMatchingFrames(const std::shared_ptr<const BlockEvents>& block);
  size_t CountMatching(const BlockEvents& block) const;
  // The height of the first block this subscriber has not been sent whole.
  int64_t ResumeHeight() const;
  // The id of the last transaction queued on the socket, else the one the
  // subscription resumed after; nullopt if neither exists.
  std::optional<std::string> ResumeTransactionId() const;
  void Close(websocket::close_code code, const std::string& reason_prefix);
  void Report(beast::error_code ec, const char* what) const;

  websocket::stream<OutboundStream<Stream>> ws_;
  const Subscription subscription_;
  const std::shared_ptr<Broadcaster> broadcaster_;
  const ledger::CommittedBlockSource& blocks_;
  const std::shared_ptr<const EventStreamOptions> options_;

  http::request<http::empty_body> upgrade_request_;
  beast::flat_buffer read_buffer_;
  Phase phase_ = Phase::kUpgrading;
  bool joined_ = false;  // false when the stream was stopping
  bool go_away_requested_ = false;
  // The next height to send: read next from the store while catching up,
  // expected next from the broadcaster when live.
  int64_t next_height_ = 0;
  // The highest height known to be committed (from live blocks seen).
  int64_t known_tip_ = 0;
  std::deque<QueuedBlock> live_queue_;
  size_t queued_messages_ = 0;
  size_t unconfirmed_messages_ = 0;  // queued on the socket, not yet written
  // The last transaction queued on the socket, kept alive by its block.
  std::shared_ptr<const BlockEvents> last_queued_block_;
  const TransactionEvent* last_queued_event_ = nullptr;
};

}  // namespace stream

#endif  // STREAM_WEBSOCKET_SESSION_H_
