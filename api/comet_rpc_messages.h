// CometBFT's JSON-RPC broadcast calls: the request body we send and what its
// answers mean for the HTTP API.
#ifndef API_COMET_RPC_MESSAGES_H_
#define API_COMET_RPC_MESSAGES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "api/transaction_submitter.h"

namespace api {

// Standard base64 (RFC 4648 §4) with padding: how CometBFT's JSON-RPC
// decodes the `tx` bytes parameter.
std::string Base64Encode(std::string_view bytes);

// {"jsonrpc":"2.0","id":<id>,"method":"broadcast_tx_<mode>",
//  "params":{"tx":"<base64 of tx>"}}.
std::string BroadcastRequestBody(std::string_view tx, BroadcastMode mode, uint64_t id);

// What CometBFT's reply `body` (HTTP status `http_status`) to a
// broadcast_tx_<mode> call means:
// - result with code 0 (for commit: check_tx and tx_result, or deliver_tx
//   before v0.38, both 0) → accepted;
// - a non-zero code → kRejected, worded as BigchainDB's "Invalid transaction
//   (<Error>): ..." when the log carries one of our error names;
// - JSON-RPC error "tx already exists in cache" → kAlreadyPending; "mempool
//   is full" or the node catching up → kUnavailable; "timed out waiting for
//   tx to be included in a block" → kTimeout; "tx too large" → kRejected;
//   any other error, or a body that is not JSON-RPC → kEngineError.
SubmitResult InterpretBroadcastReply(BroadcastMode mode, unsigned http_status,
                                     std::string_view body);

}  // namespace api

#endif  // API_COMET_RPC_MESSAGES_H_
