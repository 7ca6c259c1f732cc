#include "ledger/status.h"

namespace ledger {

std::string_view ErrorName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "Ok";
    case ErrorCode::kMalformedTransaction: return "MalformedTransaction";
    case ErrorCode::kInvalidHash: return "InvalidHash";
    case ErrorCode::kSchemaValidationError: return "SchemaValidationError";
    case ErrorCode::kInvalidSignature: return "InvalidSignature";
    case ErrorCode::kDuplicateTransaction: return "DuplicateTransaction";
    case ErrorCode::kInputDoesNotExist: return "InputDoesNotExist";
    case ErrorCode::kDoubleSpend: return "DoubleSpend";
    case ErrorCode::kAssetIdMismatch: return "AssetIdMismatch";
    case ErrorCode::kAmountError: return "AmountError";
    case ErrorCode::kThresholdTooDeep: return "ThresholdTooDeep";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "Ok";
  std::string out(name());
  out += ": ";
  out += message_;
  return out;
}

}  // namespace ledger
