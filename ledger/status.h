// Validation outcomes carrying BigchainDB's error names.
#ifndef LEDGER_STATUS_H_
#define LEDGER_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace ledger {

// The reasons a transaction can be refused. Every name except
// kMalformedTransaction is BigchainDB's own, so clients that match on it keep
// working.
enum class ErrorCode {
  kOk = 0,
  kMalformedTransaction,
  kInvalidHash,
  kSchemaValidationError,
  kInvalidSignature,
  kDuplicateTransaction,
  kInputDoesNotExist,
  kDoubleSpend,
  kAssetIdMismatch,
  kAmountError,
  kThresholdTooDeep,
};

// Returns the BigchainDB name of `code` ("InvalidHash", ...); "Ok" for kOk.
std::string_view ErrorName(ErrorCode code);

// A success or an error code with a message a user can act on.
// Immutable value type; safe to share between threads.
class Status {
 public:
  Status() = default;

  static Status Ok() { return Status(); }
  static Status Error(ErrorCode code, std::string message) {
    return Status(code, std::move(message));
  }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  std::string_view name() const { return ErrorName(code_); }
  const std::string& message() const { return message_; }

  // "<Name>: <message>", or "Ok".
  std::string ToString() const;

 private:
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

}  // namespace ledger

#endif  // LEDGER_STATUS_H_
