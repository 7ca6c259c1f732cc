#include "api/transaction_submitter.h"

namespace api {

std::optional<BroadcastMode> ParseBroadcastMode(std::string_view name) {
  if (name == "async") return BroadcastMode::kAsync;
  if (name == "sync") return BroadcastMode::kSync;
  if (name == "commit") return BroadcastMode::kCommit;
  return std::nullopt;
}

std::string_view BroadcastModeName(BroadcastMode mode) {
  switch (mode) {
    case BroadcastMode::kAsync:
      return "async";
    case BroadcastMode::kSync:
      return "sync";
    case BroadcastMode::kCommit:
      return "commit";
  }
  return "async";
}

unsigned HttpStatusOf(SubmitOutcome outcome) {
  switch (outcome) {
    case SubmitOutcome::kAccepted:
      return 202;
    case SubmitOutcome::kRejected:
      return 400;
    case SubmitOutcome::kAlreadyPending:
      return 409;
    case SubmitOutcome::kUnavailable:
      return 503;
    case SubmitOutcome::kEngineError:
      return 502;
    case SubmitOutcome::kTimeout:
      return 504;
  }
  return 502;
}

}  // namespace api
