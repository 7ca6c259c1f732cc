// Fuzzes the crypto-condition DER parser, ledger::Fulfillment::ParseDer.
//
// Invariants (a violation traps):
// - no input crashes or reads out of bounds; a refusal is InvalidSignature or
//   ThresholdTooDeep, as documented;
// - a parsed fulfillment's Der() parses again, Der() of that is the same
//   bytes (our encoder writes canonical DER), and the derived condition (DER
//   and URI), the signers and the verdict of Verify do not change across the
//   round trip.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto_condition.h"
#include "ledger/status.h"

namespace {

void Require(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string> Signers(const ledger::Fulfillment& fulfillment) {
  std::vector<std::string> keys;
  fulfillment.CollectPublicKeys(&keys);
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view der(reinterpret_cast<const char*>(data), size);
  ledger::Fulfillment parsed;
  const ledger::Status status = ledger::Fulfillment::ParseDer(der, &parsed);
  if (!status.ok()) {
    Require(status.code() == ledger::ErrorCode::kInvalidSignature ||
            status.code() == ledger::ErrorCode::kThresholdTooDeep);
    return 0;
  }

  const std::string encoded = parsed.Der();
  ledger::Fulfillment reparsed;
  Require(ledger::Fulfillment::ParseDer(encoded, &reparsed).ok());
  Require(reparsed.Der() == encoded);

  const ledger::Condition condition = parsed.ToCondition();
  const ledger::Condition recondition = reparsed.ToCondition();
  Require(condition.Uri() == recondition.Uri());
  Require(condition.Der() == recondition.Der());
  Require(parsed.threshold == reparsed.threshold);

  // Der() sorts threshold members, so compare the signers as multisets.
  std::vector<std::string> signers = Signers(parsed);
  std::vector<std::string> resigners = Signers(reparsed);
  std::sort(signers.begin(), signers.end());
  std::sort(resigners.begin(), resigners.end());
  Require(signers == resigners);

  // Fuzzed signatures do not verify, but Verify must walk any parsed tree.
  static constexpr std::string_view kMessage = "fuzz_fulfillment_der";
  Require(parsed.Verify(kMessage) == reparsed.Verify(kMessage));
  return 0;
}
