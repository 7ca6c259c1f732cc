// A committed block as the event stream sends it: every transaction's message
// encoded once, as a complete WebSocket frame, and shared by every session.
//
// Thread safety: BlockEvents is immutable once built; share it freely through
// std::shared_ptr<const BlockEvents>.
#ifndef STREAM_BLOCK_EVENTS_H_
#define STREAM_BLOCK_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/committed_block.h"

namespace stream {

// One valid committed transaction: what filters look at, and its message.
struct TransactionEvent {
  ledger::CommittedTransaction transaction;
  // An unmasked, final WebSocket text frame whose payload is the message.
  std::string frame;
  size_t payload_offset = 0;

  // The JSON message the frame carries.
  std::string_view message() const { return std::string_view(frame).substr(payload_offset); }
};

struct BlockEvents {
  int64_t height = 0;
  std::vector<TransactionEvent> transactions;  // block order
};

// The stream message for `transaction` committed at `height`, exactly
// {"transaction_id":"<id>","asset_id":"<asset id>","height":<height>}.
std::string TransactionMessage(const ledger::CommittedTransaction& transaction, int64_t height);

// `payload` as a complete, unmasked, final text frame (RFC 6455 §5.2), the
// form a server sends when no extension is negotiated.
std::string TextFrame(std::string_view payload);

// Encodes every transaction of `block` once.
std::shared_ptr<const BlockEvents> EncodeBlock(const ledger::CommittedBlock& block);

}  // namespace stream

#endif  // STREAM_BLOCK_EVENTS_H_
