// Micro benchmarks of the ledger core: the raw Ed25519 verify rate, and
// Application::CheckTx for a 1-input CREATE and a 2-input TRANSFER, measured
// in the same run so their ratio is meaningful.
//
//   build/bin/ledger_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <filesystem>
#include <random>

#include "ledger/application.h"
#include "ledger/transaction_builder.h"

namespace {

using ledger::JsonValue;
using ledger::KeyPair;

// Distinct transactions per benchmark: each CheckTx must miss the cache.
constexpr int kPoolSize = 40000;

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
  state.counters["per_second"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Ed25519Verify);

void BM_CheckTxCreate(benchmark::State& state) {
  TempLedger ledger;
  KeyPair owner = Key(1);
  std::vector<std::string> pool;
  for (int i = 0; i < kPoolSize; ++i) pool.push_back(CreateTx(owner, i));
  size_t next = 0;
  for (auto _ : state) {
    ledger::TxResult result = ledger.app->CheckTx(pool[next++ % pool.size()]);
    if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
  }
  state.counters["per_second"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(state.iterations() * pool[0].size());
}
BENCHMARK(BM_CheckTxCreate)->Iterations(kPoolSize);

void BM_CheckTxTransfer2Inputs(benchmark::State& state) {
  TempLedger ledger;
  KeyPair owner = Key(1), receiver = Key(2);
  std::string create = CreateTx(owner, 0, 5, 2);
  ledger.app->FinalizeBlock(1, {create});
  std::string error;
  if (!ledger.app->Commit(&error)) std::abort();
  std::string asset = ledger.app->CheckStatelessCached(create)->transaction->id;
  std::string owner_key = ledger::PublicKeyBase58(owner);
  std::vector<std::string> pool;
  for (int i = 0; i < kPoolSize / 2; ++i) {
    pool.push_back(SignedJson(
        ledger::MakeTransfer({{asset, 0, {owner_key}}, {asset, 1, {owner_key}}}, asset,
                             JsonValue::Object({{"n", JsonValue::Number(std::to_string(i))}}),
                             {{{ledger::PublicKeyBase58(receiver)}, 10}}),
        {owner}));
  }
  size_t next = 0;
  for (auto _ : state) {
    ledger::TxResult result = ledger.app->CheckTx(pool[next++ % pool.size()]);
    if (!result.status.ok()) state.SkipWithError(result.status.ToString().c_str());
  }
  state.counters["per_second"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CheckTxTransfer2Inputs)->Iterations(kPoolSize / 2);

}  // namespace

BENCHMARK_MAIN();
