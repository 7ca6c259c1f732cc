// The WebSocket event stream (DESIGN.md §5): every valid committed
// transaction, one message each, to every subscriber of
// ws[s]://HOST:PORT/api/v1/streams/valid_transactions.
#ifndef STREAM_EVENT_STREAM_H_
#define STREAM_EVENT_STREAM_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/committed_block.h"

namespace ledger {
class BlockStore;
}  // namespace ledger

namespace stream {

// The one path the stream serves.
inline constexpr std::string_view kStreamPath = "/api/v1/streams/valid_transactions";

struct EventStreamOptions {
  // Where to listen; port 0 picks a free port (see EventStream::port()).
  std::string address = "127.0.0.1";
  uint16_t port = 9985;
  // Messages a live session may hold for a client that reads too slowly; one
  // more block closes it with 1008. A block is never split: one that alone
  // exceeds the bound is still accepted into an empty queue, so a client that
  // keeps reading is never closed because a block is big.
  size_t max_queue_messages = 10'000;
  // Subscribers at once; a further upgrade request is answered 503.
  size_t max_connections = 10'000;
  // A client that sends nothing (not even a pong) for half of this is
  // pinged, and closed when the whole time passes.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // Time allowed for the TLS handshake, the HTTP upgrade and the close
  // handshake.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);
  // Largest message accepted from a client; a larger one closes with 1009.
  size_t max_client_message_bytes = 16 * 1024;
  // PEM certificate chain and private key. Both set: wss:// only. Neither:
  // ws:// only.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // SO_SNDBUF of subscriber sockets, bounding the kernel memory a stalled
  // client can pin; 0 keeps the kernel's auto-tuning.
  int socket_send_buffer_bytes = 0;
  // Threads that run the sessions.
  int threads = 2;
  // How long Stop() waits for sessions to finish their close handshake.
  std::chrono::milliseconds stop_grace = std::chrono::seconds(5);
  // Receives one line per unexpected event (accept or session failures);
  // null discards them.
  std::function<void(std::string_view)> log;
};

// A snapshot of the stream's counters.
struct EventStreamCounters {
  uint64_t subscribers = 0;           // sessions now admitted
  uint64_t messages_sent = 0;         // messages written to sockets, ever
  uint64_t slow_consumer_closes = 0;  // sessions closed with 1008, ever
  uint64_t refused_connections = 0;   // upgrades answered 503, ever
};

// Serves the stream from its own threads. Register it with
// ledger::Application::AddObserver; it reads history for `from_height` and
// `after_transaction_id` resumes from `store` (blocks and the
// transaction-position index).
//
// Thread safety: OnBlockCommitted and counters() may be called from any
// thread at any time. Start and Stop must not be called concurrently with
// each other.
class EventStream : public ledger::BlockObserver {
 public:
  // `store` must outlive the EventStream.
  EventStream(const ledger::BlockStore& store, EventStreamOptions options);
  // Stops if still running.
  ~EventStream() override;

  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Loads the TLS certificate (if configured), binds, listens and starts the
  // threads. Returns false with `*error` (bad address, port in use,
  // unreadable certificate or key) and starts nothing. Call at most once.
  bool Start(std::string* error);

  // Stops accepting, closes every session with 1001 (going away) naming the
  // point to resume from (the last transaction sent, else a height), waits
  // up to `stop_grace` for the close handshakes, then stops the threads and
  // drops the connections still open. Idempotent; blocks committed afterwards
  // are ignored. Cannot be started again.
  void Stop();

  // The bound port once started (useful with port 0), else 0.
  uint16_t port() const;

  EventStreamCounters counters() const;

  // Encodes the block's messages once and hands them to every session
  // without waiting for any socket (it takes one uncontended lock, and the
  // fan-out itself runs on the stream's threads); returns at once. Ignored
  // unless running.
  void OnBlockCommitted(const ledger::CommittedBlock& block) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stream

#endif  // STREAM_EVENT_STREAM_H_
