#include "stream/subscription.h"

#include <algorithm>
#include <charconv>
#include <set>

// Boost.URL is used header-only: its sources are compiled into this file,
// the only one that parses query strings.
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/src.hpp>

#include "ledger/crypto.h"

namespace stream {
namespace {

// Asset ids and transaction ids are both SHA3-256 digests in hex.
constexpr size_t kIdLength = 64;

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ParseFromHeight(std::string_view text, int64_t* height, std::string* error) {
  const bool all_digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
  int64_t value = 0;
  if (all_digits) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) {
      *height = value;
      return true;
    }
  }
  *error = "from_height must be a non-negative integer, got '" + std::string(text) + "'";
  return false;
}

bool ParseId(std::string_view name, std::string_view text, std::string* id, std::string* error) {
  if (text.size() != kIdLength || !IsLowerHex(text)) {
    *error = std::string(name) + " must be 64 lower-case hexadecimal digits, got '" +
             std::string(text) + "'";
    return false;
  }
  *id = std::string(text);
  return true;
}

bool ParsePublicKey(std::string_view text, std::string* public_key, std::string* error) {
  const std::optional<std::string> bytes = ledger::Base58Decode(text);
  if (!bytes || bytes->size() != ledger::kPublicKeySize) {
    *error = "public_key must be the Base58 encoding of a 32-byte Ed25519 key, got '" +
             std::string(text) + "'";
    return false;
  }
  // Base58 without leading zero bytes has one spelling; re-encoding makes the
  // comparison with the ledger's keys exact.
  *public_key = ledger::Base58Encode(*bytes);
  return true;
}

bool ParseOperationName(std::string_view text, ledger::Operation* operation, std::string* error) {
  const std::optional<ledger::Operation> parsed = ledger::ParseOperation(text);
  if (!parsed) {
    *error = "operation must be CREATE or TRANSFER, got '" + std::string(text) + "'";
    return false;
  }
  *operation = *parsed;
  return true;
}

}  // namespace

bool Subscription::Matches(const ledger::CommittedTransaction& transaction) const {
  if (operation && transaction.operation != *operation) return false;
  if (asset_id && transaction.asset_id != *asset_id) return false;
  if (public_key) {
    const auto& keys = transaction.public_keys;
    if (std::find(keys.begin(), keys.end(), *public_key) == keys.end()) return false;
  }
  return true;
}

bool ParseSubscription(std::string_view query, Subscription* out, std::string* error) {
  *out = Subscription();
  if (query.empty()) return true;
  // A NUL-terminated copy: Boost.URL 1.81 lets the last parameter's value run
  // past the end of a view that is not terminated (here: into the rest of
  // the HTTP request).
  const std::string terminated(query);
  const auto encoded = boost::urls::parse_query(terminated);
  if (!encoded) {
    *error = "malformed query string";
    return false;
  }
  std::set<std::string, std::less<>> seen;
  for (const boost::urls::param param : boost::urls::params_view(*encoded)) {
    const std::string& name = param.key;
    if (!seen.insert(name).second) {
      *error = "parameter " + name + " given more than once";
      return false;
    }
    bool ok = false;
    if (name == "from_height") {
      int64_t height = 0;
      ok = ParseFromHeight(param.value, &height, error);
      if (ok) out->from_height = height;
    } else if (name == "after_transaction_id") {
      ok = ParseId(name, param.value, &out->after_transaction_id.emplace(), error);
    } else if (name == "asset_id") {
      ok = ParseId(name, param.value, &out->asset_id.emplace(), error);
    } else if (name == "public_key") {
      ok = ParsePublicKey(param.value, &out->public_key.emplace(), error);
    } else if (name == "operation") {
      ok = ParseOperationName(param.value, &out->operation.emplace(), error);
    } else {
      *error = "unknown parameter '" + name +
               "'; expected from_height, after_transaction_id, asset_id, public_key or operation";
    }
    if (!ok) return false;
  }
  if (out->from_height && out->after_transaction_id) {
    *error = "from_height and after_transaction_id exclude each other; give one resume point";
    return false;
  }
  return true;
}

}  // namespace stream
