// ledgerctl: make keys, build and sign transactions, and check them offline.
//
//   ledgerctl keygen [--seed HEX]
//   ledgerctl create (--key-file FILE | --private-key B58 | --seed HEX) [--asset JSON]
//                    [--metadata JSON] [--output KEY[,KEY...][:AMOUNT]]...
//   ledgerctl transfer (--key-file FILE | --private-key B58 | --seed HEX)...
//                    --spend FILE:INDEX...
//                    [--metadata JSON] --output KEY[,KEY...][:AMOUNT]...
//   ledgerctl validate FILE|-
//   ledgerctl post [--url URL] [--mode async|sync|commit] FILE|-
//   ledgerctl get [--url URL] ID
//   ledgerctl watch [--url WS_URL]... [--from-height H | --after-transaction-id ID]
//                   [--asset-id ID] [--public-key KEY] [--operation OP] [--count N]
//                   [--max-retries N] [--idle-timeout SECONDS]
#include <fstream>
#include <iostream>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/node_client.h"
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

  create --key-file FILE | --private-key B58 | --seed HEX   (the issuer)
         [--asset JSON] [--metadata JSON] [--output KEYS[:AMOUNT]]...
      Prints a signed CREATE. KEYS is a comma-separated list of Base58 public
      keys (several keys make an n-of-n threshold output). Without --output the
      issuer receives one unit. --asset defaults to null data. --key-file reads
      the private key from what `ledgerctl keygen` printed.

  transfer (--key-file FILE | --private-key B58 | --seed HEX)... --spend FILE:INDEX...
           [--metadata JSON] --output KEYS[:AMOUNT]...
      Prints a signed TRANSFER spending output INDEX of the transaction stored
      in FILE ('-' for stdin); give the keys of every owner of every input.

  validate FILE|-
      Runs every check that needs no ledger state. Prints "valid <id>" and
      exits 0, or "<ErrorName>: <message>" and exits 1.

  post [--url URL] [--mode async|sync|commit] FILE|-
      Submits a transaction to a node (default URL http://127.0.0.1:9984,
      mode async; commit waits until the block is durable). Prints the
      node's answer; exits 0 when it accepted the transaction, 1 otherwise.

  get [--url URL] ID
      Prints the committed transaction ID as the node stores it.

  watch [--url WS_URL]... [--from-height H | --after-transaction-id ID]
        [--asset-id ID] [--public-key KEY] [--operation CREATE|TRANSFER]
        [--count N] [--max-retries N] [--idle-timeout SECONDS]
      Subscribes to the node's event stream (default
      ws://127.0.0.1:9985/api/v1/streams/valid_transactions) and prints one
      JSON line per committed transaction; stops after N messages if given.
      --url may be repeated or hold a comma-separated list: when a connection
      ends or fails, watch resumes on the next URL after the last transaction
      it printed (no duplicate, no gap), waiting 100 ms doubling to 5 s, and
      logs each switch to stderr. It gives up when --max-retries retries in a
      row print nothing (default: never); a refused filter ends it at once.
      A node that stays silent for --idle-timeout seconds (default 20; watch
      pings it after half of that) counts as failed.
      LEDGERD_STREAM_URL may hold a comma-separated list too.

The node URLs also come from LEDGERD_URL and LEDGERD_STREAM_URL.
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

// The private key of a `ledgerctl keygen` file.
KeyPair KeyFromFile(const std::string& path) {
  JsonValue file;
  ledger::Status status = ledger::ParseJson(ReadFileOrStdin(path), &file);
  const JsonValue* key = status.ok() ? file.Find("private_key") : nullptr;
  if (!key || !key->is_string()) {
    throw UsageError{"--key-file " + path + ": expected the JSON that `ledgerctl keygen` prints"};
  }
  return KeyFromPrivateKey(key->text());
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
    } else if (flag == "--key-file") {
      options.keys.push_back(KeyFromFile(value));
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
  if (options.keys.empty()) {
    throw UsageError{"give the signing key with --key-file, --private-key or --seed"};
  }
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

constexpr const char* kDefaultUrl = "http://127.0.0.1:9984";
constexpr const char* kDefaultStreamUrl = "ws://127.0.0.1:9985/api/v1/streams/valid_transactions";

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Splits "--flag value" pairs off `args`; the rest stay positional.
std::map<std::string, std::string> TakeFlags(std::vector<std::string>* args,
                                             std::initializer_list<std::string> allowed) {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& arg = (*args)[i];
    if (arg.rfind("--", 0) != 0 || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), arg) == allowed.end()) {
      throw UsageError{"unknown option " + arg};
    }
    if (i + 1 >= args->size()) throw UsageError{arg + " needs a value"};
    flags[arg] = (*args)[++i];
  }
  *args = std::move(positional);
  return flags;
}

cli::Endpoint NodeEndpoint(const std::map<std::string, std::string>& flags) {
  std::string url = flags.count("--url") ? flags.at("--url") : EnvOr("LEDGERD_URL", kDefaultUrl);
  cli::Endpoint endpoint;
  std::string error;
  if (!cli::ParseUrl(url, "http", &endpoint, &error)) throw UsageError{error};
  if (endpoint.path.back() == '/') endpoint.path.pop_back();
  return endpoint;
}

int PrintResponse(bool reached, const cli::HttpResponse& response, const std::string& error,
                  int success_status) {
  if (!reached) {
    std::cerr << "ledgerctl: " << error << "\n";
    return 1;
  }
  std::cout << response.body << (response.body.ends_with("\n") ? "" : "\n");
  return response.status == success_status ? 0 : 1;
}

int Post(std::vector<std::string> args) {
  auto flags = TakeFlags(&args, {"--url", "--mode"});
  if (args.size() != 1) throw UsageError{"post takes one FILE or -"};
  std::string mode = flags.count("--mode") ? flags["--mode"] : "async";
  if (mode != "async" && mode != "sync" && mode != "commit") {
    throw UsageError{"--mode must be async, sync or commit"};
  }
  cli::Endpoint endpoint = NodeEndpoint(flags);
  std::string body = ReadFileOrStdin(args[0]);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  cli::HttpResponse response;
  std::string error;
  bool reached = cli::HttpRequest(endpoint, "POST",
                                  endpoint.path + "/api/v1/transactions?mode=" + mode, body,
                                  std::chrono::seconds(60), &response, &error);
  return PrintResponse(reached, response, error, 202);
}

int Get(std::vector<std::string> args) {
  auto flags = TakeFlags(&args, {"--url"});
  if (args.size() != 1) throw UsageError{"get takes one transaction id"};
  cli::Endpoint endpoint = NodeEndpoint(flags);
  cli::HttpResponse response;
  std::string error;
  bool reached = cli::HttpRequest(endpoint, "GET", endpoint.path + "/api/v1/transactions/" + args[0],
                                  "", std::chrono::seconds(30), &response, &error);
  return PrintResponse(reached, response, error, 200);
}

// The non-empty items of a comma-separated list.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// The values of every `flag` in `args` (repeatable, each possibly a
// comma-separated list), removed from `args`.
std::vector<std::string> TakeRepeatedFlag(std::vector<std::string>* args, const std::string& flag) {
  std::vector<std::string> values;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    if ((*args)[i] != flag) {
      rest.push_back((*args)[i]);
      continue;
    }
    if (i + 1 >= args->size()) throw UsageError{flag + " needs a value"};
    for (std::string& value : SplitList((*args)[++i])) values.push_back(std::move(value));
  }
  *args = std::move(rest);
  return values;
}

long long ParseCountFlag(const std::string& flag, const std::string& text, bool allow_zero) {
  if (text.empty() || text.size() > 12 ||
      text.find_first_not_of("0123456789") != std::string::npos ||
      (!allow_zero && std::stoll(text) == 0)) {
    throw UsageError{
        flag + (allow_zero ? " must be a non-negative integer" : " must be a positive integer")};
  }
  return std::stoll(text);
}

// Whether a refused subscription may succeed on another try or another node:
// a node that has not committed the resume point yet, or one that is full or
// failing; a bad parameter or path is the same everywhere.
bool RefusalIsTransient(const cli::WatchEnd& end) {
  if (end.refused_status == 400) {
    return end.error.find("is not a committed transaction") != std::string::npos;
  }
  return end.refused_status == 0 || end.refused_status >= 500;
}

// The transaction id a stream message names; empty if it names none.
std::string TransactionIdOf(const std::string& message) {
  JsonValue parsed;
  if (!ledger::ParseJson(message, &parsed).ok() || !parsed.is_object()) return "";
  const JsonValue* id = parsed.Find("transaction_id");
  return id && id->is_string() ? id->text() : "";
}

constexpr std::chrono::milliseconds kFirstBackoff(100);
constexpr std::chrono::milliseconds kMaxBackoff(5000);
// A node silent this long (it answers a ping within a round trip) is taken
// for down, as after a partition, and watch moves on.
constexpr std::chrono::seconds kDefaultIdleTimeout(20);

int Watch(std::vector<std::string> args) {
  std::vector<std::string> urls = TakeRepeatedFlag(&args, "--url");
  auto flags =
      TakeFlags(&args, {"--from-height", "--after-transaction-id", "--asset-id", "--public-key",
                        "--operation", "--count", "--max-retries", "--idle-timeout"});
  if (!args.empty()) throw UsageError{"watch takes only options"};
  if (urls.empty()) urls = SplitList(EnvOr("LEDGERD_STREAM_URL", kDefaultStreamUrl));
  if (urls.empty()) throw UsageError{"no stream URL given"};
  std::vector<cli::Endpoint> endpoints(urls.size());
  std::string error;
  for (size_t i = 0; i < urls.size(); ++i) {
    if (!cli::ParseUrl(urls[i], "ws", &endpoints[i], &error)) throw UsageError{error};
  }
  if (flags.count("--from-height") && flags.count("--after-transaction-id")) {
    throw UsageError{"--from-height and --after-transaction-id exclude each other"};
  }
  for (const char* flag :
       {"--from-height", "--after-transaction-id", "--asset-id", "--public-key", "--operation"}) {
    if (flags.count(flag) && flags[flag].find_first_of("&=?# %") != std::string::npos) {
      throw UsageError{std::string(flag) + " has characters a query cannot carry"};
    }
  }
  // The filters, the same on every connection.
  std::string filters;
  for (const auto& [flag, name] :
       std::initializer_list<std::pair<const char*, const char*>>{{"--asset-id", "asset_id"},
                                                                  {"--public-key", "public_key"},
                                                                  {"--operation", "operation"}}) {
    if (flags.count(flag)) filters.append("&").append(name).append("=").append(flags[flag]);
  }
  // Before the first message: what the user asked for. After it: the last
  // message printed, so that no connection repeats or skips one.
  std::string resume_point;
  if (flags.count("--from-height")) resume_point = "from_height=" + flags["--from-height"];
  if (flags.count("--after-transaction-id")) {
    resume_point = "after_transaction_id=" + flags["--after-transaction-id"];
  }
  long long remaining =
      flags.count("--count") ? ParseCountFlag("--count", flags["--count"], false) : -1;
  const long long max_retries = flags.count("--max-retries")
                                    ? ParseCountFlag("--max-retries", flags["--max-retries"], true)
                                    : -1;

  const std::chrono::seconds idle_timeout(
      flags.count("--idle-timeout")
          ? ParseCountFlag("--idle-timeout", flags["--idle-timeout"], false)
          : kDefaultIdleTimeout.count());

  size_t url_index = 0;
  long long failures = 0;  // consecutive connections that printed nothing
  // Ends at --count, a normal close, a lasting refusal, or after
  // --max-retries fruitless retries; without --max-retries, never otherwise.
  while (true) {
    cli::Endpoint endpoint = endpoints[url_index];
    std::string query = filters + (resume_point.empty() ? "" : "&" + resume_point);
    if (!query.empty()) {
      query[0] = endpoint.path.find('?') == std::string::npos ? '?' : '&';
      endpoint.path += query;
    }
    bool printed = false;
    const cli::WatchEnd end = cli::Watch(
        endpoint,
        [&](const std::string& message) {
          std::cout << message << std::endl;
          printed = true;
          const std::string id = TransactionIdOf(message);
          if (!id.empty()) resume_point = "after_transaction_id=" + id;
          return remaining < 0 || --remaining > 0;
        },
        idle_timeout);
    if (end.finished) return 0;
    failures = printed ? 0 : failures + 1;
    if (!RefusalIsTransient(end) || (max_retries >= 0 && failures > max_retries)) {
      std::cerr << "ledgerctl: " << urls[url_index] << ": " << end.error << "\n";
      return 1;
    }
    const std::chrono::milliseconds backoff =
        std::min(kMaxBackoff, kFirstBackoff * (1 << std::min<long long>(failures, 6)));
    const std::string& ended_url = urls[url_index];
    url_index = (url_index + 1) % urls.size();
    std::cerr << "ledgerctl: " << ended_url << ": " << end.error << "; resuming on "
              << urls[url_index] << " with "
              << (resume_point.empty() ? "live blocks" : resume_point) << " in " << backoff.count()
              << " ms\n";
    std::this_thread::sleep_for(backoff);
  }
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
    if (command == "post") return Post(args);
    if (command == "get") return Get(args);
    if (command == "watch") return Watch(args);
    throw UsageError{"unknown command " + command};
  } catch (const UsageError& error) {
    std::cerr << "ledgerctl: " << error.message << "\n(run ledgerctl --help for usage)\n";
    return 2;
  }
}
