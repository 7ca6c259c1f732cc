#include "stream/block_events.h"

#include <nlohmann/json.hpp>

namespace stream {
namespace {

constexpr uint8_t kFinalTextFrame = 0x81;  // FIN bit + opcode 0x1 (text)
constexpr uint8_t kLength16 = 126;         // a 16-bit length follows
constexpr uint8_t kLength64 = 127;         // a 64-bit length follows

// Appends `text` as a JSON string literal. Ids are lower-case hex in practice;
// escaping anyway (and replacing invalid UTF-8 rather than throwing on the
// committing thread) keeps the message valid JSON whatever the ledger stores.
void AppendJsonString(std::string_view text, std::string* out) {
  out->append(nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

std::string TransactionMessage(const ledger::CommittedTransaction& transaction, int64_t height) {
  std::string message;
  message.reserve(64 + 64 + 64);
  message.append(R"({"transaction_id":)");
  AppendJsonString(transaction.id, &message);
  message.append(R"(,"asset_id":)");
  AppendJsonString(transaction.asset_id, &message);
  message.append(R"(,"height":)");
  message.append(std::to_string(height));
  message.push_back('}');
  return message;
}

std::string TextFrame(std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 10);
  frame.push_back(static_cast<char>(kFinalTextFrame));
  const uint64_t size = payload.size();
  if (size < kLength16) {
    frame.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    frame.push_back(static_cast<char>(kLength16));
    frame.push_back(static_cast<char>(size >> 8));
    frame.push_back(static_cast<char>(size & 0xFF));
  } else {
    frame.push_back(static_cast<char>(kLength64));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((size >> shift) & 0xFF));
    }
  }
  frame.append(payload);
  return frame;
}

std::shared_ptr<const BlockEvents> EncodeBlock(const ledger::CommittedBlock& block) {
  auto events = std::make_shared<BlockEvents>();
  events->height = block.height;
  events->transactions.reserve(block.transactions.size());
  for (const ledger::CommittedTransaction& transaction : block.transactions) {
    const std::string message = TransactionMessage(transaction, block.height);
    TransactionEvent& event = events->transactions.emplace_back();
    event.transaction = transaction;
    event.frame = TextFrame(message);
    event.payload_offset = event.frame.size() - message.size();
  }
  return events;
}

}  // namespace stream
