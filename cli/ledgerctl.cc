// ledgerctl: make keys, build and sign transactions, and check them offline.
//
//   ledgerctl keygen [--seed HEX]
//   ledgerctl create (--seed HEX | --private-key B58)... [--asset JSON]
//                    [--metadata JSON] [--output KEY[,KEY...][:AMOUNT]]...
//   ledgerctl transfer (--seed HEX | --private-key B58)... --spend FILE:INDEX...
//                    [--metadata JSON] --output KEY[,KEY...][:AMOUNT]...
//   ledgerctl validate FILE|-
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/json.h"
#include "ledger/transaction.h"
#include "ledger/transaction_builder.h"

namespace {

using ledger::JsonValue;
using ledger::KeyPair;

constexpr const char* kUsage = R"(usage: ledgerctl <command> [options]

commands:
  keygen [--seed HEX]
      Prints a new Ed25519 key pair as {"public_key": ..., "private_key": ...}
      (Base58). --seed takes 32 bytes in hex for a deterministic key.

  create --seed HEX | --private-key B58   (the issuer)
         [--asset JSON] [--metadata JSON] [--output KEYS[:AMOUNT]]...
      Prints a signed CREATE. KEYS is a comma-separated list of Base58 public
      keys (several keys make an n-of-n threshold output). Without --output the
      issuer receives one unit. --asset defaults to null data.

  transfer (--seed HEX | --private-key B58)... --spend FILE:INDEX...
           [--metadata JSON] --output KEYS[:AMOUNT]...
      Prints a signed TRANSFER spending output INDEX of the transaction stored
      in FILE ('-' for stdin); give the keys of every owner of every input.

  validate FILE|-
      Runs every check that needs no ledger state. Prints "valid <id>" and
      exits 0, or "<ErrorName>: <message>" and exits 1.
)";

// Command-line failure: printed with the usage hint, exit status 2.
struct UsageError {
  std::string message;
};

std::string ReadFileOrStdin(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read " + path};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

JsonValue ParseJsonArgument(const std::string& flag, const std::string& text) {
  JsonValue value;
  ledger::Status status = ledger::ParseJson(text, &value);
  if (!status.ok()) throw UsageError{flag + ": " + status.message()};
  if (!value.is_object() && !value.is_null()) throw UsageError{flag + " must be an object or null"};
  return value;
}

KeyPair KeyFromSeedHex(const std::string& hex) {
  auto seed = ledger::HexDecode(hex);
  if (!seed || seed->size() != ledger::kSeedSize) {
    throw UsageError{"--seed needs 32 bytes as 64 hex digits"};
  }
  return ledger::KeyPairFromSeed(*seed);
}

KeyPair KeyFromPrivateKey(const std::string& base58) {
  auto seed = ledger::Base58Decode(base58);
  if (!seed || seed->size() != ledger::kSeedSize) {
    throw UsageError{"--private-key needs the Base58 encoding of a 32-byte seed"};
  }
  return ledger::KeyPairFromSeed(*seed);
}

// "KEY1,KEY2:AMOUNT" -> an output spec.
ledger::OutputSpec ParseOutput(const std::string& text) {
  ledger::OutputSpec output;
  std::string keys = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    keys = text.substr(0, colon);
    std::string amount = text.substr(colon + 1);
    if (amount.empty() || amount.size() > 19 ||
        amount.find_first_not_of("0123456789") != std::string::npos || std::stoull(amount) == 0 ||
        std::stoull(amount) > ledger::kMaxAmount) {
      throw UsageError{"--output amount must be an integer from 1 to 9000000000000000000"};
    }
    output.amount = std::stoull(amount);
  }
  std::stringstream list(keys);
  for (std::string key; std::getline(list, key, ',');) {
    auto raw = ledger::Base58Decode(key);
    if (!raw || raw->size() != ledger::kPublicKeySize) {
      throw UsageError{"--output: \"" + key + "\" is not a Base58 public key"};
    }
    output.public_keys.push_back(key);
  }
  if (output.public_keys.empty()) throw UsageError{"--output needs at least one public key"};
  return output;
}

// Options shared by create and transfer.
struct BuildOptions {
  std::vector<KeyPair> keys;
  JsonValue asset_data;
  JsonValue metadata;
  std::vector<ledger::OutputSpec> outputs;
  std::vector<std::string> spends;
};

BuildOptions ParseBuildOptions(const std::vector<std::string>& args, bool transfer) {
  BuildOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) throw UsageError{flag + " needs a value"};
    const std::string& value = args[++i];
    if (flag == "--seed") {
      options.keys.push_back(KeyFromSeedHex(value));
    } else if (flag == "--private-key") {
      options.keys.push_back(KeyFromPrivateKey(value));
    } else if (flag == "--asset" && !transfer) {
      options.asset_data = ParseJsonArgument(flag, value);
    } else if (flag == "--metadata") {
      options.metadata = ParseJsonArgument(flag, value);
      if (options.metadata.is_object() && options.metadata.members().empty()) {
        throw UsageError{"--metadata must have at least one property (or be null)"};
      }
    } else if (flag == "--output") {
      options.outputs.push_back(ParseOutput(value));
    } else if (flag == "--spend" && transfer) {
      options.spends.push_back(value);
    } else {
      throw UsageError{"unknown option " + flag};
    }
  }
  if (options.keys.empty()) throw UsageError{"give the signing key with --seed or --private-key"};
  return options;
}

int PrintSigned(JsonValue transaction, const std::vector<KeyPair>& keys) {
  std::string error;
  if (!ledger::SignTransaction(&transaction, keys, &error)) {
    std::cerr << "ledgerctl: " << error << "\n";
    return 1;
  }
  std::cout << ledger::CanonicalJson(transaction) << "\n";
  return 0;
}

int Keygen(const std::vector<std::string>& args) {
  KeyPair keys;
  if (args.empty()) {
    keys = ledger::GenerateKeyPair();
  } else if (args.size() == 2 && args[0] == "--seed") {
    keys = KeyFromSeedHex(args[1]);
  } else {
    throw UsageError{"keygen takes only --seed HEX"};
  }
  std::cout << R"({"public_key":")" << ledger::Base58Encode(keys.public_key)
            << R"(","private_key":")" << ledger::Base58Encode(keys.seed) << "\"}\n";
  return 0;
}

int Create(const std::vector<std::string>& args) {
  BuildOptions options = ParseBuildOptions(args, /*transfer=*/false);
  if (options.keys.size() != 1) throw UsageError{"create takes exactly one issuer key"};
  std::string issuer = ledger::PublicKeyBase58(options.keys[0]);
  if (options.outputs.empty()) options.outputs.push_back({{issuer}, 1});
  return PrintSigned(ledger::MakeCreate({issuer}, std::move(options.asset_data),
                                        std::move(options.metadata), options.outputs),
                     options.keys);
}

int Transfer(const std::vector<std::string>& args) {
  BuildOptions options = ParseBuildOptions(args, /*transfer=*/true);
  if (options.spends.empty()) throw UsageError{"transfer needs at least one --spend FILE:INDEX"};
  if (options.outputs.empty()) throw UsageError{"transfer needs at least one --output"};
  std::vector<ledger::SpendSpec> inputs;
  std::string asset_id;
  for (const std::string& spend : options.spends) {
    auto colon = spend.rfind(':');
    if (colon == std::string::npos) throw UsageError{"--spend takes FILE:INDEX"};
    std::string index_text = spend.substr(colon + 1);
    if (index_text.empty() || index_text.size() > 9 ||
        index_text.find_first_not_of("0123456789") != std::string::npos) {
      throw UsageError{"--spend index must be a non-negative integer"};
    }
    auto checked = ledger::CheckStateless(ReadFileOrStdin(spend.substr(0, colon)));
    if (!checked->status.ok()) {
      throw UsageError{"--spend " + spend + ": " + checked->status.ToString()};
    }
    const ledger::Transaction& spent = *checked->transaction;
    uint32_t index = static_cast<uint32_t>(std::stoul(index_text));
    if (index >= spent.outputs.size()) {
      throw UsageError{"--spend " + spend + ": the transaction has no output " + index_text};
    }
    if (!asset_id.empty() && asset_id != spent.asset_id) {
      throw UsageError{"every --spend must belong to the same asset"};
    }
    asset_id = spent.asset_id;
    inputs.push_back({spent.id, index, spent.outputs[index].public_keys});
  }
  return PrintSigned(
      ledger::MakeTransfer(inputs, asset_id, std::move(options.metadata), options.outputs),
      options.keys);
}

int Validate(const std::vector<std::string>& args) {
  if (args.size() != 1) throw UsageError{"validate takes one FILE or -"};
  auto checked = ledger::CheckStateless(ReadFileOrStdin(args[0]));
  const ledger::Status& status =
      checked->status.ok() ? checked->signature_status : checked->status;
  if (!status.ok()) {
    std::cout << status.ToString() << "\n";
    return 1;
  }
  std::cout << "valid " << checked->transaction->id << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "keygen") return Keygen(args);
    if (command == "create") return Create(args);
    if (command == "transfer") return Transfer(args);
    if (command == "validate") return Validate(args);
    throw UsageError{"unknown command " + command};
  } catch (const UsageError& error) {
    std::cerr << "ledgerctl: " << error.message << "\n(run ledgerctl --help for usage)\n";
    return 2;
  }
}
