#include "stream/event_stream.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/block_store.h"
#include "stream/block_events.h"
#include "stream/broadcaster.h"
#include "stream/listener.h"
#include "stream/subscription.h"

namespace stream {
namespace {

namespace net = boost::asio;

// A TLS server context from PEM files; nullopt with `*error` if either
// cannot be loaded or they do not match.
std::optional<net::ssl::context> LoadTlsContext(const EventStreamOptions& options,
                                                std::string* error) {
  net::ssl::context context(net::ssl::context::tls_server);
  context.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  context.use_certificate_chain_file(options.tls_certificate_file, ec);
  if (ec) {
    *error = "cannot load TLS certificate " + options.tls_certificate_file + ": " + ec.message();
    return std::nullopt;
  }
  context.use_private_key_file(options.tls_private_key_file, net::ssl::context::pem, ec);
  if (ec) {
    *error = "cannot load TLS private key " + options.tls_private_key_file + ": " + ec.message();
    return std::nullopt;
  }
  return context;
}

}  // namespace

struct EventStream::Impl {
  Impl(const ledger::BlockStore& store, EventStreamOptions stream_options)
      : blocks(store),
        locate([&store](std::string_view id) -> std::optional<TransactionPosition> {
          const std::optional<ledger::TransactionLocation> location = store.LocateTransaction(id);
          if (!location) return std::nullopt;
          return TransactionPosition{location->height, location->index};
        }),
        options(std::make_shared<const EventStreamOptions>(std::move(stream_options))),
        counters(std::make_shared<Counters>()),
        io_context(std::make_unique<net::io_context>(std::max(1, options->threads))),
        broadcaster(std::make_shared<Broadcaster>(io_context->get_executor(),
                                                  options->max_connections, counters)) {}

  const ledger::CommittedBlockSource& blocks;
  const TransactionLocator locate;
  const std::shared_ptr<const EventStreamOptions> options;
  // Outlives the broadcaster, so counters() works after Stop.
  const std::shared_ptr<Counters> counters;
  // Declared before the io_context: connections still queued in it when it
  // is destroyed use the TLS context on their way out.
  std::optional<net::ssl::context> tls;
  std::unique_ptr<net::io_context> io_context;
  // Shared with the sessions; declared after the io_context so that it is
  // released first (its strand must die before the io_context's services).
  std::shared_ptr<Broadcaster> broadcaster;
  std::shared_ptr<Listener> listener;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  // Held while publishing, so that Stop never tears down under a publish.
  std::mutex publish_mutex;
  bool running = false;  // guarded by publish_mutex
  uint16_t port = 0;
};

EventStream::EventStream(const ledger::BlockStore& store, EventStreamOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}

EventStream::~EventStream() { Stop(); }

bool EventStream::Start(std::string* error) {
  if (!impl_->threads.empty()) {
    *error = "the event stream was already started";
    return false;
  }
  const EventStreamOptions& options = *impl_->options;
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    *error = "invalid event stream address '" + options.address + "': " + ec.message();
    return false;
  }
  const bool has_certificate = !options.tls_certificate_file.empty();
  const bool has_key = !options.tls_private_key_file.empty();
  if (has_certificate != has_key) {
    *error = "wss:// needs both a TLS certificate file and a private key file";
    return false;
  }
  if (has_certificate) {
    impl_->tls = LoadTlsContext(options, error);
    if (!impl_->tls) return false;
  }
  auto listener =
      std::make_shared<Listener>(*impl_->io_context, impl_->tls ? &*impl_->tls : nullptr,
                                 impl_->broadcaster, impl_->blocks, impl_->locate, impl_->options);
  if (!listener->Open(net::ip::tcp::endpoint(address, options.port), error)) return false;
  impl_->port = listener->local_endpoint().port();
  impl_->listener = std::move(listener);
  impl_->listener->Run();
  impl_->work.emplace(impl_->io_context->get_executor());
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io_context->run(); });
  }
  std::lock_guard lock(impl_->publish_mutex);
  impl_->running = true;
  return true;
}

void EventStream::Stop() {
  {
    std::lock_guard lock(impl_->publish_mutex);
    if (!impl_->running) return;
    impl_->running = false;
  }
  impl_->listener->Close();
  impl_->broadcaster->GoAwayAll();
  impl_->broadcaster->WaitUntilEmpty(impl_->options->stop_grace);
  impl_->work.reset();
  impl_->io_context->stop();
  for (std::thread& thread : impl_->threads) thread.join();
  // Destroying the io_context destroys what is still queued in it: the
  // connections that did not finish closing within the grace period (and
  // any still in their HTTP phase) are dropped here, and the last of them
  // releases the broadcaster while the io_context's services still exist.
  impl_->listener.reset();
  impl_->broadcaster.reset();
  impl_->io_context.reset();
}

uint16_t EventStream::port() const { return impl_->port; }

EventStreamCounters EventStream::counters() const {
  const Counters& counters = *impl_->counters;
  EventStreamCounters snapshot;
  snapshot.subscribers = counters.subscribers.load(std::memory_order_relaxed);
  snapshot.messages_sent = counters.messages_sent.load(std::memory_order_relaxed);
  snapshot.slow_consumer_closes = counters.slow_consumer_closes.load(std::memory_order_relaxed);
  snapshot.refused_connections = counters.refused_connections.load(std::memory_order_relaxed);
  return snapshot;
}

void EventStream::OnBlockCommitted(const ledger::CommittedBlock& block) {
  std::shared_ptr<const BlockEvents> events = EncodeBlock(block);
  std::lock_guard lock(impl_->publish_mutex);
  if (impl_->running) impl_->broadcaster->Publish(std::move(events));
}

}  // namespace stream
