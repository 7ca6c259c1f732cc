// Micro benchmarks of the ledger core, in one process so that their ratios
// compare like with like:
//   - the raw libsodium Ed25519 verify rate (the floor of every check);
//   - Application::CheckTx of a 1-input CREATE and of a 2-input TRANSFER,
//     each transaction new to the cache (signatures verified);
//   - CheckTx of CREATEs and raw verifies alternated in small chunks, whose
//     ratio does not depend on the machine's speed drifting between runs;
//   - CheckTx from 1 and 2 threads at once on one Application (does anything
//     serialise concurrent checks?);
//   - FinalizeBlock + Commit of a 1,000-transaction block whose transactions
//     CheckTx already saw (no signature verified) and of one it did not (the
//     stateless checks spread over the cores first).
// Each benchmark reports transactions (or verifications) per second in its
// per_second counter.
//
//   build-bench/bin/ledger_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "ledger/application.h"
#include "ledger/transaction_builder.h"

namespace {

using ledger::JsonValue;
using ledger::KeyPair;

constexpr int kCreatePool = 40000;
constexpr int kSerialChecks = 20000;
constexpr int kChecksPerThread = 10000;
constexpr int kTransferPool = 10000;
constexpr int kAlternationChunk = 50;
constexpr int kBlockTxs = 1000;
constexpr int kBlocks = 10;

KeyPair Key(uint8_t byte) { return ledger::KeyPairFromSeed(std::string(32, static_cast<char>(byte))); }

std::string SignedJson(JsonValue tx, const std::vector<KeyPair>& keys) {
  std::string error;
  if (!ledger::SignTransaction(&tx, keys, &error)) std::abort();
  return ledger::CanonicalJson(tx);
}

std::string CreateTx(const KeyPair& owner, int nonce, uint64_t amount = 1, int outputs = 1) {
  std::string key = ledger::PublicKeyBase58(owner);
  std::vector<ledger::OutputSpec> specs(outputs, ledger::OutputSpec{{key}, amount});
  return SignedJson(
      ledger::MakeCreate({key},
                         JsonValue::Object({{"serial", JsonValue::Number(std::to_string(nonce))},
                                            {"kind", JsonValue::String("benchmark asset")}}),
                         JsonValue::Object({{"note", JsonValue::String("bench")}}), specs),
      {owner});
}

// Distinct signed CREATEs, made once (on every core) and shared by the
// benchmarks; each benchmark run uses a fresh ledger, so every check misses
// the cache.
const std::vector<std::string>& CreatePool() {
  static const std::vector<std::string> pool = [] {
    std::vector<std::string> txs(kCreatePool);
    const KeyPair owner = Key(1);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (size_t i = t; i < txs.size(); i += threads) txs[i] = CreateTx(owner, static_cast<int>(i));
      });
    }
    for (std::thread& worker : workers) worker.join();
    return txs;
  }();
  return pool;
}

// A store in a temporary directory, removed afterwards.
struct TempLedger {
  TempLedger() {
    path = std::filesystem::temp_directory_path() /
           ("ledgerd-bench-" + std::to_string(std::random_device{}()));
    std::string error;
    store = ledger::BlockStore::Open(path.string(), &error);
    if (!store) std::abort();
    app = std::make_unique<ledger::Application>(store.get());
  }
  ~TempLedger() {
    app.reset();
    store.reset();
    std::filesystem::remove_all(path);
  }
  std::filesystem::path path;
  std::unique_ptr<ledger::BlockStore> store;
  std::unique_ptr<ledger::Application> app;
};

void SetRate(benchmark::State& state, int64_t items) {
  state.counters["per_second"] = benchmark::Counter(static_cast<double>(items),
                                                    benchmark::Counter::kIsRate);
}

void BM_Ed25519Verify(benchmark::State& state) {
  KeyPair key = Key(7);
  std::string message(32, 'm');
  std::string signature = ledger::Sign(key, message);
  for (auto _ : state) {
    int ok = crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                         reinterpret_cast<const unsigned char*>(message.data()),
                                         message.size(),
                                         reinterpret_cast<const unsigned char*>(key.public_key.data()));
    benchmark::DoNotOptimize(ok);
  }
  SetRate(state, state.iterations());
}
BENCHMARK(BM_Ed25519Verify)->Iterations(kSerialChecks);

void BM_CheckTxCreate(benchmark::State& state) {
  const std::vector<std::string>& pool = CreatePool();
  TempLedger ledger;
  size_t next = 0;
  for (auto _ : state) {
    ledger::TxResult result = ledger.app->CheckTx(pool[next++]);
    if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
  }
  SetRate(state, state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(pool[0].size()));
}
BENCHMARK(BM_CheckTxCreate)->Iterations(kSerialChecks);

void BM_CheckTxTransfer2Inputs(benchmark::State& state) {
  const KeyPair owner = Key(1), receiver = Key(2);
  const std::string create = CreateTx(owner, 0, 5, 2);
  static const std::vector<std::string> pool = [&] {
    const std::string asset = ledger::ComputeId([&] {
      JsonValue parsed;
      (void)ledger::ParseJson(create, &parsed);
      return parsed;
    }());
    const std::string owner_key = ledger::PublicKeyBase58(owner);
    std::vector<std::string> txs;
    for (int i = 0; i < kTransferPool; ++i) {
      txs.push_back(SignedJson(
          ledger::MakeTransfer({{asset, 0, {owner_key}}, {asset, 1, {owner_key}}}, asset,
                               JsonValue::Object({{"n", JsonValue::Number(std::to_string(i))}}),
                               {{{ledger::PublicKeyBase58(receiver)}, 10}}),
          {owner}));
    }
    return txs;
  }();
  TempLedger ledger;
  ledger.app->FinalizeBlock(1, {create});
  std::string error;
  if (!ledger.app->Commit(&error)) std::abort();
  size_t next = 0;
  for (auto _ : state) {
    ledger::TxResult result = ledger.app->CheckTx(pool[next++]);
    if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
  }
  SetRate(state, state.iterations());
}
BENCHMARK(BM_CheckTxTransfer2Inputs)->Iterations(kTransferPool);

// CheckTx of a CREATE against the raw verify rate, measured alternately in
// chunks of kAlternationChunk and timed apart: a shared machine's speed
// drifts over seconds, and here it weighs on both sides alike. Its counters
// are both rates and their ratio, the figure the CheckTx goal is about. The
// whole pool goes through, so the verify-once cache runs full and evicts.
void BM_CheckTxCreateVsVerify(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const std::vector<std::string>& pool = CreatePool();
  TempLedger ledger;
  const KeyPair key = Key(7);
  const std::string message(32, 'm');
  const std::string signature = ledger::Sign(key, message);
  Clock::duration verify_time{}, check_time{};
  size_t next = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < kAlternationChunk; ++i) {
      int ok = crypto_sign_verify_detached(
          reinterpret_cast<const unsigned char*>(signature.data()),
          reinterpret_cast<const unsigned char*>(message.data()), message.size(),
          reinterpret_cast<const unsigned char*>(key.public_key.data()));
      benchmark::DoNotOptimize(ok);
    }
    const Clock::time_point middle = Clock::now();
    for (int i = 0; i < kAlternationChunk; ++i) {
      ledger::TxResult result = ledger.app->CheckTx(pool[next++]);
      if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
    }
    verify_time += middle - start;
    check_time += Clock::now() - middle;
  }
  const double items = static_cast<double>(state.iterations()) * kAlternationChunk;
  const double verify_rate = items / std::chrono::duration<double>(verify_time).count();
  const double check_rate = items / std::chrono::duration<double>(check_time).count();
  state.counters["verify_per_second"] = verify_rate;
  state.counters["checktx_per_second"] = check_rate;
  state.counters["ratio"] = check_rate / verify_rate;
}
BENCHMARK(BM_CheckTxCreateVsVerify)->Iterations(kCreatePool / kAlternationChunk)->UseRealTime();

// Every thread checks its own share of the pool on one shared Application.
void BM_CheckTxCreateParallel(benchmark::State& state) {
  static std::unique_ptr<TempLedger> ledger;
  static std::atomic<size_t> next{0};
  const std::vector<std::string>& pool = CreatePool();
  if (state.thread_index() == 0) {
    ledger = std::make_unique<TempLedger>();
    next = 0;
  }
  for (auto _ : state) {
    ledger::TxResult result = ledger->app->CheckTx(pool[next++]);
    if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
  }
  if (state.thread_index() == 0) {
    SetRate(state, state.iterations() * state.threads());
    ledger.reset();
  }
}
BENCHMARK(BM_CheckTxCreateParallel)
    ->Iterations(kChecksPerThread)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// FinalizeBlock + Commit of kBlocks blocks of kBlockTxs CREATEs; with
// `checked`, CheckTx saw every transaction before (outside the timing).
void FinalizeBlocks(benchmark::State& state, bool checked) {
  const std::vector<std::string>& pool = CreatePool();
  TempLedger ledger;
  int64_t height = 0;
  for (auto _ : state) {
    const size_t first = static_cast<size_t>(height) * kBlockTxs;
    std::vector<std::string> block(pool.begin() + first, pool.begin() + first + kBlockTxs);
    if (checked) {
      state.PauseTiming();
      for (const std::string& tx : block) ledger.app->CheckTx(tx);
      state.ResumeTiming();
    }
    ledger::FinalizedBlock finalized = ledger.app->FinalizeBlock(++height, block);
    std::string error;
    if (!ledger.app->Commit(&error)) state.SkipWithError(error.c_str());
    benchmark::DoNotOptimize(finalized);
  }
  SetRate(state, state.iterations() * kBlockTxs);
}

void BM_FinalizeBlockChecked(benchmark::State& state) { FinalizeBlocks(state, true); }
BENCHMARK(BM_FinalizeBlockChecked)->Iterations(kBlocks)->UseRealTime();

void BM_FinalizeBlockUnchecked(benchmark::State& state) { FinalizeBlocks(state, false); }
BENCHMARK(BM_FinalizeBlockUnchecked)->Iterations(kBlocks)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
