#include "stream/websocket_session.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <optional>
#include <utility>

namespace stream {
namespace {

// A write gathers whole blocks until it holds at least this much.
constexpr size_t kWriteBatchBytes = 128 * 1024;
// Blocks read from the store per step of a replay, so that a replay through
// many blocks without matching transactions still yields the strand.
constexpr int kReplayBlocksPerStep = 256;

bool IsOrdinaryEnd(beast::error_code ec) {
  return ec == websocket::error::closed || ec == net::error::eof ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe;
}

}  // namespace

template <class Stream>
WebSocketSession<Stream>::WebSocketSession(Stream&& stream, Subscription subscription,
                                           std::shared_ptr<Broadcaster> broadcaster,
                                           const ledger::CommittedBlockSource& blocks,
                                           std::shared_ptr<const EventStreamOptions> options)
    : ws_(std::move(stream)),
      subscription_(std::move(subscription)),
      broadcaster_(std::move(broadcaster)),
      blocks_(blocks),
      options_(std::move(options)) {}

template <class Stream>
WebSocketSession<Stream>::~WebSocketSession() {
  broadcaster_->Leave(this);
}

template <class Stream>
void WebSocketSession<Stream>::Run(http::request<http::empty_body> request) {
  upgrade_request_ = std::move(request);
  OutboundStream<Stream>& outbound = ws_.next_layer();
  outbound.set_owner(this->weak_from_this());
  outbound.set_on_drained([this] { OnDrained(); });

  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = options_->handshake_timeout;
  timeouts.idle_timeout = options_->idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "ledgerd"); }));
  ws_.read_message_max(options_->max_client_message_bytes);
  // Join before looking at the store: a block committed after the look is
  // then certainly delivered live, and one committed before it is found in
  // the store. Joining before the upgrade completes means every block
  // committed after the client sees the upgrade response reaches it.
  joined_ = broadcaster_->Join(this, this->weak_from_this());
  if (subscription_.after_position) {
    // The resume point's own block comes from the store, without the
    // transactions up to the resume point (QueueMatchingFrames).
    next_height_ = subscription_.after_position->height;
  } else {
    next_height_ = subscription_.from_height.value_or(blocks_.LastHeight() + 1);
  }
  ws_.async_accept(upgrade_request_, beast::bind_front_handler(&WebSocketSession::OnAccept,
                                                               this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::Deliver(std::shared_ptr<const BlockEvents> block) {
  net::post(ws_.get_executor(),
            beast::bind_front_handler(&WebSocketSession::OnBlock, this->shared_from_this(),
                                      std::move(block)));
}

template <class Stream>
void WebSocketSession<Stream>::GoAway() {
  net::post(ws_.get_executor(),
            beast::bind_front_handler(&WebSocketSession::OnGoAway, this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::OnAccept(beast::error_code ec) {
  if (ec) {
    phase_ = Phase::kEnded;
    return Report(ec, "websocket upgrade");
  }
  upgrade_request_ = {};
  phase_ = Phase::kCatchingUp;
  DoRead();
  if (!joined_ || go_away_requested_) {
    return Close(websocket::close_code::going_away, "server going away");
  }
  Pump();
}

template <class Stream>
void WebSocketSession<Stream>::DoRead() {
  ws_.async_read(read_buffer_,
                 beast::bind_front_handler(&WebSocketSession::OnRead, this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::OnRead(beast::error_code ec, std::size_t) {
  if (ec) {
    // Beast has answered a close, refused an oversized message (1009), or
    // timed out a silent client; either way the session is over.
    phase_ = Phase::kEnded;
    live_queue_.clear();
    queued_messages_ = 0;
    return Report(ec, "read");
  }
  // Messages from clients carry no meaning: read and ignore them.
  read_buffer_.consume(read_buffer_.size());
  DoRead();
}

template <class Stream>
void WebSocketSession<Stream>::OnBlock(std::shared_ptr<const BlockEvents> block) {
  const int64_t height = block->height;
  known_tip_ = std::max(known_tip_, height);
  // Before and while catching up, the store has this block.
  if (phase_ != Phase::kLive) return;
  if (height < next_height_) return;  // already sent from the store
  if (height > next_height_) {
    // Blocks are delivered in order, so this cannot happen; if it did, the
    // store still has the missing blocks.
    phase_ = Phase::kCatchingUp;
    return Pump();
  }
  next_height_ = height + 1;
  const size_t matching = CountMatching(*block);
  if (matching == 0) return;
  if (queued_messages_ > 0 && queued_messages_ + matching > options_->max_queue_messages) {
    broadcaster_->counters().slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
    return Close(websocket::close_code::policy_error, "slow consumer");
  }
  live_queue_.push_back({std::move(block), matching});
  queued_messages_ += matching;
  Pump();
}

template <class Stream>
void WebSocketSession<Stream>::OnGoAway() {
  if (phase_ == Phase::kUpgrading) {
    go_away_requested_ = true;  // OnAccept closes once the upgrade is done
    return;
  }
  if (phase_ == Phase::kEnded) return;
  Close(websocket::close_code::going_away, "server going away");
}

template <class Stream>
void WebSocketSession<Stream>::OnDrained() {
  broadcaster_->counters().messages_sent.fetch_add(unconfirmed_messages_,
                                                   std::memory_order_relaxed);
  unconfirmed_messages_ = 0;
  Pump();
}

template <class Stream>
void WebSocketSession<Stream>::Pump() {
  if (phase_ == Phase::kUpgrading || phase_ == Phase::kEnded) return;
  if (!ws_.is_open() || !ws_.next_layer().drained()) return;  // OnDrained resumes
  if (!live_queue_.empty()) return WriteQueuedBlocks();
  if (phase_ == Phase::kCatchingUp) ReplayNextBlocks();
}

template <class Stream>
void WebSocketSession<Stream>::WriteQueuedBlocks() {
  size_t bytes = 0;
  do {
    QueuedBlock queued = std::move(live_queue_.front());
    live_queue_.pop_front();
    queued_messages_ -= queued.matching;
    bytes += QueueMatchingFrames(queued.block);
  } while (!live_queue_.empty() && bytes < kWriteBatchBytes);
  ws_.next_layer().Flush();
}

template <class Stream>
void WebSocketSession<Stream>::ReplayNextBlocks() {
  const int64_t tip = std::max(known_tip_, blocks_.LastHeight());
  size_t bytes = 0;
  for (int read = 0; next_height_ <= tip && bytes < kWriteBatchBytes && read < kReplayBlocksPerStep;
       ++read) {
    // A height without a block lies before the chain's initial height.
    const std::optional<ledger::CommittedBlock> block = blocks_.BlockAt(next_height_);
    ++next_height_;
    if (block) bytes += QueueMatchingFrames(EncodeBlock(*block));
  }
  // Every block up to `tip` is sent (or queued on the socket); the next one
  // is committed after this subscriber joined, so it arrives live.
  if (next_height_ > tip) phase_ = Phase::kLive;
  if (bytes > 0) {
    ws_.next_layer().Flush();
  } else if (phase_ == Phase::kCatchingUp) {
    net::post(ws_.get_executor(),
              beast::bind_front_handler(&WebSocketSession::Pump, this->shared_from_this()));
  }
}

template <class Stream>
size_t WebSocketSession<Stream>::QueueMatchingFrames(
    const std::shared_ptr<const BlockEvents>& block) {
  OutboundStream<Stream>& outbound = ws_.next_layer();
  const std::optional<TransactionPosition>& after = subscription_.after_position;
  const bool resumes_inside = after && after->height == block->height;
  size_t bytes = 0;
  for (const TransactionEvent& event : block->transactions) {
    if (resumes_inside && event.transaction.index <= after->index) continue;
    if (!subscription_.Matches(event.transaction)) continue;
    outbound.QueueFrame(block, net::buffer(event.frame));
    bytes += event.frame.size();
    ++unconfirmed_messages_;
    last_queued_event_ = &event;
  }
  if (bytes > 0) last_queued_block_ = block;
  return bytes;
}

template <class Stream>
size_t WebSocketSession<Stream>::CountMatching(const BlockEvents& block) const {
  if (subscription_.MatchesEverything()) return block.transactions.size();
  return std::count_if(
      block.transactions.begin(), block.transactions.end(),
      [this](const TransactionEvent& event) { return subscription_.Matches(event.transaction); });
}

template <class Stream>
int64_t WebSocketSession<Stream>::ResumeHeight() const {
  // Everything before the queue's head (or before next_height_) is queued on
  // the socket ahead of the close frame, so the client has it all if it sees
  // the close frame.
  return live_queue_.empty() ? next_height_ : live_queue_.front().block->height;
}

template <class Stream>
std::optional<std::string> WebSocketSession<Stream>::ResumeTransactionId() const {
  if (last_queued_event_ != nullptr) return last_queued_event_->transaction.id;
  return subscription_.after_transaction_id;
}

template <class Stream>
void WebSocketSession<Stream>::Close(websocket::close_code code, const std::string& reason_prefix) {
  // A close reason holds at most 123 bytes (RFC 6455 §5.5): room for the
  // prefix and a 64-digit id, not for the height beside it. The id is the
  // better resume point (no duplicates); the client can derive the height
  // from the last message it received.
  const std::optional<std::string> resume_id = ResumeTransactionId();
  const std::string reason =
      resume_id ? reason_prefix + "; resume with after_transaction_id=" + *resume_id
                : reason_prefix + "; resume with from_height=" + std::to_string(ResumeHeight());
  phase_ = Phase::kEnded;
  live_queue_.clear();
  queued_messages_ = 0;
  ws_.async_close(websocket::close_reason(code, reason),
                  beast::bind_front_handler(&WebSocketSession::OnClose, this->shared_from_this()));
}

template <class Stream>
void WebSocketSession<Stream>::OnClose(beast::error_code ec) {
  if (ec) Report(ec, "close");
}

template <class Stream>
void WebSocketSession<Stream>::Report(beast::error_code ec, const char* what) const {
  if (IsOrdinaryEnd(ec) || !options_->log) return;
  options_->log(std::string("event stream: ") + what + ": " + ec.message());
}

template class WebSocketSession<beast::tcp_stream>;
template class WebSocketSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace stream
