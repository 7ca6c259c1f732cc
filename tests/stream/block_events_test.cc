#include "stream/block_events.h"

#include <gtest/gtest.h>

#include <string>

namespace stream {
namespace {

TEST(BlockEventsTest, MessageHasExactKeysOrderAndNoSpaces) {
  ledger::CommittedTransaction transaction;
  transaction.id = std::string(64, '1');
  transaction.asset_id = std::string(64, '2');
  EXPECT_EQ(TransactionMessage(transaction, 42), "{\"transaction_id\":\"" + std::string(64, '1') +
                                                     "\",\"asset_id\":\"" + std::string(64, '2') +
                                                     "\",\"height\":42}");
}

TEST(BlockEventsTest, TextFrameLengthEncodings) {
  // RFC 6455 §5.2: 7-bit length up to 125, then 16-bit, then 64-bit.
  const std::string small(125, 'x');
  EXPECT_EQ(TextFrame(small), std::string("\x81\x7d") + small);

  const std::string medium(126, 'x');
  EXPECT_EQ(TextFrame(medium), std::string("\x81\x7e\x00\x7e", 4) + medium);

  const std::string large(70000, 'x');  // 0x11170
  EXPECT_EQ(TextFrame(large), std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10) + large);
}

TEST(BlockEventsTest, EncodeBlockKeepsOrderAndFramesEachMessage) {
  ledger::CommittedBlock block;
  block.height = 7;
  for (char c : {'a', 'b', 'c'}) {
    ledger::CommittedTransaction transaction;
    transaction.id = std::string(64, c);
    transaction.asset_id = std::string(64, 'f');
    block.transactions.push_back(transaction);
  }
  const auto events = EncodeBlock(block);
  ASSERT_EQ(events->height, 7);
  ASSERT_EQ(events->transactions.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const TransactionEvent& event = events->transactions[i];
    EXPECT_EQ(event.transaction.id, block.transactions[i].id);
    EXPECT_EQ(event.message(), TransactionMessage(block.transactions[i], 7));
    EXPECT_EQ(event.frame, TextFrame(event.message()));
  }
}

}  // namespace
}  // namespace stream
