// Helpers shared by the ledger tests: deterministic keys, signed
// transactions, vectors and temporary directories.
#ifndef TESTS_LEDGER_LEDGER_TEST_UTIL_H_
#define TESTS_LEDGER_LEDGER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction.h"
#include "ledger/transaction_builder.h"

namespace ledger::testing {

inline nlohmann::json LoadVectors() {
  std::ifstream in(std::string(LEDGERD_TEST_DATA_DIR) + "/js-driver-vectors.json");
  return nlohmann::json::parse(in);
}

// A key pair whose seed is 32 copies of `byte`.
inline KeyPair TestKey(uint8_t byte) { return KeyPairFromSeed(std::string(32, char(byte))); }

inline std::string Pub(const KeyPair& key) { return PublicKeyBase58(key); }

inline JsonValue ParseOrDie(std::string_view text) {
  JsonValue value;
  Status status = ParseJson(text, &value);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return value;
}

inline std::string Signed(JsonValue tx, const std::vector<KeyPair>& keys) {
  std::string error;
  EXPECT_TRUE(SignTransaction(&tx, keys, &error)) << error;
  return CanonicalJson(tx);
}

// A signed CREATE by `owner` of `amount` units to `owner`, made unique by `nonce`.
inline std::string Create(const KeyPair& owner, uint64_t amount = 1, int nonce = 0) {
  JsonValue data = JsonValue::Object({{"nonce", JsonValue::Number(std::to_string(nonce))}});
  return Signed(MakeCreate({Pub(owner)}, std::move(data), JsonValue::Null(),
                           {{{Pub(owner)}, amount}}),
                {owner});
}

inline std::string IdOf(const std::string& raw) { return ParseOrDie(raw).Find("id")->text(); }

// A signed TRANSFER of output `index` of `from_tx` (owned by `owner`) to `to`.
inline std::string Transfer(const std::string& from_tx, uint32_t index, const KeyPair& owner,
                            const std::string& asset_id, const KeyPair& to,
                            uint64_t amount = 1) {
  return Signed(MakeTransfer({{IdOf(from_tx), index, {Pub(owner)}}}, asset_id,
                             JsonValue::Null(), {{{Pub(to)}, amount}}),
                {owner});
}

// A directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("ledgerd-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ledger::testing

#endif  // TESTS_LEDGER_LEDGER_TEST_UTIL_H_
