#include "tests/abci/test_ledger.h"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "ledger/json.h"
#include "ledger/transaction_builder.h"

namespace ledger_test {
namespace {

SignedTx Sign(ledger::JsonValue transaction, const ledger::KeyPair& keys) {
  std::string error;
  if (!ledger::SignTransaction(&transaction, {keys}, &error)) {
    throw std::runtime_error("SignTransaction: " + error);
  }
  return SignedTx{transaction.Find("id")->text(), ledger::CanonicalJson(transaction)};
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ledgerd-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ledger::KeyPair TestKeys(char seed_byte) {
  return ledger::KeyPairFromSeed(std::string(ledger::kSeedSize, seed_byte));
}

SignedTx SignedCreate(const ledger::KeyPair& owner, uint64_t amount, const std::string& nonce,
                      size_t padding_bytes) {
  const std::string owner_key = ledger::PublicKeyBase58(owner);
  ledger::JsonValue asset =
      ledger::JsonValue::Object({{"nonce", ledger::JsonValue::String(nonce)}});
  ledger::JsonValue metadata =
      padding_bytes == 0
          ? ledger::JsonValue::Null()
          : ledger::JsonValue::Object(
                {{"padding", ledger::JsonValue::String(std::string(padding_bytes, 'p'))}});
  return Sign(ledger::MakeCreate({owner_key}, std::move(asset), std::move(metadata),
                                 {ledger::OutputSpec{{owner_key}, amount}}),
              owner);
}

SignedTx SignedTransfer(const ledger::KeyPair& owner, const SignedTx& spent, uint32_t output_index,
                        const std::string& asset_id, uint64_t amount,
                        const ledger::KeyPair& recipient) {
  const std::string owner_key = ledger::PublicKeyBase58(owner);
  const std::string recipient_key = ledger::PublicKeyBase58(recipient);
  return Sign(ledger::MakeTransfer({ledger::SpendSpec{spent.id, output_index, {owner_key}}},
                                   asset_id, ledger::JsonValue::Null(),
                                   {ledger::OutputSpec{{recipient_key}, amount}}),
              owner);
}

}  // namespace ledger_test
