#include "ledger/transaction.h"

#include <gtest/gtest.h>

#include "ledger/state.h"
#include "ledger_test_util.h"

namespace ledger {
namespace {

using testing::Create;
using testing::IdOf;
using testing::LoadVectors;
using testing::ParseOrDie;
using testing::Pub;
using testing::Signed;
using testing::TestKey;

KeyPair VectorKey(const nlohmann::json& vectors, const char* name) {
  return KeyPairFromSeed(*HexDecode(vectors[name]["seed_hex"].get<std::string>()));
}

// Re-serializes `tx` after `edit` and recomputes its id, so the edit reaches
// the checks after the hash.
template <typename Edit>
std::string Edited(const std::string& raw, Edit edit) {
  JsonValue tx = ParseOrDie(raw);
  edit(tx);
  tx.Set("id", JsonValue::String(ComputeId(tx)));
  return CanonicalJson(tx);
}

JsonValue& Member(JsonValue& object, std::string_view key) { return *object.FindMutable(key); }

Status StatelessStatus(const std::string& raw) {
  auto checked = CheckStateless(raw);
  return checked->status.ok() ? checked->signature_status : checked->status;
}

TEST(TransactionVectorsTest, CreateMatchesTheJavaScriptDriver) {
  nlohmann::json vectors = LoadVectors();
  KeyPair a = VectorKey(vectors, "keypair_A");
  EXPECT_EQ(Pub(a), vectors["keypair_A"]["publicKey_b58"]);
  EXPECT_EQ(Base58Encode(a.seed), vectors["keypair_A"]["privateKey_b58"]);

  JsonValue unsigned_tx =
      MakeCreate({Pub(a)}, JsonValue::Object({{"msg", JsonValue::String("hello bigchaindb")}}),
                 JsonValue::Object({{"n", JsonValue::Number("1")}}), {{{Pub(a)}, 1}});
  EXPECT_EQ(SigningBody(unsigned_tx), vectors["create"]["signing_body"]);
  EXPECT_EQ(CanonicalJson(unsigned_tx),
            CanonicalJson(ParseOrDie(vectors["create"]["unsigned"].dump())));

  std::string signed_tx = Signed(unsigned_tx, {a});
  EXPECT_EQ(signed_tx, CanonicalJson(ParseOrDie(vectors["create"]["signed"].dump())));
  EXPECT_EQ(IdOf(signed_tx), vectors["create"]["id"]);

  JsonValue with_null_id = ParseOrDie(signed_tx);
  with_null_id.Set("id", JsonValue::Null());
  EXPECT_EQ(CanonicalJson(with_null_id), vectors["create"]["id_body"]);
}

TEST(TransactionVectorsTest, TransferMatchesTheJavaScriptDriver) {
  nlohmann::json vectors = LoadVectors();
  KeyPair a = VectorKey(vectors, "keypair_A");
  KeyPair b = VectorKey(vectors, "keypair_B");
  std::string create_id = vectors["create"]["id"];
  JsonValue unsigned_tx =
      MakeTransfer({{create_id, 0, {Pub(a)}}}, create_id, JsonValue::Null(), {{{Pub(b)}, 1}});
  std::string body = SigningBody(unsigned_tx);
  EXPECT_EQ(body, vectors["transfer"]["signing_body"]);

  Input input;
  input.fulfills = OutputLink{create_id, 0};
  EXPECT_EQ(HexEncode(InputMessage(body, input)),
            vectors["transfer"]["signed_message_sha3_256_hex"]);

  std::string signed_tx = Signed(unsigned_tx, {a});
  EXPECT_EQ(signed_tx, CanonicalJson(ParseOrDie(vectors["transfer"]["signed"].dump())));
  EXPECT_EQ(IdOf(signed_tx), vectors["transfer"]["id"]);
}

TEST(TransactionVectorsTest, DriverTransactionsPassStatelessChecks) {
  nlohmann::json vectors = LoadVectors();
  for (const char* name : {"create", "transfer"}) {
    // As the driver sends them: its own key order, not canonical.
    auto checked = CheckStateless(vectors[name]["signed"].dump());
    ASSERT_TRUE(checked->status.ok()) << name << ": " << checked->status.ToString();
    EXPECT_TRUE(checked->signature_status.ok()) << checked->signature_status.ToString();
    EXPECT_EQ(checked->transaction->id, vectors[name]["id"]);
    EXPECT_EQ(checked->transaction->asset_id, vectors["create"]["id"]);
  }
}

TEST(TransactionVectorsTest, KeepsTheRawBytes) {
  std::string raw = LoadVectors()["create"]["signed"].dump(2);
  EXPECT_EQ(CheckStateless(raw)->transaction->raw, raw);
}

TEST(TransactionTest, MalformedInputsAreRejectedCleanly) {
  std::string valid = Create(TestKey(1));
  const std::string cases[] = {
      valid.substr(0, valid.size() / 2),                // truncated
      "[" + valid + "]",                                // not an object
      std::string(1000000, '['),                        // 10^6 nested arrays
      "{\"a\":\"" + std::string(2 << 20, 'x') + "\"}",  // 2 MiB
      "{\"id\":\"\xff\xfe\"}",                          // invalid UTF-8
      R"({"id":"a","id":"b"})",                         // duplicate keys
      R"({"id":1e400})",                                // number out of range
      "",
  };
  for (const std::string& raw : cases) {
    auto checked = CheckStateless(raw);
    EXPECT_EQ(checked->status.code(), ErrorCode::kMalformedTransaction)
        << raw.substr(0, 40) << " -> " << checked->status.ToString();
    EXPECT_EQ(checked->transaction, nullptr);
  }
}

TEST(TransactionTest, InvalidHash) {
  JsonValue tx = ParseOrDie(Create(TestKey(1)));
  tx.Set("metadata", JsonValue::Object({{"x", JsonValue::Number("1")}}));
  Status status = StatelessStatus(CanonicalJson(tx));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidHash) << status.ToString();
}

TEST(TransactionTest, SchemaValidationErrors) {
  std::string valid = Create(TestKey(1));
  std::vector<std::pair<std::string, std::function<void(JsonValue&)>>> edits = {
      {"wrong version", [](JsonValue& tx) { tx.Set("version", JsonValue::String("1.0")); }},
      {"extra property", [](JsonValue& tx) { tx.Set("extra", JsonValue::Null()); }},
      {"election",
       [](JsonValue& tx) { tx.Set("operation", JsonValue::String("VALIDATOR_ELECTION")); }},
      {"unknown operation", [](JsonValue& tx) { tx.Set("operation", JsonValue::String("BURN")); }},
      {"empty metadata", [](JsonValue& tx) { tx.Set("metadata", JsonValue::Object()); }},
      {"asset data string",
       [](JsonValue& tx) {
         tx.Set("asset", JsonValue::Object({{"data", JsonValue::String("x")}}));
       }},
      {"amount not a string",
       [](JsonValue& tx) {
         Member(Member(tx, "outputs").mutable_items()[0], "amount") = JsonValue::Number("1");
       }},
      {"non-base58 key",
       [](JsonValue& tx) {
         Member(Member(tx, "outputs").mutable_items()[0], "public_keys") =
             JsonValue::Array({JsonValue::String("0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OI")});
       }},
      {"two CREATE inputs",
       [](JsonValue& tx) {
         auto& inputs = Member(tx, "inputs").mutable_items();
         inputs.push_back(inputs[0]);
       }},
      {"uri not matching details",
       [](JsonValue& tx) {
         Member(Member(Member(tx, "outputs").mutable_items()[0], "condition"), "uri") =
             JsonValue::String("ni:///sha-256;AAAA?fpt=ed25519-sha-256&cost=131072");
       }},
      {"no outputs", [](JsonValue& tx) { Member(tx, "outputs").mutable_items().clear(); }},
  };
  for (auto& [name, edit] : edits) {
    Status status = StatelessStatus(Edited(valid, edit));
    EXPECT_EQ(status.code(), ErrorCode::kSchemaValidationError)
        << name << ": " << status.ToString();
  }
  JsonValue no_id = ParseOrDie(valid);
  no_id.mutable_members().erase(no_id.mutable_members().begin() + 1);  // "id"
  EXPECT_EQ(StatelessStatus(CanonicalJson(no_id)).code(), ErrorCode::kSchemaValidationError);
}

TEST(TransactionTest, AmountErrors) {
  std::string valid = Create(TestKey(1));
  for (const char* amount : {"0", "01", "9000000000000000001", "99999999999999999999"}) {
    std::string raw = Edited(valid, [amount](JsonValue& tx) {
      Member(Member(tx, "outputs").mutable_items()[0], "amount") = JsonValue::String(amount);
    });
    EXPECT_EQ(StatelessStatus(raw).code(), ErrorCode::kAmountError) << amount;
  }
}

TEST(TransactionTest, InvalidSignatureForGarbageFulfillment) {
  for (const char* fulfillment : {"!!notbase64!!", "AAAA", "pGSAIAOhB7_zzhC"}) {
    std::string raw = Edited(Create(TestKey(1)), [fulfillment](JsonValue& tx) {
      Member(Member(tx, "inputs").mutable_items()[0], "fulfillment") =
          JsonValue::String(fulfillment);
    });
    auto checked = CheckStateless(raw);
    EXPECT_EQ(checked->status.code(), ErrorCode::kInvalidSignature) << fulfillment;
  }
}

TEST(TransactionTest, InvalidSignatureWhenSignedByAnotherKey) {
  KeyPair owner = TestKey(1);
  KeyPair other = TestKey(2);
  JsonValue tx =
      MakeCreate({Pub(owner)}, JsonValue::Null(), JsonValue::Null(), {{{Pub(owner)}, 1}});
  // Signed by `other` but claiming `owner` as owners_before.
  std::string forged = Signed(tx, {other, owner});
  JsonValue forged_json = ParseOrDie(forged);
  JsonValue by_other = ParseOrDie(
      Signed(MakeCreate({Pub(other)}, JsonValue::Null(), JsonValue::Null(), {{{Pub(owner)}, 1}}),
             {other}));
  Member(Member(forged_json, "inputs").mutable_items()[0], "fulfillment") =
      *Member(by_other, "inputs").items()[0].Find("fulfillment");
  forged_json.Set("id", JsonValue::String(ComputeId(forged_json)));
  auto checked = CheckStateless(CanonicalJson(forged_json));
  EXPECT_EQ(checked->status.code(), ErrorCode::kInvalidSignature) << checked->status.ToString();
}

TEST(TransactionTest, TamperedSignatureFailsVerification) {
  std::string raw = Edited(Create(TestKey(1)), [](JsonValue& tx) {
    JsonValue& fulfillment = Member(Member(tx, "inputs").mutable_items()[0], "fulfillment");
    std::string der = *Base64UrlDecode(fulfillment.text());
    der[der.size() - 1] ^= 1;
    fulfillment = JsonValue::String(Base64UrlEncode(der));
  });
  auto checked = CheckStateless(raw);
  ASSERT_TRUE(checked->status.ok()) << checked->status.ToString();
  EXPECT_EQ(checked->signature_status.code(), ErrorCode::kInvalidSignature);
}

// One DER element: where its contents start and how long they are.
struct DerElement {
  size_t contents = 0;
  size_t length = 0;
  size_t end() const { return contents + length; }
};

DerElement ReadDer(const std::string& der, size_t at) {
  size_t length = static_cast<uint8_t>(der[at + 1]);
  size_t header = 2;
  if (length & 0x80) {
    const size_t bytes = length & 0x7f;
    length = 0;
    for (size_t i = 0; i < bytes; ++i)
      length = (length << 8) | static_cast<uint8_t>(der[at + 2 + i]);
    header += bytes;
  }
  return {at + header, length};
}

// The same value as a valid 2-of-2 fulfillment, spelt another way, must not
// give the same transaction a second id.
TEST(TransactionTest, OnlyTheCanonicalFulfillmentSpellingIsAccepted) {
  KeyPair a = TestKey(1), b = TestKey(2);
  const std::string valid = Signed(
      MakeCreate({Pub(a), Pub(b)}, JsonValue::Null(), JsonValue::Null(), {{{Pub(a)}, 1}}), {a, b});
  ASSERT_TRUE(StatelessStatus(valid).ok());
  const JsonValue parsed = ParseOrDie(valid);
  const std::string fulfillment(parsed.Find("inputs")->items()[0].Find("fulfillment")->text());
  ASSERT_EQ(fulfillment.size() % 4, 3u) << "the padding case below needs one '=' of padding";

  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string unused_bit = fulfillment;
  unused_bit.back() = alphabet[alphabet.find(unused_bit.back()) ^ 1];

  // Threshold fulfillment: [2] { [0] SET OF subfulfillments, [1] SET OF
  // subconditions }; swap the two subfulfillments.
  std::string der = *Base64UrlDecode(fulfillment);
  const DerElement threshold = ReadDer(der, 0);
  const DerElement members = ReadDer(der, threshold.contents);
  const DerElement first = ReadDer(der, members.contents);
  const DerElement second = ReadDer(der, first.end());
  const size_t first_start = members.contents;
  const size_t second_start = first.end();
  const std::string swapped_der =
      der.substr(0, first_start) + der.substr(second_start, second.end() - second_start) +
      der.substr(first_start, first.end() - first_start) + der.substr(second.end());
  ASSERT_NE(swapped_der, der);
  ASSERT_EQ(swapped_der.size(), der.size());

  for (const std::string& respelt : {fulfillment + "=", unused_bit, Base64UrlEncode(swapped_der)}) {
    ASSERT_TRUE(Base64UrlDecode(respelt).has_value()) << "still decodes: " << respelt;
    std::string raw = Edited(valid, [&](JsonValue& tx) {
      Member(Member(tx, "inputs").mutable_items()[0], "fulfillment") = JsonValue::String(respelt);
    });
    auto checked = CheckStateless(raw);
    EXPECT_EQ(checked->status.code(), ErrorCode::kInvalidSignature) << respelt;
    EXPECT_NE(checked->status.message().find("canonical"), std::string::npos)
        << checked->status.ToString();
  }
}

TEST(TransactionTest, ThresholdTooDeep) {
  auto nested = [](int levels) {
    ConditionDetails leaf;
    leaf.public_key = TestKey(1).public_key;
    JsonValue details = JsonValue::Object({{"type", JsonValue::String("ed25519-sha-256")},
                                           {"public_key", JsonValue::String(Pub(TestKey(1)))}});
    ConditionDetails tree = leaf;
    for (int i = 0; i < levels; ++i) {
      details = JsonValue::Object({{"type", JsonValue::String("threshold-sha-256")},
                                   {"threshold", JsonValue::Number("1")},
                                   {"subconditions", JsonValue::Array({details})}});
      ConditionDetails parent;
      parent.type = ConditionType::kThresholdSha256;
      parent.threshold = 1;
      parent.subconditions.push_back(tree);
      tree = parent;
    }
    return Edited(Create(TestKey(1)), [&](JsonValue& tx) {
      Member(Member(tx, "outputs").mutable_items()[0], "condition") = JsonValue::Object(
          {{"details", details}, {"uri", JsonValue::String(tree.ToCondition().Uri())}});
    });
  };
  EXPECT_EQ(StatelessStatus(nested(99)).code(), ErrorCode::kInvalidSignature)
      << "99 levels are allowed; only the re-id'd signature fails";
  EXPECT_EQ(StatelessStatus(nested(100)).code(), ErrorCode::kThresholdTooDeep);
}

TEST(TransactionTest, PublicKeysListsOutputsThenOwnersOnce) {
  KeyPair a = TestKey(1), b = TestKey(2);
  std::string create = Create(a);
  auto checked = CheckStateless(testing::Transfer(create, 0, a, IdOf(create), b));
  ASSERT_TRUE(checked->status.ok());
  EXPECT_EQ(checked->transaction->PublicKeys(), (std::vector<std::string>{Pub(b), Pub(a)}));
}

}  // namespace
}  // namespace ledger
