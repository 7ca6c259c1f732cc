#include "stream/subscription.h"

#include <gtest/gtest.h>

#include <string>

#include "ledger/crypto.h"

namespace stream {
namespace {

const std::string kAssetId(64, 'a');
const std::string kOtherAssetId(64, 'b');

// A Base58 public key of 32 bytes.
std::string Key(char byte) { return ledger::Base58Encode(std::string(32, byte)); }

ledger::CommittedTransaction Transaction(ledger::Operation operation, std::string asset_id,
                                         std::vector<std::string> public_keys) {
  ledger::CommittedTransaction transaction;
  transaction.id = std::string(64, 'c');
  transaction.asset_id = std::move(asset_id);
  transaction.operation = operation;
  transaction.public_keys = std::move(public_keys);
  return transaction;
}

Subscription ParseOk(const std::string& query) {
  Subscription subscription;
  std::string error;
  EXPECT_TRUE(ParseSubscription(query, &subscription, &error)) << query << ": " << error;
  return subscription;
}

std::string ParseError(const std::string& query) {
  Subscription subscription;
  std::string error;
  EXPECT_FALSE(ParseSubscription(query, &subscription, &error)) << query;
  return error;
}

TEST(SubscriptionTest, EmptyQueryMatchesEverythingLive) {
  const Subscription subscription = ParseOk("");
  EXPECT_FALSE(subscription.from_height);
  EXPECT_TRUE(subscription.MatchesEverything());
  EXPECT_TRUE(subscription.Matches(Transaction(ledger::Operation::kCreate, kAssetId, {})));
}

TEST(SubscriptionTest, ParsesEveryParameter) {
  const Subscription subscription = ParseOk("from_height=12&asset_id=" + kAssetId +
                                            "&public_key=" + Key(7) + "&operation=TRANSFER");
  EXPECT_EQ(subscription.from_height, 12);
  EXPECT_EQ(subscription.asset_id, kAssetId);
  EXPECT_EQ(subscription.public_key, Key(7));
  EXPECT_EQ(subscription.operation, ledger::Operation::kTransfer);
  EXPECT_FALSE(subscription.MatchesEverything());
}

TEST(SubscriptionTest, FromHeightZeroAndPercentEncodingAccepted) {
  EXPECT_EQ(ParseOk("from_height=0").from_height, 0);
  EXPECT_EQ(ParseOk("operation=%43REATE").operation, ledger::Operation::kCreate);
}

TEST(SubscriptionTest, RejectsBadFromHeight) {
  for (const char* value :
       {"", "-1", "%2B1", "1.5", "abc", "1e3", "%201", "99999999999999999999"}) {
    EXPECT_NE(ParseError(std::string("from_height=") + value).find("from_height"),
              std::string::npos)
        << value;
  }
  EXPECT_NE(ParseError("from_height").find("from_height"), std::string::npos);
}

TEST(SubscriptionTest, RejectsBadAssetId) {
  for (const std::string& value :
       {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'), std::string(64, 'g')}) {
    EXPECT_NE(ParseError("asset_id=" + value).find("asset_id"), std::string::npos) << value;
  }
}

TEST(SubscriptionTest, RejectsBadPublicKey) {
  const std::string short_key = ledger::Base58Encode(std::string(31, 'x'));
  const std::string long_key = ledger::Base58Encode(std::string(33, 'x'));
  for (const std::string& value : {std::string("0OIl"), short_key, long_key, std::string()}) {
    EXPECT_NE(ParseError("public_key=" + value).find("public_key"), std::string::npos) << value;
  }
}

TEST(SubscriptionTest, RejectsBadOperation) {
  for (const char* value : {"create", "Transfer", "VALIDATOR_ELECTION", ""}) {
    EXPECT_NE(ParseError(std::string("operation=") + value).find("operation"), std::string::npos)
        << value;
  }
}

TEST(SubscriptionTest, LastValueEndsWithTheQuery) {
  // The query is a view into the request; what follows it is not part of it.
  const std::string request = "operation=CREATE HTTP/1.1";
  Subscription subscription;
  std::string error;
  ASSERT_TRUE(ParseSubscription(std::string_view(request).substr(0, 16), &subscription, &error))
      << error;
  EXPECT_EQ(subscription.operation, ledger::Operation::kCreate);
}

TEST(SubscriptionTest, RejectsUnknownAndRepeatedParameters) {
  EXPECT_NE(ParseError("height=1").find("unknown parameter 'height'"), std::string::npos);
  EXPECT_NE(ParseError("from_height=1&from_height=2").find("more than once"), std::string::npos);
}

TEST(SubscriptionTest, ParsesAfterTransactionId) {
  Subscription subscription;
  std::string error;
  ASSERT_TRUE(
      ParseSubscription("after_transaction_id=" + std::string(kAssetId) + "&operation=TRANSFER",
                        &subscription, &error))
      << error;
  EXPECT_EQ(subscription.after_transaction_id, std::string(kAssetId));
  EXPECT_FALSE(subscription.from_height);
  EXPECT_FALSE(subscription.after_position);  // the server looks it up
}

TEST(SubscriptionTest, RejectsMalformedAfterTransactionId) {
  EXPECT_NE(ParseError("after_transaction_id=1234").find("after_transaction_id must be 64"),
            std::string::npos);
  EXPECT_NE(ParseError("after_transaction_id=" + std::string(64, 'A')).find("lower-case"),
            std::string::npos);
}

TEST(SubscriptionTest, RejectsBothResumePoints) {
  EXPECT_NE(ParseError("from_height=3&after_transaction_id=" + std::string(kAssetId))
                .find("exclude each other"),
            std::string::npos);
}

TEST(SubscriptionTest, FiltersCombineWithAnd) {
  Subscription subscription;
  subscription.asset_id = kAssetId;
  subscription.public_key = Key(1);
  subscription.operation = ledger::Operation::kTransfer;

  EXPECT_TRUE(
      subscription.Matches(Transaction(ledger::Operation::kTransfer, kAssetId, {Key(2), Key(1)})));
  EXPECT_FALSE(subscription.Matches(Transaction(ledger::Operation::kCreate, kAssetId, {Key(1)})));
  EXPECT_FALSE(
      subscription.Matches(Transaction(ledger::Operation::kTransfer, kOtherAssetId, {Key(1)})));
  EXPECT_FALSE(subscription.Matches(Transaction(ledger::Operation::kTransfer, kAssetId, {Key(2)})));
}

}  // namespace
}  // namespace stream
