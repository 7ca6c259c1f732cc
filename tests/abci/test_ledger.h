// Test support shared by the ABCI and end-to-end suites: temporary
// directories and signed BigchainDB transactions built with the ledger's own
// transaction builder.
#ifndef TESTS_ABCI_TEST_LEDGER_H_
#define TESTS_ABCI_TEST_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "ledger/crypto.h"

namespace ledger_test {

// A fresh directory under the system temp dir, removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A signed transaction: its id and the JSON bytes a client would send.
struct SignedTx {
  std::string id;
  std::string json;
};

// The key pair derived from a seed of 32 bytes `seed_byte`.
ledger::KeyPair TestKeys(char seed_byte);

// A CREATE of `amount` owned by `owner`. `nonce` goes into the asset data so
// that equal calls with different nonces make different transactions;
// `padding_bytes` of metadata make the transaction that much bigger.
SignedTx SignedCreate(const ledger::KeyPair& owner, uint64_t amount, const std::string& nonce,
                      size_t padding_bytes = 0);

// A TRANSFER of output `output_index` of `spent` (owned by `owner`, holding
// `amount` of asset `asset_id`) wholly to `recipient`.
SignedTx SignedTransfer(const ledger::KeyPair& owner, const SignedTx& spent, uint32_t output_index,
                        const std::string& asset_id, uint64_t amount,
                        const ledger::KeyPair& recipient);

}  // namespace ledger_test

#endif  // TESTS_ABCI_TEST_LEDGER_H_
