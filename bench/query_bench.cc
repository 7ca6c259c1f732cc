// Query latency of ledgerd's HTTP API as the ledger grows.
//
// Writes blocks straight through BlockStore (no HTTP, no signatures: the
// transactions are shaped and sized like the load tool's, with placeholder
// fulfillments, and nothing validates them on this path) until the ledger
// holds each checkpoint's count of transactions, then starts
// `ledgerd --dev` on that store, waits until its LevelDB compactions have
// settled (the node idle for a second), and times, one request at a time
// over one keep-alive connection, the three kinds taking turns:
//   GET /api/v1/transactions/{id}           a random committed transaction;
//   GET /api/v1/outputs?public_key=K        a random owner's outputs;
//   GET /api/v1/transactions?asset_id=A     a random asset's transactions.
// The ledger is chains of a CREATE and three TRANSFERs, each to a new key,
// so that every owner and asset has a handful of entries however large the
// ledger grows (what "flat" is measured against).
//
// Prints one line per checkpoint and query: p50, p99 and max in ms.
//
// Usage: ledgerd_query_bench [--checkpoints=100000,1000000] [--queries=2000]
//                            [--ledgerd=PATH] [--dir=PATH]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/block_store.h"
#include "ledger/crypto.h"
#include "ledger/transaction_builder.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr int kChain = 4;         // a CREATE and three TRANSFERs
constexpr int kBlockTxs = 1000;

struct Options {
  std::vector<long> checkpoints = {100000, 1000000};
  int queries = 2000;
  std::string ledgerd;
  std::string dir;
};

// The Base58 public key of owner number `n` (any 32 bytes serve: nothing
// here signs or verifies).
std::string OwnerKey(long n) {
  return ledger::Base58Encode(ledger::DigestBytes(ledger::Sha256("owner " + std::to_string(n))));
}

// Transaction `n` of the synthetic ledger: chain n / kChain, its CREATE
// owned by key n, each TRANSFER to key n.
std::shared_ptr<const ledger::Transaction> MakeTransaction(long n, const std::string& parent_id,
                                                           const std::string& asset_id) {
  using ledger::JsonValue;
  const std::string owner = OwnerKey(n);
  const bool create = n % kChain == 0;
  const std::vector<ledger::OutputSpec> outputs = {{{owner}, 1}};
  JsonValue document;
  if (create) {
    JsonValue data =
        JsonValue::Object({{"chain", JsonValue::Number(std::to_string(n / kChain))},
                           {"kind", JsonValue::String("ledgerd_query_bench")}});
    document = ledger::MakeCreate({owner}, std::move(data), JsonValue::Null(), outputs);
  } else {
    const std::vector<ledger::SpendSpec> spends = {{parent_id, 0, {OwnerKey(n - 1)}}};
    document = ledger::MakeTransfer(spends, asset_id, JsonValue::Null(), outputs);
  }
  // A placeholder the size of a real Ed25519 fulfillment (102 DER bytes).
  const std::string fulfillment = ledger::Base64UrlEncode(std::string(102, '\x5a'));
  for (JsonValue& input : document.FindMutable("inputs")->mutable_items()) {
    input.Set("fulfillment", JsonValue::String(fulfillment));
  }
  auto tx = std::make_shared<ledger::Transaction>();
  tx->id = ledger::HexEncode(ledger::Sha3_256("query bench " + std::to_string(n)));
  document.Set("id", JsonValue::String(tx->id));
  tx->operation = create ? ledger::Operation::kCreate : ledger::Operation::kTransfer;
  tx->asset_id = create ? tx->id : asset_id;
  ledger::Input input;
  input.owners_before = {create ? owner : OwnerKey(n - 1)};
  if (!create) input.fulfills = ledger::OutputLink{parent_id, 0};
  tx->inputs.push_back(std::move(input));
  ledger::Output output;
  output.public_keys = {owner};
  output.amount = 1;
  output.condition_uri =
      document.Find("outputs")->items()[0].Find("condition")->Find("uri")->text();
  tx->outputs.push_back(std::move(output));
  tx->raw = ledger::CanonicalJson(document);
  tx->document = std::move(document);
  return tx;
}

// Extends the store to `target` transactions, kBlockTxs per block; `ids`
// holds every transaction id so far.
bool Grow(ledger::BlockStore* store, long target, std::vector<std::string>* ids) {
  while (static_cast<long>(ids->size()) < target) {
    ledger::BlockWrite block;
    block.height = store->LastHeight() + 1;
    block.app_hash = ledger::DigestBytes(ledger::Sha3_256(std::to_string(block.height)));
    for (int i = 0; i < kBlockTxs && static_cast<long>(ids->size()) < target; ++i) {
      const long n = static_cast<long>(ids->size());
      const std::string parent = n % kChain == 0 ? "" : ids->back();
      const std::string asset = n % kChain == 0 ? "" : (*ids)[n - n % kChain];
      block.transactions.push_back(MakeTransaction(n, parent, asset));
      ids->push_back(block.transactions.back()->id);
    }
    std::string error;
    if (!store->WriteBlock(block, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return false;
    }
  }
  return true;
}

uint16_t FreePort() {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// ledgerd --dev on `data_dir`, stopped (SIGTERM) on destruction.
class Node {
 public:
  Node(const Options& options, const std::string& data_dir, uint16_t port) {
    std::vector<std::string> args = {options.ledgerd, "--dev", "--data-dir=" + data_dir,
                                     "--http-addr=127.0.0.1:" + std::to_string(port),
                                     "--ws-addr=127.0.0.1:" + std::to_string(FreePort()),
                                     "--log-level=warn"};
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
      dup2(fileno(stdout), fileno(stderr));
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Node() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  // User+system CPU seconds of the node so far.
  double CpuSeconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string line;
    std::getline(in, line);
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  // Waits (at most `limit`) until the node used under 5 % of a core for a
  // whole second; returns the seconds waited.
  double WaitUntilIdle(std::chrono::seconds limit) const {
    const Clock::time_point start = Clock::now();
    while (Clock::now() - start < limit) {
      const double before = CpuSeconds();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (CpuSeconds() - before < 0.05) break;
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

 private:
  pid_t pid_ = 0;
};

// One keep-alive connection; Get returns the status, or 0 on error.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) { port_ = port; }
  bool Connect() {
    beast::error_code ec;
    socket_.close(ec);
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    return !ec;
  }
  unsigned Get(const std::string& target) {
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(true);
    beast::error_code ec;
    http::write(socket_, request, ec);
    if (ec) return 0;
    http::response<http::string_body> response;
    http::read(socket_, buffer_, response, ec);
    return ec ? 0 : response.result_int();
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  uint16_t port_ = 0;
};

double Percentile(std::vector<double> values, double fraction) {
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}

// A kind of query: its name and the request target for transaction n.
struct QueryKind {
  const char* name;
  std::function<std::string(long n)> target_of;
};

// Times `queries` requests of each kind for random transactions, the kinds
// taking turns; false if any failed.
bool Measure(Client* client, const std::vector<QueryKind>& kinds, long ledger_size, int queries) {
  std::mt19937_64 random(static_cast<uint64_t>(ledger_size));
  std::vector<std::vector<double>> ms(kinds.size());
  for (int q = 0; q < queries; ++q) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      const std::string target = kinds[k].target_of(
          static_cast<long>(random() % static_cast<uint64_t>(ledger_size)));
      const Clock::time_point start = Clock::now();
      const unsigned status = client->Get(target);
      ms[k].push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (status != 200) {
        std::fprintf(stderr, "%s: HTTP %u\n", target.c_str(), status);
        return false;
      }
    }
  }
  for (size_t k = 0; k < kinds.size(); ++k) {
    std::printf("query.%s txs=%ld p50_ms %.3f p99_ms %.3f max_ms %.3f\n", kinds[k].name,
                ledger_size, Percentile(ms[k], 0.5), Percentile(ms[k], 0.99),
                *std::max_element(ms[k].begin(), ms[k].end()));
  }
  std::fflush(stdout);
  return true;
}

bool Query(const Options& options, const std::string& data_dir,
           const std::vector<std::string>& ids) {
  const uint16_t port = FreePort();
  Node node(options, data_dir, port);
  Client client(port);
  bool connected = false;
  for (int i = 0; i < 300 && !(connected = client.Connect()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!connected) return false;
  std::printf("settle.s %.0f (until the node was idle)\n",
              node.WaitUntilIdle(std::chrono::seconds(300)));
  const long size = static_cast<long>(ids.size());
  // Warm the connection and the node's first code paths.
  for (int i = 0; i < 100; ++i) client.Get("/api/v1/transactions/" + ids[i]);
  const std::vector<QueryKind> kinds = {
      {"get_transaction", [&](long n) { return "/api/v1/transactions/" + ids[n]; }},
      {"outputs_by_public_key",
       [&](long n) { return "/api/v1/outputs?public_key=" + OwnerKey(n); }},
      {"transactions_by_asset",
       [&](long n) { return "/api/v1/transactions?asset_id=" + ids[n - n % kChain]; }}};
  return Measure(&client, kinds, size, options.queries);
}

bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--checkpoints") {
      options->checkpoints.clear();
      std::istringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        options->checkpoints.push_back(std::atol(item.c_str()));
      }
    } else if (name == "--queries") {
      options->queries = std::atoi(value.c_str());
    } else if (name == "--ledgerd") {
      options->ledgerd = value;
    } else if (name == "--dir") {
      options->dir = value;
    } else {
      std::fprintf(stderr,
                   "usage: ledgerd_query_bench [--checkpoints=N,M,...] [--queries=Q] "
                   "[--ledgerd=PATH] [--dir=PATH]\n");
      return false;
    }
  }
  std::sort(options->checkpoints.begin(), options->checkpoints.end());
  if (options->queries < 1 || options->checkpoints.empty() || options->checkpoints[0] < kChain) {
    std::fprintf(stderr, "--queries must be positive and every checkpoint at least %d\n", kChain);
    return false;
  }
  if (options->ledgerd.empty()) {
    options->ledgerd =
        (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "ledgerd").string();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) return 2;
  signal(SIGPIPE, SIG_IGN);
  const bool own_dir = options.dir.empty();
  const std::filesystem::path dir =
      own_dir ? std::filesystem::temp_directory_path() /
                    ("ledgerd-query-" + std::to_string(std::random_device{}()))
              : std::filesystem::path(options.dir);
  std::filesystem::create_directories(dir);
  const std::string data_dir = (dir / "data").string();

  std::vector<std::string> ids;
  bool ok = true;
  for (long checkpoint : options.checkpoints) {
    const Clock::time_point start = Clock::now();
    {
      std::string error;
      std::unique_ptr<ledger::BlockStore> store = ledger::BlockStore::Open(data_dir, &error);
      if (!store) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }
      if (store->LastHeight() != 0 && ids.empty()) {
        std::fprintf(stderr, "%s already holds a ledger; give an empty --dir\n", data_dir.c_str());
        return 1;
      }
      if (!Grow(store.get(), checkpoint, &ids)) return 1;
    }
    std::printf("build.txs %ld (%.1f s to write the blocks)\n", checkpoint,
                std::chrono::duration<double>(Clock::now() - start).count());
    std::fflush(stdout);
    if (!(ok = Query(options, data_dir, ids))) break;
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
