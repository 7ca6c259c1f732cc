// Event stream fan-out load tool.
//
// Measures, on one machine:
//  1. resident memory per idle subscriber: the server's RSS before and after
//     --idle connections that subscribe and then stay silent;
//  2. fan-out: --subscribers connections receive --blocks blocks of
//     --block-txs CREATE transactions committed at --rate blocks per second
//     through a real Application + BlockStore (LevelDB in a temporary
//     directory); reports deliveries per second and commit-to-receive latency
//     (p50, p99, max) over every delivered message.
//
// The server (ledger + EventStream) and the clients run in two processes
// (fork), so that each side's memory and file descriptors are its own. Both
// raise RLIMIT_NOFILE to the hard limit. Commit times travel to the clients
// through a shared memory page: an observer registered before the
// EventStream stamps each height with CLOCK_MONOTONIC once its block is
// durable.
//
// Usage: stream_fanout [--subscribers=1000] [--block-txs=1000] [--blocks=10]
//                      [--rate=1] [--idle=10000] [--threads=2]
//                      [--client=frames|beast]
// --threads is the event stream's I/O threads. --client=frames (default)
// subscribers split the frames they read themselves, a few system calls for
// many messages, so that the figures measure the server; --client=beast ones
// read each message through a Beast websocket::stream, which on a 2-core
// machine makes the clients, not the server, the bottleneck.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/application.h"
#include "ledger/block_store.h"
#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction_builder.h"
#include "stream/event_stream.h"

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;

struct Config {
  int subscribers = 1000;
  int block_txs = 1000;
  int blocks = 10;
  double rate = 1.0;  // blocks per second
  int idle = 10000;
  int threads = 2;
  bool frame_client = true;  // --client=frames (default) or --client=beast
};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Memory shared by the two processes: commit time per height.
struct SharedClock {
  static constexpr int kMaxHeight = 1 << 16;
  std::atomic<int64_t> committed_at[kMaxHeight];
};

// Raises the open-file limit to the hard limit; returns the new soft limit.
rlim_t RaiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

long ResidentKiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// One line over a pipe.
void WriteLine(int fd, const std::string& line) {
  const std::string text = line + "\n";
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

// ---------------------------------------------------------------------------
// Client process: subscriber connections that read and time every message.

class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  struct Totals {
    uint64_t messages = 0;
    int64_t last_receive_ns = 0;
    std::vector<int32_t> latencies_us;  // empty for idle subscribers
    bool record = false;
    SharedClock* clock = nullptr;
    int connected = 0;
    int failed = 0;
    bool frame_client = true;
  };

  Subscriber(net::io_context& io_context, Totals* totals) : ws_(io_context), totals_(totals) {}

  // Connects, subscribes, and reads until closed.
  void Start(const net::ip::tcp::endpoint& endpoint) {
    beast::get_lowest_layer(ws_).async_connect(
        endpoint, [self = shared_from_this(), endpoint](beast::error_code ec) {
          if (ec) return self->Fail();
          self->ws_.async_handshake("127.0.0.1:" + std::to_string(endpoint.port()),
                                    "/api/v1/streams/valid_transactions",
                                    [self](beast::error_code handshake_ec) {
                                      if (handshake_ec) return self->Fail();
                                      ++self->totals_->connected;
                                      // Idle subscribers still keep a read pending, as any client
                                      // does, so that pings are answered.
                                      if (self->totals_->frame_client) {
                                        self->DoReadFrames();
                                      } else {
                                        self->DoRead();
                                      }
                                    });
        });
  }

  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  void Fail() { ++totals_->failed; }

  // The Beast client: one websocket::stream read per message.
  void DoRead() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      const auto data = self->buffer_.cdata();
      self->OnMessage(std::string_view(static_cast<const char*>(data.data()), data.size()),
                      NowNanos());
      self->buffer_.consume(self->buffer_.size());
      self->DoRead();
    });
  }

  // The frame client: reads whatever the socket holds and splits it into
  // RFC 6455 frames itself, so that a read costs one system call for many
  // messages and the server, not the client, is what the tool measures.
  // Reading the socket directly is sound because the server sends nothing
  // before the first block, which commits only once every subscriber has
  // finished its handshake: Beast's handshake buffer holds no frame bytes.
  void DoReadFrames() {
    if (frames_.size() - frames_filled_ < kFrameReadChunk) frames_.resize(frames_.size() * 2);
    beast::get_lowest_layer(ws_).socket().async_read_some(
        net::buffer(frames_.data() + frames_filled_, frames_.size() - frames_filled_),
        [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
          if (ec) return;
          self->frames_filled_ += bytes;
          if (self->SplitFrames(NowNanos())) self->DoReadFrames();
        });
  }

  // Consumes every whole frame in frames_; false once the server closed.
  bool SplitFrames(int64_t now) {
    size_t at = 0;
    while (frames_filled_ - at >= 2) {
      const auto* head = reinterpret_cast<const unsigned char*>(frames_.data() + at);
      const bool final_frame = head[0] & 0x80;
      const int opcode = head[0] & 0x0f;
      uint64_t length = head[1] & 0x7f;
      size_t header = 2;
      if (length == 126) header = 4;
      if (length == 127) header = 10;
      if (head[1] & 0x80) return false;  // a server never masks its frames
      if (frames_filled_ - at < header) break;
      if (header > 2) {
        length = 0;
        for (size_t i = 2; i < header; ++i) length = length << 8 | head[i];
      }
      if (frames_filled_ - at - header < length) break;
      const std::string_view payload(frames_.data() + at + header, length);
      at += header + length;
      if (opcode == 0x8) return false;  // close
      if (opcode == 0x9) {
        SendPong(payload);
      } else if (opcode == 0x1 || opcode == 0x0) {
        if (final_frame && fragments_.empty()) {
          OnMessage(payload, now);
        } else {
          fragments_.append(payload);
          if (final_frame) {
            OnMessage(fragments_, now);
            fragments_.clear();
          }
        }
      }
    }
    std::memmove(frames_.data(), frames_.data() + at, frames_filled_ - at);
    frames_filled_ -= at;
    return true;
  }

  // Answers a ping with a pong (masked with the zero key, as a client must
  // mask and may choose any key).
  void SendPong(std::string_view payload) {
    auto frame = std::make_shared<std::string>();
    frame->push_back(static_cast<char>(0x8A));
    frame->push_back(static_cast<char>(0x80 | payload.size()));  // control payloads are < 126
    frame->append(4, '\0');
    frame->append(payload);
    net::async_write(beast::get_lowest_layer(ws_).socket(), net::buffer(*frame),
                     [frame](beast::error_code, std::size_t) {});
  }

  void OnMessage(std::string_view message, int64_t now) {
    ++totals_->messages;
    totals_->last_receive_ns = now;
    if (totals_->record) {
      const size_t at = message.rfind("\"height\":");
      const int64_t height = std::strtoll(message.data() + at + 9, nullptr, 10);
      const int64_t committed = totals_->clock->committed_at[height].load();
      totals_->latencies_us.push_back(static_cast<int32_t>((now - committed) / 1000));
    }
  }

  static constexpr size_t kFrameReadChunk = 64 << 10;

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::vector<char> frames_ = std::vector<char>(2 * kFrameReadChunk);
  size_t frames_filled_ = 0;
  std::string fragments_;
  Totals* totals_;
};

// Runs `io_context` until `done` or `timeout`.
template <class Done>
bool RunUntil(net::io_context& io_context, Done done, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) {
    io_context.restart();
    io_context.run_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Opens `count` subscribers, at most 256 handshakes at a time.
std::vector<std::shared_ptr<Subscriber>> OpenSubscribers(net::io_context& io_context,
                                                         const net::ip::tcp::endpoint& endpoint,
                                                         int count, Subscriber::Totals* totals) {
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  totals->connected = totals->failed = 0;
  while (static_cast<int>(subscribers.size()) < count) {
    const int batch = std::min<int>(256, count - static_cast<int>(subscribers.size()));
    const int target = totals->connected + totals->failed + batch;
    for (int i = 0; i < batch; ++i) {
      subscribers.push_back(std::make_shared<Subscriber>(io_context, totals));
      subscribers.back()->Start(endpoint);
    }
    RunUntil(
        io_context, [&] { return totals->connected + totals->failed >= target; },
        std::chrono::seconds(60));
  }
  return subscribers;
}

int RunClients(int from_server, int to_server, SharedClock* clock, bool frame_client) {
  RaiseFileLimit();
  net::io_context io_context(1);
  const uint16_t port = static_cast<uint16_t>(std::stoi(ReadLine(from_server)));
  const net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  Subscriber::Totals totals;
  totals.clock = clock;
  totals.frame_client = frame_client;
  for (;;) {
    const std::string command = ReadLine(from_server);
    if (command.empty() || command == "quit") return 0;
    if (command.rfind("idle ", 0) == 0) {
      auto subscribers =
          OpenSubscribers(io_context, endpoint, std::stoi(command.substr(5)), &totals);
      WriteLine(to_server, std::to_string(totals.connected) + " " + std::to_string(totals.failed));
      ReadLine(from_server);  // "close"
      for (auto& subscriber : subscribers) subscriber->Close();
      RunUntil(
          io_context, [] { return false; }, std::chrono::seconds(1));
      subscribers.clear();
      WriteLine(to_server, "closed");
    } else if (command.rfind("fanout ", 0) == 0) {
      int count = 0;
      uint64_t expected = 0;
      std::sscanf(command.c_str(), "fanout %d %lu", &count, &expected);
      totals.record = true;
      totals.messages = 0;
      totals.latencies_us.reserve(expected);
      auto subscribers = OpenSubscribers(io_context, endpoint, count, &totals);
      WriteLine(to_server, std::to_string(totals.connected) + " " + std::to_string(totals.failed));
      RunUntil(
          io_context, [&] { return totals.messages >= expected; }, std::chrono::seconds(600));
      std::vector<int32_t>& latencies = totals.latencies_us;
      std::sort(latencies.begin(), latencies.end());
      auto percentile = [&](double p) {
        return latencies.empty() ? -1 : latencies[static_cast<size_t>(p * (latencies.size() - 1))];
      };
      WriteLine(to_server,
                std::to_string(totals.messages) + " " + std::to_string(totals.last_receive_ns) +
                    " " + std::to_string(percentile(0.5)) + " " + std::to_string(percentile(0.99)) +
                    " " + std::to_string(latencies.empty() ? -1 : latencies.back()));
      for (auto& subscriber : subscribers) subscriber->Close();
      RunUntil(
          io_context, [] { return false; }, std::chrono::seconds(1));
    }
  }
}

// ---------------------------------------------------------------------------
// Server process: the ledger and the event stream.

// Stamps each committed height; registered before the EventStream.
class CommitClock : public ledger::BlockObserver {
 public:
  explicit CommitClock(SharedClock* clock) : clock_(clock) {}
  void OnBlockCommitted(const ledger::CommittedBlock& block) override {
    clock_->committed_at[block.height].store(NowNanos());
  }

 private:
  SharedClock* clock_;
};

std::vector<std::vector<std::string>> SignBlocks(const Config& config) {
  const ledger::KeyPair owner = ledger::KeyPairFromSeed(std::string(32, '\x07'));
  const std::string key = ledger::PublicKeyBase58(owner);
  std::vector<std::vector<std::string>> blocks(config.blocks);
  uint64_t nonce = 0;
  for (auto& block : blocks) {
    for (int i = 0; i < config.block_txs; ++i) {
      ledger::JsonValue data = ledger::JsonValue::Object(
          {{"nonce", ledger::JsonValue::Number(std::to_string(nonce++))}});
      ledger::JsonValue tx =
          ledger::MakeCreate({key}, std::move(data), ledger::JsonValue::Null(), {{{key}, 1}});
      std::string error;
      if (!ledger::SignTransaction(&tx, {owner}, &error)) {
        std::fprintf(stderr, "signing failed: %s\n", error.c_str());
        std::exit(1);
      }
      block.push_back(ledger::CanonicalJson(tx));
    }
  }
  return blocks;
}

int RunServer(const Config& config, int to_clients, int from_clients, SharedClock* clock) {
  const rlim_t files = RaiseFileLimit();
  std::random_device random;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("stream-fanout-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  std::string error;
  auto store = ledger::BlockStore::Open(dir.string(), &error);
  if (!store) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  ledger::Application app(store.get());
  app.InitChain("fanout", 1, "[]", &error);

  stream::EventStreamOptions options;
  options.port = 0;
  options.threads = config.threads;
  options.max_connections = static_cast<size_t>(std::max(config.idle, config.subscribers)) + 16;
  options.log = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
  };
  stream::EventStream events(*store, options);
  CommitClock commit_clock(clock);
  app.AddObserver(&commit_clock);
  app.AddObserver(&events);
  if (!events.Start(&error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  WriteLine(to_clients, std::to_string(events.port()));
  std::printf("open-file limit: %lu\n", static_cast<unsigned long>(files));

  // 1. Idle subscribers.
  if (config.idle > 0) {
    const long before = ResidentKiB();
    WriteLine(to_clients, "idle " + std::to_string(config.idle));
    const std::string opened = ReadLine(from_clients);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (events.counters().subscribers < static_cast<uint64_t>(config.idle) &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // settle
    const long after = ResidentKiB();
    const uint64_t subscribers = events.counters().subscribers;
    std::printf(
        "idle: %lu subscribers (client: connected failed = %s); server RSS %ld KiB -> %ld KiB;"
        " %.2f KiB per idle subscriber\n",
        static_cast<unsigned long>(subscribers), opened.c_str(), before, after,
        subscribers ? double(after - before) / subscribers : 0.0);
    WriteLine(to_clients, "close");
    ReadLine(from_clients);
    while (events.counters().subscribers > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // 2. Fan-out.
  std::printf("signing %d blocks of %d transactions...\n", config.blocks, config.block_txs);
  std::fflush(stdout);
  const auto blocks = SignBlocks(config);
  // Mempool admission, as CheckTx does before a block: caches the stateless
  // checks (signatures) so that FinalizeBlock does only the stateful ones.
  for (const auto& block : blocks) {
    for (const std::string& tx : block) app.CheckTx(tx);
  }
  const uint64_t expected =
      uint64_t(config.subscribers) * uint64_t(config.blocks) * uint64_t(config.block_txs);
  WriteLine(to_clients,
            "fanout " + std::to_string(config.subscribers) + " " + std::to_string(expected));
  const std::string opened = ReadLine(from_clients);
  const uint64_t sent_before = events.counters().messages_sent;

  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / config.rate));
  const int64_t first_commit_ns = NowNanos();
  auto next = Clock::now();
  double commit_ms_total = 0;
  for (int i = 0; i < config.blocks; ++i) {
    std::this_thread::sleep_until(next);
    next += interval;
    const auto start = Clock::now();
    app.FinalizeBlock(i + 1, blocks[i]);
    if (!app.Commit(&error)) {
      std::fprintf(stderr, "commit: %s\n", error.c_str());
      return 1;
    }
    commit_ms_total += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }
  const std::string result = ReadLine(from_clients);
  uint64_t received = 0;
  int64_t last_receive_ns = 0;
  long p50 = 0, p99 = 0, max = 0;
  std::sscanf(result.c_str(), "%lu %ld %ld %ld %ld", &received, &last_receive_ns, &p50, &p99, &max);
  const double seconds = double(last_receive_ns - first_commit_ns) / 1e9;
  const auto counters = events.counters();
  std::printf(
      "fan-out: %d subscribers (%s client: connected failed = %s), %d blocks x %d txs at %.2f "
      "blocks/s\n"
      "  FinalizeBlock+Commit: %.1f ms per block (mean)\n"
      "  delivered %lu of %lu messages in %.2f s (first commit -> last receive): %.0f "
      "deliveries/s\n"
      "  commit->receive latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "  server counters: messages_sent +%lu, slow_consumer_closes %lu\n",
      config.subscribers, config.frame_client ? "frames" : "beast", opened.c_str(), config.blocks, config.block_txs, config.rate,
      commit_ms_total / config.blocks, static_cast<unsigned long>(received),
      static_cast<unsigned long>(expected), seconds, received / seconds, p50 / 1000.0, p99 / 1000.0,
      max / 1000.0, static_cast<unsigned long>(counters.messages_sent - sent_before),
      static_cast<unsigned long>(counters.slow_consumer_closes));
  WriteLine(to_clients, "quit");
  events.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

Config ParseArgs(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--subscribers")
      config.subscribers = std::stoi(value);
    else if (name == "--block-txs")
      config.block_txs = std::stoi(value);
    else if (name == "--blocks")
      config.blocks = std::stoi(value);
    else if (name == "--rate")
      config.rate = std::stod(value);
    else if (name == "--idle")
      config.idle = std::stoi(value);
    else if (name == "--threads")
      config.threads = std::stoi(value);
    else if (name == "--client" && (value == "frames" || value == "beast"))
      config.frame_client = value == "frames";
    else {
      std::fprintf(stderr,
                   "usage: %s [--subscribers=N] [--block-txs=K] [--blocks=B] [--rate=R] "
                   "[--idle=I] [--threads=T] [--client=frames|beast]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (config.blocks >= SharedClock::kMaxHeight) {
    std::fprintf(stderr, "--blocks must be below %d\n", SharedClock::kMaxHeight);
    std::exit(2);
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const Config config = ParseArgs(argc, argv);
  void* shared =
      mmap(nullptr, sizeof(SharedClock), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 1;
  auto* clock = new (shared) SharedClock();
  int to_clients[2], from_clients[2];
  if (pipe(to_clients) != 0 || pipe(from_clients) != 0) return 1;
  // Fork before any thread exists.
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    close(to_clients[1]);
    close(from_clients[0]);
    _exit(RunClients(to_clients[0], from_clients[1], clock, config.frame_client));
  }
  close(to_clients[0]);
  close(from_clients[1]);
  const int status = RunServer(config, to_clients[1], from_clients[0], clock);
  close(to_clients[1]);
  int child_status = 0;
  waitpid(child, &child_status, 0);
  return status;
}
