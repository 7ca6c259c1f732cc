// End-to-end load tool for ledgerd --dev: submit -> committed -> streamed.
//
// Pre-signs --txs transactions as chains (a CREATE followed by TRANSFERs of
// its output, each to the next of --keys keys; either --chain long, or with
// --transfers=P as many chains of one or two transactions as make P % of
// the transactions TRANSFERs), starts `ledgerd --dev` in a
// temporary directory (or targets a running node with --target), opens
// --subscribers WebSocket subscribers on the event stream, then posts the
// transactions over --connections keep-alive HTTP connections with
// ?mode=--mode. A TRANSFER is posted once its parent is committed (seen on
// the stream, or answered in mode=commit), since CheckTx validates against
// committed state. A 503 (mempool full) is retried after a short pause.
//
// Reports, one line per figure:
//   committed tx/s    valid transactions over the time until the last one
//                     was seen committed (on the stream by subscriber 0);
//   streamed tx/s     the same, until every subscriber had every one;
//   latency p50/p99   submit (request written) -> message received, over
//                     every subscriber's every message;
//   ledgerd CPU       user+system seconds of the ledgerd process per 1,000
//                     transactions, from /proc/<pid>/stat, over the run;
//   peak RSS          VmHWM of the ledgerd process from /proc/<pid>/status;
//   client CPU        this tool's own CPU per 1,000 transactions (it shares
//                     the machine with the node).
//
// The tool runs its network side on one thread so that it takes as little
// CPU from the node as it can; signing happens before the clock starts.
//
// Usage: ledgerd_load [--txs=20000] [--chain=4 | --transfers=P] [--keys=1000]
//                     [--connections=32] [--mode=async|sync|commit]
//                     [--subscribers=10] [--timeout=300]
//                     [--ledgerd=PATH] [--ledgerd-arg=ARG ...]
//                     [--target=HOST:PORT --ws-target=HOST:PORT --pid=PID]
//        ledgerd_load --help
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction_builder.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kStreamPath = "/api/v1/streams/valid_transactions";
constexpr auto kRetryPause = std::chrono::milliseconds(20);

struct Options {
  int txs = 20000;
  int chain = 4;  // transactions per chain: one CREATE, then TRANSFERs
  int transfer_percent = -1;  // if set: the share of TRANSFERs, chains of 1 or 2
  int keys = 1000;
  int connections = 32;
  std::string mode = "async";
  int subscribers = 10;
  int timeout_seconds = 300;
  std::string ledgerd;  // default: ledgerd beside this binary
  std::vector<std::string> ledgerd_args;
  std::string target;     // HOST:PORT of a running node's HTTP API
  std::string ws_target;  // HOST:PORT of its event stream
  int pid = 0;            // its process, for CPU and memory figures
};

const char kUsage[] =
    "usage: ledgerd_load [options]\n"
    "  --txs=N            transactions to submit (default 20000)\n"
    "  --chain=L          transactions per chain: a CREATE and L-1 TRANSFERs (default 4)\n"
    "  --transfers=P      instead of --chain: P % of the transactions are TRANSFERs\n"
    "                     (0-50), each spending a CREATE's output\n"
    "  --keys=K           key pairs the chains pass their assets between (default 1000)\n"
    "  --connections=C    concurrent keep-alive HTTP connections (default 32)\n"
    "  --mode=M           POST mode: async, sync or commit (default async)\n"
    "  --subscribers=S    WebSocket stream subscribers (default 10; at least 1 unless\n"
    "                     --mode=commit)\n"
    "  --timeout=SECONDS  give up after this long (default 300)\n"
    "  --ledgerd=PATH     the ledgerd binary to start (default: beside this tool)\n"
    "  --ledgerd-arg=ARG  one more argument for the started ledgerd (repeatable),\n"
    "                     e.g. --ledgerd-arg=--block-interval=100ms\n"
    "  --target=HOST:PORT     use a running ledgerd --dev instead (its HTTP API)\n"
    "  --ws-target=HOST:PORT  its event stream (default: HTTP port + 1)\n"
    "  --pid=PID              its process id, for the CPU and memory figures\n";

// ---------------------------------------------------------------------------
// The workload: chains of signed transactions.

struct Workload {
  std::vector<std::string> bodies;  // transaction JSON, as posted
  std::vector<std::string> ids;
  std::vector<int> child;           // the transaction spending output 0, or -1
  std::vector<int> roots;           // the CREATEs
  std::vector<int> chain_left;      // transactions from this one to its chain's end
  std::unordered_map<std::string, int> index_of_id;
};

std::string Sign(ledger::JsonValue tx, const ledger::KeyPair& key) {
  std::string error;
  if (!ledger::SignTransaction(&tx, {key}, &error)) {
    std::fprintf(stderr, "signing failed: %s\n", error.c_str());
    std::exit(1);
  }
  return ledger::CanonicalJson(tx);
}

// Signs every chain; chains are independent, so threads split them.
Workload MakeWorkload(const Options& options) {
  std::vector<ledger::KeyPair> keys;
  std::vector<std::string> public_keys;
  for (int k = 0; k < options.keys; ++k) {
    std::string seed(32, '\0');
    for (int b = 0; b < 4; ++b) seed[b] = static_cast<char>((k + 1) >> (8 * b));
    keys.push_back(ledger::KeyPairFromSeed(seed));
    public_keys.push_back(ledger::PublicKeyBase58(keys.back()));
  }
  // A new asset per run, so that runs against one store never collide.
  const std::string run = std::to_string(std::random_device{}()) + "-" +
                          std::to_string(Clock::now().time_since_epoch().count());

  Workload w;
  const int n = options.txs;
  // Where each chain starts; chain c covers [starts[c], starts[c + 1]).
  std::vector<int> starts;
  if (options.transfer_percent < 0) {
    for (int first = 0; first < n; first += options.chain) starts.push_back(first);
  } else {
    // T transfers spread evenly over the n - T chains.
    const long transfers = static_cast<long>(n) * options.transfer_percent / 100;
    const long creates = n - transfers;
    int first = 0;
    for (long c = 0; c < creates; ++c) {
      starts.push_back(first);
      first += 1 + static_cast<int>((c + 1) * transfers / creates - c * transfers / creates);
    }
  }
  starts.push_back(n);
  const int chains = static_cast<int>(starts.size()) - 1;
  w.bodies.resize(n);
  w.ids.resize(n);
  w.child.assign(n, -1);
  w.chain_left.assign(n, 0);
  auto sign_chain = [&](int c) {
    const int first = starts[c];
    const int last = starts[c + 1];
    int owner = c % options.keys;
    ledger::JsonValue data = ledger::JsonValue::Object(
        {{"chain", ledger::JsonValue::Number(std::to_string(c))},
         {"run", ledger::JsonValue::String(run)},
         {"kind", ledger::JsonValue::String("ledgerd_load")}});
    w.bodies[first] = Sign(ledger::MakeCreate({public_keys[owner]}, std::move(data),
                                              ledger::JsonValue::Null(),
                                              {{{public_keys[owner]}, 1}}),
                           keys[owner]);
    ledger::JsonValue parsed;
    (void)ledger::ParseJson(w.bodies[first], &parsed);
    w.ids[first] = parsed.Find("id")->text();
    const std::string asset = w.ids[first];
    for (int i = first + 1; i < last; ++i) {
      const int next = (owner + 1) % options.keys;
      w.bodies[i] =
          Sign(ledger::MakeTransfer({{w.ids[i - 1], 0, {public_keys[owner]}}}, asset,
                                    ledger::JsonValue::Null(), {{{public_keys[next]}, 1}}),
               keys[owner]);
      (void)ledger::ParseJson(w.bodies[i], &parsed);
      w.ids[i] = parsed.Find("id")->text();
      w.child[i - 1] = i;
      owner = next;
    }
    for (int i = first; i < last; ++i) w.chain_left[i] = last - i;
  };
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int c = t; c < chains; c += threads) sign_chain(c);
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (int c = 0; c < chains; ++c) w.roots.push_back(starts[c]);
  w.index_of_id.reserve(n);
  for (int i = 0; i < n; ++i) w.index_of_id.emplace(w.ids[i], i);
  return w;
}

// ---------------------------------------------------------------------------
// The ledgerd process.

// User+system CPU seconds of `pid` so far; -1 if unreadable.
double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // The command name may hold spaces; the fields after its ')' are fixed.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Peak resident set (VmHWM) of `pid` in KiB; -1 if unreadable.
long PeakRssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

uint16_t FreePort() {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

bool Reachable(const std::string& host, uint16_t port) {
  net::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address(host), port), ec);
  return !ec;
}

// A ledgerd --dev started for the run, stopped (SIGTERM) and its data
// removed on destruction.
class NodeProcess {
 public:
  NodeProcess(const Options& options, uint16_t http_port, uint16_t ws_port) {
    dir_ = std::filesystem::temp_directory_path() /
           ("ledgerd-load-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> args = {options.ledgerd,
                                     "--dev",
                                     "--data-dir=" + (dir_ / "data").string(),
                                     "--http-addr=127.0.0.1:" + std::to_string(http_port),
                                     "--ws-addr=127.0.0.1:" + std::to_string(ws_port),
                                     "--log-level=warn"};
    args.insert(args.end(), options.ledgerd_args.begin(), options.ledgerd_args.end());
    const std::string log = (dir_ / "ledgerd.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen(log.c_str(), "w", stdout) == nullptr) _exit(127);
      dup2(fileno(stdout), fileno(stderr));
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 300 && !Reachable("127.0.0.1", http_port); ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        std::fprintf(stderr, "ledgerd exited at start; its log (%s):\n", log.c_str());
        std::ifstream in(log);
        std::fprintf(stderr, "%s", std::string(std::istreambuf_iterator<char>(in), {}).c_str());
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~NodeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  int pid() const { return pid_; }

 private:
  std::filesystem::path dir_;
  int pid_ = 0;
};

// ---------------------------------------------------------------------------
// The run: posters, subscribers and what they measure. Everything runs on
// one io_context thread, so the shared state needs no lock.

class Run;

class Poster : public std::enable_shared_from_this<Poster> {
 public:
  Poster(net::io_context& io, Run* run) : stream_(io), run_(run) {}
  void Start(const tcp::endpoint& endpoint);
  // Takes the next ready transaction, or parks until one is ready.
  void Next();

 private:
  void OnConnect(beast::error_code ec);
  void OnWrite(beast::error_code ec, size_t);
  void OnRead(beast::error_code ec, size_t);

  beast::tcp_stream stream_;
  Run* run_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  int current_ = -1;
};

class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(net::io_context& io, Run* run, int number) : ws_(io), run_(run), number_(number) {}
  void Start(const tcp::endpoint& endpoint, const std::string& host);
  size_t received() const { return received_; }
  Clock::time_point last_message() const { return last_message_; }
  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  void Read();
  void OnRead(beast::error_code ec, size_t);

  websocket::stream<beast::tcp_stream> ws_;
  Run* run_;
  const int number_;
  std::string host_;
  beast::flat_buffer buffer_;
  size_t received_ = 0;
  Clock::time_point last_message_;
};

class Run {
 public:
  Run(net::io_context& io, const Options& options, const Workload& workload)
      : io_(io),
        options_(options),
        w_(workload),
        submitted_at_(workload.bodies.size()),
        expected_(workload.bodies.size()),
        timeout_(io) {}

  const Options& options() const { return options_; }
  const Workload& workload() const { return w_; }
  net::io_context& io() { return io_; }
  std::string target_path() const { return "/api/v1/transactions?mode=" + options_.mode; }

  void Start(const tcp::endpoint& http, const tcp::endpoint& ws, const std::string& ws_host) {
    http_ = http;
    for (int s = 0; s < options_.subscribers; ++s) {
      subscribers_.push_back(std::make_shared<Subscriber>(io_, this, s));
      subscribers_.back()->Start(ws, ws_host);
    }
    if (options_.subscribers == 0) StartPosting();
    timeout_.expires_after(std::chrono::seconds(options_.timeout_seconds));
    timeout_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      timed_out_ = true;
      Finish();
    });
  }

  // A subscriber completed its handshake; posting starts once all have.
  void OnSubscribed() {
    if (++subscribed_ == options_.subscribers) StartPosting();
  }

  bool TakeReady(int* index, const std::shared_ptr<Poster>& poster) {
    if (finished_) return false;
    if (ready_.empty()) {
      idle_.push_back(poster);
      return false;
    }
    *index = ready_.front();
    ready_.pop_front();
    submitted_at_[*index] = Clock::now();
    return true;
  }

  void MakeReady(int index) {
    ready_.push_back(index);
    if (!idle_.empty()) {
      std::shared_ptr<Poster> poster = std::move(idle_.back());
      idle_.pop_back();
      net::post(io_, [poster] { poster->Next(); });
    }
  }

  void OnAnswer(int index, unsigned status) {
    if (status == 202) {
      ++accepted_;
      if (options_.mode == "commit") OnCommitted(index);
      return;
    }
    if (status == 503) {
      ++retried_;
      auto timer = std::make_shared<net::steady_timer>(io_, kRetryPause);
      timer->async_wait([this, timer, index](beast::error_code) { MakeReady(index); });
      return;
    }
    // Refused for good: neither it nor the rest of its chain will commit.
    ++refused_;
    if (refused_ <= 3) {
      std::fprintf(stderr, "refused (%u): transaction %d\n", status, index);
    }
    expected_ -= static_cast<size_t>(w_.chain_left[index]);
    CheckDone();
  }

  void OnCommitted(int index) {
    ++committed_;
    last_commit_ = Clock::now();
    if (w_.child[index] >= 0) MakeReady(w_.child[index]);
    CheckDone();
  }

  // A stream message for transaction `index` reached subscriber `number`.
  void OnStreamed(int number, int index) {
    latencies_ms_.push_back(std::chrono::duration<float, std::milli>(Clock::now() -
                                                                     submitted_at_[index])
                                .count());
    // Subscriber 0 tells when a transaction committed (in mode commit the
    // answer does).
    if (number == 0 && options_.mode != "commit") OnCommitted(index);
    CheckDone();
  }

  void OnSubscriberFailed(const std::string& what) {
    std::fprintf(stderr, "subscriber: %s\n", what.c_str());
    ++subscriber_failures_;
    Finish();
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    end_ = Clock::now();
    timeout_.cancel();
    for (auto& subscriber : subscribers_) subscriber->Close();
    io_.stop();
  }

  // The figures, one per line.
  void Report(double node_cpu_seconds, long peak_rss_kib, double client_cpu_seconds) const;

  Clock::time_point start() const { return start_; }

 private:
  void StartPosting() {
    start_ = Clock::now();
    for (int root : w_.roots) ready_.push_back(root);
    for (int c = 0; c < options_.connections; ++c) {
      auto poster = std::make_shared<Poster>(io_, this);
      posters_.push_back(poster);
      poster->Start(http_);
    }
  }

  void CheckDone() {
    if (committed_ < expected_) return;
    for (const auto& subscriber : subscribers_) {
      if (subscriber->received() < expected_) return;
    }
    Finish();
  }

  net::io_context& io_;
  const Options& options_;
  const Workload& w_;
  tcp::endpoint http_;
  std::vector<Clock::time_point> submitted_at_;
  std::deque<int> ready_;
  std::vector<std::shared_ptr<Poster>> idle_;
  std::vector<std::shared_ptr<Poster>> posters_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::vector<float> latencies_ms_;
  size_t expected_;
  size_t accepted_ = 0;
  size_t committed_ = 0;
  size_t retried_ = 0;
  size_t refused_ = 0;
  int subscribed_ = 0;
  int subscriber_failures_ = 0;
  bool finished_ = false;
  bool timed_out_ = false;
  Clock::time_point start_;
  Clock::time_point last_commit_;
  Clock::time_point end_;
  net::steady_timer timeout_;
};

void Poster::Start(const tcp::endpoint& endpoint) {
  stream_.async_connect(endpoint,
                        beast::bind_front_handler(&Poster::OnConnect, shared_from_this()));
}

void Poster::OnConnect(beast::error_code ec) {
  if (ec) {
    std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
    return;
  }
  stream_.socket().set_option(tcp::no_delay(true));
  request_.method(http::verb::post);
  request_.target(run_->target_path());
  request_.version(11);
  request_.set(http::field::host, "127.0.0.1");
  request_.set(http::field::content_type, "application/json");
  request_.keep_alive(true);
  Next();
}

void Poster::Next() {
  if (!run_->TakeReady(&current_, shared_from_this())) return;
  request_.body() = run_->workload().bodies[current_];
  request_.prepare_payload();
  http::async_write(stream_, request_,
                    beast::bind_front_handler(&Poster::OnWrite, shared_from_this()));
}

void Poster::OnWrite(beast::error_code ec, size_t) {
  if (ec) {
    std::fprintf(stderr, "write: %s\n", ec.message().c_str());
    return;
  }
  response_ = {};
  http::async_read(stream_, buffer_, response_,
                   beast::bind_front_handler(&Poster::OnRead, shared_from_this()));
}

void Poster::OnRead(beast::error_code ec, size_t) {
  if (ec) {
    std::fprintf(stderr, "read: %s\n", ec.message().c_str());
    return;
  }
  const unsigned status = response_.result_int();
  if (status != 202 && status != 503) {
    std::fprintf(stderr, "HTTP %u: %.300s\n", status, response_.body().c_str());
  }
  run_->OnAnswer(current_, status);
  Next();
}

void Subscriber::Start(const tcp::endpoint& endpoint, const std::string& host) {
  host_ = host + ":" + std::to_string(endpoint.port());
  beast::get_lowest_layer(ws_).async_connect(
      endpoint, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->run_->OnSubscriberFailed("connect: " + ec.message());
        beast::get_lowest_layer(self->ws_).expires_never();
        self->ws_.set_option(
            websocket::stream_base::timeout::suggested(beast::role_type::client));
        self->ws_.async_handshake(self->host_, std::string(kStreamPath),
                                  [self](beast::error_code handshake_ec) {
                                    if (handshake_ec) {
                                      return self->run_->OnSubscriberFailed(
                                          "handshake: " + handshake_ec.message());
                                    }
                                    self->run_->OnSubscribed();
                                    self->Read();
                                  });
      });
}

void Subscriber::Read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&Subscriber::OnRead, shared_from_this()));
}

void Subscriber::OnRead(beast::error_code ec, size_t) {
  if (ec) {
    if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor) {
      run_->OnSubscriberFailed("read: " + ec.message());
    }
    return;
  }
  // {"transaction_id":"<64 hex>",...}: find the id without a JSON parse.
  const std::string_view message(static_cast<const char*>(buffer_.data().data()),
                                 buffer_.size());
  constexpr std::string_view kKey = R"("transaction_id":")";
  const size_t at = message.find(kKey);
  if (at != std::string_view::npos && message.size() >= at + kKey.size() + 64) {
    const std::string id(message.substr(at + kKey.size(), 64));
    auto it = run_->workload().index_of_id.find(id);
    if (it != run_->workload().index_of_id.end()) {
      ++received_;
      last_message_ = Clock::now();
      run_->OnStreamed(number_, it->second);
    }
  }
  buffer_.consume(buffer_.size());
  Read();
}

double Percentile(std::vector<float> values, double fraction) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}

void Run::Report(double node_cpu_seconds, long peak_rss_kib, double client_cpu_seconds) const {
  auto seconds = [this](Clock::time_point t) {
    return std::chrono::duration<double>(t - start_).count();
  };
  Clock::time_point all_streamed = start_;
  size_t streamed_everywhere = committed_;
  for (const auto& subscriber : subscribers_) {
    all_streamed = std::max(all_streamed, subscriber->last_message());
    streamed_everywhere = std::min(streamed_everywhere, subscriber->received());
  }
  const size_t n = w_.bodies.size();
  const std::string shape = options_.transfer_percent < 0
                                ? "chain=" + std::to_string(options_.chain)
                                : "transfers=" + std::to_string(options_.transfer_percent) + "%";
  std::printf("load.config txs=%zu %s keys=%d mode=%s connections=%d subscribers=%d\n", n,
              shape.c_str(), options_.keys, options_.mode.c_str(), options_.connections,
              options_.subscribers);
  std::printf("load.outcome committed=%zu refused=%zu retried_503=%zu%s%s\n", committed_,
              refused_, retried_, timed_out_ ? " TIMED-OUT" : "",
              subscriber_failures_ ? " SUBSCRIBER-FAILED" : "");
  std::printf("load.committed_tx_per_s %.0f\n",
              committed_ / std::max(1e-9, seconds(last_commit_)));
  if (!subscribers_.empty()) {
    std::printf("load.streamed_tx_per_s %.0f\n",
                streamed_everywhere / std::max(1e-9, seconds(all_streamed)));
    std::printf("load.latency_p50_ms %.1f\n", Percentile(latencies_ms_, 0.50));
    std::printf("load.latency_p99_ms %.1f\n", Percentile(latencies_ms_, 0.99));
  }
  const double per_thousand = 1000.0 / std::max<size_t>(1, committed_);
  if (node_cpu_seconds >= 0) {
    std::printf("load.ledgerd_cpu_s_per_1000_tx %.3f\n", node_cpu_seconds * per_thousand);
  }
  if (peak_rss_kib >= 0) std::printf("load.ledgerd_peak_rss_mib %.1f\n", peak_rss_kib / 1024.0);
  std::printf("load.client_cpu_s_per_1000_tx %.3f\n", client_cpu_seconds * per_thousand);
  std::printf("load.wall_s %.2f\n", std::chrono::duration<double>(end_ - start_).count());
}

bool ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1));
  return *port != 0;
}

bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    if (eq == std::string::npos) {
      std::fprintf(stderr, "%s needs a value (--name=value)\n%s", arg.c_str(), kUsage);
      return false;
    }
    const std::string value = arg.substr(eq + 1);
    auto number = [&](int* out, int min) {
      *out = std::atoi(value.c_str());
      return *out >= min;
    };
    bool ok = true;
    if (name == "--txs") ok = number(&options->txs, 1);
    else if (name == "--chain") ok = number(&options->chain, 1);
    else if (name == "--transfers") {
      ok = number(&options->transfer_percent, 0) && options->transfer_percent <= 50;
    } else if (name == "--keys") ok = number(&options->keys, 1);
    else if (name == "--connections") ok = number(&options->connections, 1);
    else if (name == "--subscribers") ok = number(&options->subscribers, 0);
    else if (name == "--timeout") ok = number(&options->timeout_seconds, 1);
    else if (name == "--pid") ok = number(&options->pid, 1);
    else if (name == "--mode") {
      options->mode = value;
      ok = value == "async" || value == "sync" || value == "commit";
    } else if (name == "--ledgerd") options->ledgerd = value;
    else if (name == "--ledgerd-arg") options->ledgerd_args.push_back(value);
    else if (name == "--target") options->target = value;
    else if (name == "--ws-target") options->ws_target = value;
    else ok = false;
    if (!ok) {
      std::fprintf(stderr, "bad option %s\n%s", arg.c_str(), kUsage);
      return false;
    }
  }
  if (options->subscribers == 0 && options->mode != "commit") {
    std::fprintf(stderr, "--subscribers=0 needs --mode=commit (the stream tells commits)\n");
    return false;
  }
  if (options->ledgerd.empty()) {
    options->ledgerd = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "ledgerd")
                           .string();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) return 2;
  signal(SIGPIPE, SIG_IGN);

  const auto sign_started = Clock::now();
  Workload workload = MakeWorkload(options);
  std::fprintf(stderr, "signed %d transactions in %.1f s\n", options.txs,
               std::chrono::duration<double>(Clock::now() - sign_started).count());

  std::string http_host = "127.0.0.1", ws_host = "127.0.0.1";
  uint16_t http_port = 0, ws_port = 0;
  std::unique_ptr<NodeProcess> node;
  int pid = options.pid;
  if (options.target.empty()) {
    http_port = FreePort();
    ws_port = FreePort();
    node = std::make_unique<NodeProcess>(options, http_port, ws_port);
    if (node->pid() <= 0) return 1;
    pid = node->pid();
  } else {
    if (!ParseHostPort(options.target, &http_host, &http_port)) {
      std::fprintf(stderr, "--target must be HOST:PORT\n");
      return 2;
    }
    ws_host = http_host;
    ws_port = static_cast<uint16_t>(http_port + 1);
    if (!options.ws_target.empty() && !ParseHostPort(options.ws_target, &ws_host, &ws_port)) {
      std::fprintf(stderr, "--ws-target must be HOST:PORT\n");
      return 2;
    }
  }

  net::io_context io(1);
  Run run(io, options, workload);
  const tcp::endpoint http_endpoint(net::ip::make_address(http_host), http_port);
  const tcp::endpoint ws_endpoint(net::ip::make_address(ws_host), ws_port);
  const double node_cpu_before = pid > 0 ? ProcessCpuSeconds(pid) : -1;
  const double client_cpu_before = OwnCpuSeconds();
  run.Start(http_endpoint, ws_endpoint, ws_host);
  io.run();
  const double node_cpu = pid > 0 ? ProcessCpuSeconds(pid) - node_cpu_before : -1;
  const double client_cpu = OwnCpuSeconds() - client_cpu_before;
  run.Report(node_cpu, pid > 0 ? PeakRssKib(pid) : -1, client_cpu);
  return 0;
}
