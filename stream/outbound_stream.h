// The layer under a session's websocket::stream that owns the way out.
//
// Beast writes one message per operation; sending a block of K transactions
// to S subscribers that way costs K*S write operations. Instead, a session
// queues its block's pre-built frames here (bytes shared by every session)
// and they leave in one gathered write. Beast's own output — the handshake
// response, pongs, pings, close frames — is queued the same way, so every
// byte reaches the socket in the order it was produced and exactly one write
// is in flight at any time. Reads pass straight through.
//
// Data frames queued by the session must be complete, unmasked frames, and
// no extension (permessage-deflate) may be negotiated on the stream above.
//
// Thread safety: not thread-safe. Use only on the strand of the session that
// owns it (the executor of the next layer).
#ifndef STREAM_OUTBOUND_STREAM_H_
#define STREAM_OUTBOUND_STREAM_H_

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stream {

namespace beast = boost::beast;
namespace net = boost::asio;

template <class NextLayer>
class OutboundStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  explicit OutboundStream(NextLayer&& next_layer)
      : next_layer_(std::move(next_layer)), drained_signal_(next_layer_.get_executor()) {
    drained_signal_.expires_at(net::steady_timer::time_point::max());
  }

  executor_type get_executor() noexcept { return next_layer_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_layer_; }
  const NextLayer& next_layer() const noexcept { return next_layer_; }

  // `owner` (the session holding this stream) is kept alive while a write is
  // in flight. Must be set before anything is written.
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  // `on_drained` runs on the strand each time a write completes successfully
  // and nothing else is queued.
  void set_on_drained(std::function<void()> on_drained) { on_drained_ = std::move(on_drained); }

  // True when nothing is queued and no write is in flight.
  bool drained() const { return !write_in_flight_ && queued_.frames.empty(); }

  // Queues `frame` behind everything queued so far and keeps `bytes_owner`
  // (whatever holds the frame's bytes) alive until the frame is written.
  // Nothing is written until Flush(). Frames queued after a write failed are
  // discarded.
  template <class BytesOwner>
  void QueueFrame(const std::shared_ptr<BytesOwner>& bytes_owner, net::const_buffer frame) {
    if (failure_) return;
    if (queued_.owners.empty() || queued_.owners.back().get() != bytes_owner.get()) {
      queued_.owners.push_back(bytes_owner);
    }
    queued_.frames.push_back(frame);
  }

  // Starts writing everything queued, unless a write is in flight: then the
  // queue follows as soon as that write completes.
  void Flush() {
    if (write_in_flight_ || queued_.frames.empty() || failure_) return;
    std::shared_ptr<void> owner = owner_.lock();
    if (!owner) return;  // the session is being destroyed; nobody to write for
    std::swap(queued_, writing_);
    write_in_flight_ = true;
    net::async_write(
        next_layer_, writing_.frames,
        [this, owner = std::move(owner)](beast::error_code ec, std::size_t) { OnWritten(ec); });
  }

  // Completes (never inline) with no error once everything queued so far has
  // been written, or once a write has failed.
  template <class Handler>
  void AsyncWaitDrained(Handler&& handler) {
    if (drained() || failure_) {
      net::post(get_executor(),
                beast::bind_front_handler(std::forward<Handler>(handler), beast::error_code()));
      return;
    }
    drained_signal_.async_wait(
        [handler = std::forward<Handler>(handler)](beast::error_code) mutable {
          std::move(handler)(beast::error_code());
        });
  }

  // AsyncReadStream: reads from the next layer.
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return next_layer_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // AsyncWriteStream, for Beast's own output: copies the bytes into the queue,
  // starts the write, and completes at once (posted) with every byte
  // accepted. Fails with the error of an earlier failed write.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return net::async_initiate<WriteToken, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& source) {
          std::size_t accepted = 0;
          if (!failure_) {
            auto copy = std::make_shared<std::string>(beast::buffer_bytes(source), '\0');
            accepted = net::buffer_copy(net::buffer(*copy), source);
            QueueFrame(copy, net::buffer(*copy));
            Flush();
          }
          net::post(get_executor(),
                    beast::bind_front_handler(std::move(handler), failure_, accepted));
        },
        token, buffers);
  }

 private:
  struct Batch {
    std::vector<net::const_buffer> frames;
    std::vector<std::shared_ptr<const void>> owners;
  };

  void OnWritten(beast::error_code ec) {
    write_in_flight_ = false;
    writing_.frames.clear();
    writing_.owners.clear();
    if (ec) {
      failure_ = ec;
      queued_.frames.clear();
      queued_.owners.clear();
      // Make sure the session's pending read ends too.
      beast::close_socket(beast::get_lowest_layer(next_layer_));
      drained_signal_.cancel();
      return;
    }
    if (!queued_.frames.empty()) {
      Flush();
      return;
    }
    drained_signal_.cancel();
    if (on_drained_) on_drained_();
  }

  NextLayer next_layer_;
  Batch queued_;
  Batch writing_;
  bool write_in_flight_ = false;
  beast::error_code failure_;
  std::weak_ptr<void> owner_;
  std::function<void()> on_drained_;
  net::steady_timer drained_signal_;  // never expires; cancelled when drained
};

// The closing handshake's last step, found by Beast through argument-dependent
// lookup: lets the queued output (the close frame above all) reach the
// socket, then tears down the next layer.
template <class NextLayer, class TeardownHandler>
void async_teardown(beast::role_type role, OutboundStream<NextLayer>& outbound,
                    TeardownHandler&& handler) {
  outbound.AsyncWaitDrained([role, &outbound, handler = std::forward<TeardownHandler>(handler)](
                                beast::error_code) mutable {
    using beast::websocket::async_teardown;
    async_teardown(role, outbound.next_layer(), std::move(handler));
  });
}

}  // namespace stream

#endif  // STREAM_OUTBOUND_STREAM_H_
