#include "ledger/crypto_condition.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "ledger/crypto.h"

namespace ledger {
namespace {

const nlohmann::json& Vectors() {
  static const nlohmann::json vectors = [] {
    std::ifstream file(LEDGERD_TEST_DATA_DIR "/js-driver-vectors.json");
    return nlohmann::json::parse(file);
  }();
  return vectors;
}

std::string Bytes(std::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

std::string Field(const nlohmann::json& object, const char* key) {
  return object.at(key).get<std::string>();
}

std::string Base64UrlBytes(const std::string& text) {
  std::optional<std::string> bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or("");
}

KeyPair KeyA() { return KeyPairFromSeed(Bytes(Field(Vectors().at("keypair_A"), "seed_hex"))); }
KeyPair KeyB() { return KeyPairFromSeed(Bytes(Field(Vectors().at("keypair_B"), "seed_hex"))); }
KeyPair KeyC() { return KeyPairFromSeed(std::string(kSeedSize, '\x42')); }

std::string ThresholdMessage() {
  return Bytes(Field(Vectors().at("threshold_2_of_2"), "example_message_hex"));
}

Fulfillment Ed25519(const KeyPair& keys, std::string_view message) {
  Fulfillment fulfillment;
  fulfillment.type = ConditionType::kEd25519Sha256;
  fulfillment.public_key = keys.public_key;
  fulfillment.signature = Sign(keys, message);
  return fulfillment;
}

Fulfillment Threshold(std::vector<Fulfillment> subfulfillments,
                      std::vector<Condition> subconditions = {}) {
  Fulfillment fulfillment;
  fulfillment.type = ConditionType::kThresholdSha256;
  fulfillment.threshold = static_cast<uint32_t>(subfulfillments.size());
  fulfillment.subfulfillments = std::move(subfulfillments);
  fulfillment.subconditions = std::move(subconditions);
  return fulfillment;
}

ConditionDetails Ed25519Details(const KeyPair& keys) {
  ConditionDetails details;
  details.type = ConditionType::kEd25519Sha256;
  details.public_key = keys.public_key;
  return details;
}

ConditionDetails ThresholdDetails(uint32_t threshold, std::vector<ConditionDetails> subconditions) {
  ConditionDetails details;
  details.type = ConditionType::kThresholdSha256;
  details.threshold = threshold;
  details.subconditions = std::move(subconditions);
  return details;
}

// The details tree of the vectors' JSON `details` object.
ConditionDetails DetailsFromJson(const nlohmann::json& json) {
  if (Field(json, "type") == "ed25519-sha-256") {
    ConditionDetails details;
    details.public_key = Base58Decode(Field(json, "public_key")).value();
    return details;
  }
  std::vector<ConditionDetails> subconditions;
  for (const nlohmann::json& subcondition : json.at("subconditions")) {
    subconditions.push_back(DetailsFromJson(subcondition));
  }
  return ThresholdDetails(json.at("threshold").get<uint32_t>(), std::move(subconditions));
}

// A DER element with a short- or long-form length, built independently of
// the code under test.
std::string Element(uint8_t tag, std::string_view contents) {
  std::string length;
  for (size_t rest = contents.size(); rest > 0; rest >>= 8) {
    length.insert(length.begin(), static_cast<char>(rest & 0xff));
  }
  std::string element(1, static_cast<char>(tag));
  if (contents.size() < 0x80) {
    element += static_cast<char>(contents.size());
  } else {
    element += static_cast<char>(0x80 | length.size());
    element += length;
  }
  element += contents;
  return element;
}

std::string ThresholdDer(std::string_view subfulfillments, std::string_view subconditions) {
  return Element(0xa2, Element(0xa0, subfulfillments) + Element(0xa1, subconditions));
}

// Wraps `inner` in `levels` thresholds of one sub-fulfillment each.
std::string NestInThresholds(std::string inner, int levels) {
  for (int i = 0; i < levels; ++i) inner = ThresholdDer(inner, "");
  return inner;
}

Status Parse(std::string_view der, Fulfillment* out = nullptr) {
  Fulfillment ignored;
  return Fulfillment::ParseDer(der, out != nullptr ? out : &ignored);
}

void ExpectInvalid(std::string_view der, std::string_view message_part) {
  const Status status = Parse(der);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidSignature) << HexEncode(der);
  EXPECT_NE(status.message().find(message_part), std::string::npos)
      << status.message() << " should mention " << message_part;
}

// --- Ed25519, byte for byte against the JavaScript driver ----------------

TEST(Ed25519ConditionTest, FingerprintIsSha256OfPublicKeyContents) {
  const nlohmann::json& create = Vectors().at("create");
  const KeyPair keys = KeyA();
  const std::string contents = Bytes(Field(create, "ed25519_fingerprint_contents_hex"));
  EXPECT_EQ(contents, Bytes("30228020") + keys.public_key);
  EXPECT_EQ(Ed25519Details(keys).ToCondition().fingerprint, Sha256(contents));
}

TEST(Ed25519ConditionTest, UriMatchesJsDriver) {
  const Condition condition = Ed25519Details(KeyA()).ToCondition();
  EXPECT_EQ(condition.Uri(), Field(Vectors().at("create"), "condition_uri"));
  EXPECT_EQ(condition.cost, kEd25519Cost);
  EXPECT_EQ(condition.subtypes, 0u);

  const nlohmann::json& output = Vectors().at("transfer").at("unsigned").at("outputs").at(0);
  EXPECT_EQ(DetailsFromJson(output.at("condition").at("details")).ToCondition().Uri(),
            Field(output.at("condition"), "uri"));
}

TEST(Ed25519ConditionTest, DerMatchesJsDriverSubconditions) {
  const nlohmann::json& subconditions = Vectors().at("threshold_2_of_2").at("subcondition_der_hex");
  EXPECT_EQ(HexEncode(Ed25519Details(KeyA()).ToCondition().Der()), subconditions.at(0));
  EXPECT_EQ(HexEncode(Ed25519Details(KeyB()).ToCondition().Der()), subconditions.at(1));
}

TEST(Ed25519FulfillmentTest, EncodesJsDriverCreateFulfillment) {
  const nlohmann::json& create = Vectors().at("create");
  Fulfillment fulfillment;
  fulfillment.public_key = KeyA().public_key;
  fulfillment.signature = Bytes(Field(create, "signature_hex"));
  const std::string der = fulfillment.Der();
  EXPECT_EQ(der.size(), 102u);
  EXPECT_EQ(HexEncode(der), Field(create, "fulfillment_der_hex"));
  EXPECT_EQ(Base64UrlEncode(der), Field(create, "fulfillment"));
}

TEST(Ed25519FulfillmentTest, ParsesAndVerifiesJsDriverFulfillments) {
  for (const char* name : {"create", "transfer"}) {
    SCOPED_TRACE(name);
    const nlohmann::json& vector = Vectors().at(name);
    const std::string der = Base64UrlBytes(Field(vector, "fulfillment"));
    Fulfillment fulfillment;
    ASSERT_TRUE(Parse(der, &fulfillment).ok());
    EXPECT_EQ(fulfillment.type, ConditionType::kEd25519Sha256);
    EXPECT_EQ(fulfillment.public_key, KeyA().public_key);
    EXPECT_EQ(HexEncode(fulfillment.signature), Field(vector, "signature_hex"));
    EXPECT_EQ(fulfillment.Der(), der);
    EXPECT_EQ(fulfillment.ToCondition().Uri(), Field(Vectors().at("create"), "condition_uri"));

    const std::string message = Bytes(Field(vector, "signed_message_sha3_256_hex"));
    EXPECT_TRUE(fulfillment.Verify(message));
    std::string flipped = message;
    flipped[0] ^= 0x01;
    EXPECT_FALSE(fulfillment.Verify(flipped));
  }
}

TEST(Ed25519FulfillmentTest, CollectsItsPublicKey) {
  std::vector<std::string> keys;
  Ed25519(KeyA(), "m").CollectPublicKeys(&keys);
  EXPECT_EQ(keys, std::vector<std::string>{KeyA().public_key});
}

// --- Threshold, byte for byte against the JavaScript driver --------------

TEST(ThresholdConditionTest, MatchesJsDriverTwoOfTwo) {
  const nlohmann::json& vector = Vectors().at("threshold_2_of_2");
  const Condition condition = DetailsFromJson(vector.at("details")).ToCondition();
  EXPECT_EQ(condition.Uri(), Field(vector, "condition_uri"));
  EXPECT_EQ(condition.cost, vector.at("cost").get<uint64_t>());
  EXPECT_EQ(condition.fingerprint, Sha256(Bytes(Field(vector, "fingerprint_contents_hex"))));
  EXPECT_EQ(condition.subtypes, 1u << 4);
}

TEST(ThresholdConditionTest, FingerprintContentsSortSubconditionsBytewise) {
  // The vector lists key A's condition first, but its DER sorts after B's.
  const nlohmann::json& vector = Vectors().at("threshold_2_of_2");
  const std::string a = Bytes(vector.at("subcondition_der_hex").at(0).get<std::string>());
  const std::string b = Bytes(vector.at("subcondition_der_hex").at(1).get<std::string>());
  ASSERT_LT(b, a);
  const std::string sorted_set = b + a;
  EXPECT_EQ(Bytes(Field(vector, "fingerprint_contents_hex")), Bytes("3057800102a152") + sorted_set);
  // Listing the keys in the other order describes the same condition.
  EXPECT_EQ(
      ThresholdDetails(2, {Ed25519Details(KeyB()), Ed25519Details(KeyA())}).ToCondition().Uri(),
      Field(vector, "condition_uri"));
}

TEST(ThresholdConditionTest, CostSumsLargestThresholdSubcostsPlusPerSubconditionFee) {
  Condition nested =
      ThresholdDetails(1, {Ed25519Details(KeyA()), Ed25519Details(KeyB())}).ToCondition();
  EXPECT_EQ(nested.cost, 131072u + 2 * 1024);
  const Condition outer =
      ThresholdDetails(1, {Ed25519Details(KeyC()),
                           ThresholdDetails(2, {Ed25519Details(KeyA()), Ed25519Details(KeyB())})})
          .ToCondition();
  EXPECT_EQ(outer.cost, (2 * 131072u + 2 * 1024) + 2 * 1024);
}

TEST(ThresholdConditionTest, NestedThresholdAdvertisesOnlyEd25519Subtype) {
  const Condition condition =
      ThresholdDetails(2, {Ed25519Details(KeyA()),
                           ThresholdDetails(1, {Ed25519Details(KeyB()), Ed25519Details(KeyC())})})
          .ToCondition();
  EXPECT_EQ(condition.subtypes, 1u << 4);
  EXPECT_TRUE(condition.Uri().ends_with("&subtypes=ed25519-sha-256")) << condition.Uri();
}

TEST(ConditionTest, EncodesSubtypesAsDerNamedBitString) {
  Condition condition;
  condition.type = ConditionType::kThresholdSha256;
  condition.cost = 0;
  condition.subtypes = 1u << 4;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("81010082020308"));
  condition.subtypes = (1u << 4) | (1u << 2);
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("82020328"));
  EXPECT_EQ(condition.Uri().substr(condition.Uri().find("&subtypes=")),
            "&subtypes=ed25519-sha-256,threshold-sha-256");
  condition.subtypes = 0;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("820100"));
  EXPECT_EQ(condition.Uri().find("subtypes"), std::string::npos);
}

TEST(ConditionTest, EncodesCostAsMinimalUnsignedInteger) {
  Condition condition;
  condition.cost = 0x7f;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("81017f"));
  condition.cost = 0x80;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("81020080"));
  condition.cost = kEd25519Cost;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("8103020000"));
  condition.cost = UINT64_MAX;
  EXPECT_TRUE(HexEncode(condition.Der()).ends_with("810900ffffffffffffffff"));
}

TEST(ConditionTest, NamesItsTypes) {
  EXPECT_EQ(ConditionTypeName(ConditionType::kEd25519Sha256), "ed25519-sha-256");
  EXPECT_EQ(ConditionTypeName(ConditionType::kThresholdSha256), "threshold-sha-256");
}

TEST(ThresholdFulfillmentTest, JsDriverTwoOfTwoRoundTripsAndVerifies) {
  const nlohmann::json& vector = Vectors().at("threshold_2_of_2");
  const std::string der = Base64UrlBytes(Field(vector, "fulfillment"));
  EXPECT_EQ(HexEncode(der), Field(vector, "fulfillment_der_hex"));

  Fulfillment fulfillment;
  const Status status = Parse(der, &fulfillment);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(fulfillment.type, ConditionType::kThresholdSha256);
  EXPECT_EQ(fulfillment.threshold, 2u);
  EXPECT_EQ(fulfillment.subfulfillments.size(), 2u);
  EXPECT_TRUE(fulfillment.subconditions.empty());
  EXPECT_EQ(fulfillment.Der(), der);
  EXPECT_EQ(fulfillment.ToCondition().Uri(), Field(vector, "condition_uri"));

  const std::string message = ThresholdMessage();
  EXPECT_TRUE(fulfillment.Verify(message));
  std::string flipped = message;
  flipped[31] ^= 0x80;
  EXPECT_FALSE(fulfillment.Verify(flipped));

  std::vector<std::string> keys;
  fulfillment.CollectPublicKeys(&keys);
  EXPECT_EQ(keys, (std::vector<std::string>{KeyA().public_key, KeyB().public_key}));
}

TEST(ThresholdFulfillmentTest, EncodesJsDriverTwoOfTwoFromEitherOrder) {
  const std::string message = ThresholdMessage();
  const std::string expected = Field(Vectors().at("threshold_2_of_2"), "fulfillment_der_hex");
  EXPECT_EQ(HexEncode(Threshold({Ed25519(KeyA(), message), Ed25519(KeyB(), message)}).Der()),
            expected);
  EXPECT_EQ(HexEncode(Threshold({Ed25519(KeyB(), message), Ed25519(KeyA(), message)}).Der()),
            expected);
}

TEST(ThresholdFulfillmentTest, OneOfTwoWithUnfulfilledSubconditionVerifies) {
  const std::string message = "one of two";
  const Fulfillment built =
      Threshold({Ed25519(KeyA(), message)}, {Ed25519Details(KeyB()).ToCondition()});
  Fulfillment parsed;
  ASSERT_TRUE(Parse(built.Der(), &parsed).ok());
  EXPECT_EQ(parsed.threshold, 1u);
  ASSERT_EQ(parsed.subconditions.size(), 1u);
  EXPECT_EQ(parsed.subconditions[0].Uri(), Ed25519Details(KeyB()).ToCondition().Uri());
  EXPECT_EQ(parsed.Der(), built.Der());
  EXPECT_TRUE(parsed.Verify(message));
  EXPECT_EQ(
      parsed.ToCondition().Uri(),
      ThresholdDetails(1, {Ed25519Details(KeyA()), Ed25519Details(KeyB())}).ToCondition().Uri());
}

TEST(ThresholdFulfillmentTest, TwoOfTwoWithOneSignatureFails) {
  const std::string message = ThresholdMessage();
  Fulfillment fulfillment =
      Threshold({Ed25519(KeyA(), message)}, {Ed25519Details(KeyB()).ToCondition()});
  fulfillment.threshold = 2;
  // It still describes the 2-of-2 condition but cannot satisfy it...
  EXPECT_EQ(fulfillment.ToCondition().Uri(),
            Field(Vectors().at("threshold_2_of_2"), "condition_uri"));
  EXPECT_FALSE(fulfillment.Verify(message));
  // ...and on the wire it reads as a 1-of-2, a different condition.
  Fulfillment parsed;
  ASSERT_TRUE(Parse(fulfillment.Der(), &parsed).ok());
  EXPECT_NE(parsed.ToCondition().Uri(), Field(Vectors().at("threshold_2_of_2"), "condition_uri"));
}

TEST(ThresholdFulfillmentTest, RequiresExactlyThresholdSubfulfillments) {
  const std::string message = "m";
  Fulfillment fulfillment = Threshold({Ed25519(KeyA(), message), Ed25519(KeyB(), message)});
  ASSERT_TRUE(fulfillment.Verify(message));
  fulfillment.threshold = 1;  // One signature too many: not minimal.
  EXPECT_FALSE(fulfillment.Verify(message));
  fulfillment.threshold = 3;
  EXPECT_FALSE(fulfillment.Verify(message));
  EXPECT_FALSE(Threshold({}).Verify(message));
}

TEST(ThresholdFulfillmentTest, FailsWhenAnySubfulfillmentSignatureIsBad) {
  const std::string message = "m";
  Fulfillment fulfillment = Threshold({Ed25519(KeyA(), message), Ed25519(KeyB(), "other")});
  EXPECT_FALSE(fulfillment.Verify(message));
}

TEST(ThresholdFulfillmentTest, NestedThresholdsRoundTripAndVerify) {
  const std::string message = "nested";
  // 2 of {A, 1 of {B, C}}, fulfilled by A and B.
  const Fulfillment built =
      Threshold({Ed25519(KeyA(), message),
                 Threshold({Ed25519(KeyB(), message)}, {Ed25519Details(KeyC()).ToCondition()})});
  Fulfillment parsed;
  const Status status = Parse(built.Der(), &parsed);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(parsed.Der(), built.Der());
  EXPECT_TRUE(parsed.Verify(message));
  EXPECT_FALSE(parsed.Verify("other"));

  const ConditionDetails details =
      ThresholdDetails(2, {Ed25519Details(KeyA()),
                           ThresholdDetails(1, {Ed25519Details(KeyB()), Ed25519Details(KeyC())})});
  EXPECT_EQ(parsed.ToCondition().Uri(), details.ToCondition().Uri());
  EXPECT_EQ(parsed.ToCondition().Der(), details.ToCondition().Der());

  std::vector<std::string> keys;
  parsed.CollectPublicKeys(&keys);
  EXPECT_EQ(keys.size(), 2u);
}

TEST(ThresholdFulfillmentTest, UnfulfilledNestedThresholdConditionRoundTrips) {
  const std::string message = "m";
  const Condition nested =
      ThresholdDetails(2, {Ed25519Details(KeyB()), Ed25519Details(KeyC())}).ToCondition();
  EXPECT_TRUE(HexEncode(nested.Der()).ends_with("82020308"));
  const Fulfillment built = Threshold({Ed25519(KeyA(), message)}, {nested});
  Fulfillment parsed;
  ASSERT_TRUE(Parse(built.Der(), &parsed).ok());
  ASSERT_EQ(parsed.subconditions.size(), 1u);
  EXPECT_EQ(parsed.subconditions[0].Der(), nested.Der());
  EXPECT_EQ(parsed.subconditions[0].subtypes, 1u << 4);
  EXPECT_TRUE(parsed.Verify(message));
}

TEST(ThresholdFulfillmentTest, LongFormLengthsRoundTrip) {
  const std::string message = "m";
  std::vector<Condition> unfulfilled;
  for (char seed = 1; seed <= 6; ++seed) {
    unfulfilled.push_back(
        Ed25519Details(KeyPairFromSeed(std::string(kSeedSize, seed))).ToCondition());
  }
  const Fulfillment built = Threshold({Ed25519(KeyA(), message)}, unfulfilled);
  const std::string der = built.Der();
  ASSERT_EQ(static_cast<uint8_t>(der[1]), 0x82);  // Over 255 bytes of contents.
  Fulfillment parsed;
  ASSERT_TRUE(Parse(der, &parsed).ok());
  EXPECT_EQ(parsed.Der(), der);
  EXPECT_TRUE(parsed.Verify(message));
}

// --- Depth and size limits -----------------------------------------------

TEST(FulfillmentDepthTest, AcceptsLeafAtDepth99) {
  const std::string message = "deep";
  const std::string der = NestInThresholds(Ed25519(KeyA(), message).Der(), kMaxConditionDepth - 1);
  Fulfillment parsed;
  const Status status = Parse(der, &parsed);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(parsed.Der(), der);
  EXPECT_TRUE(parsed.Verify(message));

  ConditionDetails details = Ed25519Details(KeyA());
  for (int i = 0; i < kMaxConditionDepth - 1; ++i) details = ThresholdDetails(1, {details});
  EXPECT_EQ(parsed.ToCondition().Uri(), details.ToCondition().Uri());
}

TEST(FulfillmentDepthTest, RejectsLeafAtDepth100AsThresholdTooDeep) {
  const std::string der = NestInThresholds(Ed25519(KeyA(), "deep").Der(), kMaxConditionDepth);
  EXPECT_EQ(Parse(der).code(), ErrorCode::kThresholdTooDeep);
}

TEST(FulfillmentDepthTest, RejectsHostileNestingWithoutExhaustingTheStack) {
  const std::string der = NestInThresholds(Ed25519(KeyA(), "deep").Der(), 5000);
  EXPECT_EQ(Parse(der).code(), ErrorCode::kThresholdTooDeep);
  // Headers that promise more bytes than exist stop at the outermost one.
  std::string headers;
  for (int i = 0; i < 100000; ++i) headers += "\xa2\x84\x7f\xff\xff\xff";
  EXPECT_EQ(Parse(headers).code(), ErrorCode::kInvalidSignature);
}

TEST(FulfillmentLimitTest, RejectsTooManySubconditions) {
  const Condition condition = Ed25519Details(KeyB()).ToCondition();
  const Fulfillment many =
      Threshold({Ed25519(KeyA(), "m")}, std::vector<Condition>(2000, condition));
  ExpectInvalid(many.Der(), "more than");
  const Fulfillment enough =
      Threshold({Ed25519(KeyA(), "m")}, std::vector<Condition>(500, condition));
  EXPECT_TRUE(Parse(enough.Der()).ok());
}

// --- Malformed DER --------------------------------------------------------

std::string VectorDer(const char* name) {
  return Base64UrlBytes(Field(Vectors().at(name), "fulfillment"));
}

TEST(FulfillmentParseTest, RejectsEmptyAndTinyInputs) {
  ExpectInvalid("", "missing");
  ExpectInvalid(Bytes("a4"), "truncated");
  ExpectInvalid(Bytes("a400"), "public key is missing");
  ExpectInvalid(Bytes("00"), "unsupported fulfillment type");
}

TEST(FulfillmentParseTest, RejectsUnsupportedTypes) {
  // Preimage (0), prefix (1) and RSA (3) fulfillments exist but are not
  // accepted by this ledger.
  ExpectInvalid(Bytes("a0028000"), "unsupported fulfillment type tag 0xa0");
  ExpectInvalid(Bytes("a1028000"), "unsupported fulfillment type tag 0xa1");
  ExpectInvalid(Bytes("a3028000"), "unsupported fulfillment type tag 0xa3");
  std::string der = VectorDer("create");
  der[0] = '\xa5';
  ExpectInvalid(der, "unsupported");
}

TEST(FulfillmentParseTest, RejectsTrailingBytes) {
  ExpectInvalid(VectorDer("create") + '\0', "trailing bytes after the fulfillment");
  // A byte of padding inside the ed25519 element.
  const std::string der = VectorDer("create");
  ExpectInvalid(Bytes("a465") + der.substr(2) + '\0', "trailing bytes inside an ed25519");
}

TEST(FulfillmentParseTest, RejectsEveryTruncation) {
  for (const char* name : {"create", "transfer", "threshold_2_of_2"}) {
    const std::string der = VectorDer(name);
    for (size_t length = 0; length < der.size(); ++length) {
      EXPECT_EQ(Parse(der.substr(0, length)).code(), ErrorCode::kInvalidSignature)
          << name << " cut to " << length;
    }
  }
}

TEST(FulfillmentParseTest, RejectsIndefiniteLength) {
  const std::string der = VectorDer("create");
  ExpectInvalid(Bytes("a480") + der.substr(2) + std::string(2, '\0'), "indefinite");
}

TEST(FulfillmentParseTest, RejectsLengthBeyondInput) {
  const std::string der = VectorDer("create");
  ExpectInvalid(Bytes("a465") + der.substr(2), "longer than the bytes left");
  ExpectInvalid(Bytes("a484ffffffff") + der.substr(2), "longer than the bytes left");
  ExpectInvalid(Bytes("a488ffffffffffffffff") + der.substr(2), "oversized length");
  ExpectInvalid(Bytes("a4ff"), "oversized length");
  ExpectInvalid(Bytes("a482ff"), "truncated length");
}

TEST(FulfillmentParseTest, RejectsNonMinimalLength) {
  const std::string der = VectorDer("create");
  ExpectInvalid(Bytes("a48164") + der.substr(2), "not minimally encoded");
  ExpectInvalid(Bytes("a4820064") + der.substr(2), "not minimally encoded");
}

TEST(FulfillmentParseTest, RejectsWrongFieldSizesAndTags) {
  const KeyPair keys = KeyA();
  const std::string signature(kSignatureSize, '\x01');
  const std::string short_key = keys.public_key.substr(1);
  ExpectInvalid(Element(0xa4, Element(0x80, short_key) + Bytes("8140") + signature),
                "public key is 31 bytes");
  ExpectInvalid(Bytes("a463") + Element(0x80, keys.public_key) + Element(0x81, signature.substr(1)),
                "signature is 63 bytes");
  ExpectInvalid(Bytes("a464") + Element(0x81, keys.public_key) + Bytes("8040") + signature,
                "expected 0x80");
}

TEST(FulfillmentParseTest, RejectsThresholdWithoutSubfulfillments) {
  ExpectInvalid(Bytes("a204a000a100"), "no sub-fulfillments");
  const std::string condition = Ed25519Details(KeyA()).ToCondition().Der();
  ExpectInvalid(Bytes("a22da000a129") + condition, "no sub-fulfillments");
}

TEST(FulfillmentParseTest, RejectsThresholdWithMissingOrExtraSets) {
  const std::string ed25519 = VectorDer("create");
  const std::string subfulfillments = Element(0xa0, ed25519);
  ExpectInvalid(Element(0xa2, subfulfillments), "sub-condition set is missing");
  ExpectInvalid(Element(0xa2, subfulfillments + Bytes("a100a100")),
                "trailing bytes inside a threshold");
  ExpectInvalid(Element(0xa2, Bytes("a100") + subfulfillments), "expected 0xa0");
}

TEST(FulfillmentParseTest, RejectsMalformedUnfulfilledConditions) {
  const std::string ed25519 = VectorDer("create");
  auto with_condition = [&](const std::string& condition) {
    return ThresholdDer(ed25519, condition);
  };
  const std::string fingerprint(32, '\x07');
  const std::string good = Element(0xa4, Element(0x80, fingerprint) + Bytes("8103020000"));
  ASSERT_TRUE(Parse(with_condition(good)).ok());

  ExpectInvalid(with_condition(Element(0xa0, Element(0x80, fingerprint) + Bytes("810100"))),
                "unsupported condition type tag 0xa0");
  ExpectInvalid(
      with_condition(Element(0xa4, Element(0x80, fingerprint.substr(1)) + Bytes("8103020000"))),
      "fingerprint is 31 bytes");
  ExpectInvalid(with_condition(Element(0xa4, Element(0x80, fingerprint) + Bytes("8100"))),
                "cost is empty");
  ExpectInvalid(with_condition(Element(0xa4, Element(0x80, fingerprint) + Bytes("8101ff"))),
                "cost is negative");
  ExpectInvalid(with_condition(Element(0xa4, Element(0x80, fingerprint) + Bytes("81020001"))),
                "cost is not minimally encoded");
  ExpectInvalid(
      with_condition(Element(0xa4, Element(0x80, fingerprint) + Bytes("8109010000000000000000"))),
      "cost exceeds 64 bits");
  // Subtypes belong to compound conditions only, and thresholds need them.
  ExpectInvalid(
      with_condition(Element(0xa4, Element(0x80, fingerprint) + Bytes("810302000082020308"))),
      "trailing bytes inside a condition");
  ExpectInvalid(with_condition(Element(0xa2, Element(0x80, fingerprint) + Bytes("8103020000"))),
                "subtypes is missing");
}

TEST(FulfillmentParseTest, RejectsMalformedSubtypes) {
  const std::string ed25519 = VectorDer("create");
  auto with_subtypes = [&](std::string_view subtypes_hex) {
    const std::string condition = Element(
        0xa2, Element(0x80, std::string(32, '\x07')) + Bytes("8103020000") + Bytes(subtypes_hex));
    return ThresholdDer(ed25519, condition);
  };
  EXPECT_TRUE(Parse(with_subtypes("82020308")).ok());
  EXPECT_TRUE(Parse(with_subtypes("820100")).ok());
  ExpectInvalid(with_subtypes("8200"), "subtypes bit string is empty");
  ExpectInvalid(with_subtypes("820103"), "claims unused bits");
  ExpectInvalid(with_subtypes("82020808"), "more than 7 unused bits");
  ExpectInvalid(with_subtypes("82020210"), "not minimally encoded");       // Trailing zero bit.
  ExpectInvalid(with_subtypes("82020780"), "unsupported condition type");  // Preimage.
  ExpectInvalid(with_subtypes("8206000000000001"), "too long");
}

TEST(FulfillmentParseTest, ByteFlipsParseOrFailCleanlyAndNeverVerify) {
  struct Case {
    const char* name;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"create", Bytes(Field(Vectors().at("create"), "signed_message_sha3_256_hex"))},
      {"transfer", Bytes(Field(Vectors().at("transfer"), "signed_message_sha3_256_hex"))},
      {"threshold_2_of_2", ThresholdMessage()},
  };
  for (const Case& test_case : cases) {
    const std::string der = VectorDer(test_case.name);
    for (size_t position = 0; position < der.size(); ++position) {
      for (uint8_t mask : {0x01, 0x02, 0x20, 0x80, 0xff}) {
        std::string mutated = der;
        mutated[position] = static_cast<char>(mutated[position] ^ mask);
        Fulfillment parsed;
        const Status status = Parse(mutated, &parsed);
        if (status.ok()) {
          EXPECT_FALSE(parsed.Verify(test_case.message))
              << test_case.name << " byte " << position << " ^ " << int{mask};
        } else {
          EXPECT_EQ(status.code(), ErrorCode::kInvalidSignature)
              << test_case.name << " byte " << position << " ^ " << int{mask};
        }
      }
    }
  }
}

TEST(FulfillmentParseTest, RejectsRandomGarbage) {
  std::mt19937 random(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string garbage(round % 200, '\0');
    for (char& c : garbage) c = static_cast<char>(byte(random));
    // Half the inputs start like a fulfillment so the parser goes deeper.
    if (round % 2 == 0 && garbage.size() >= 2) garbage[0] = (round % 4 == 0) ? '\xa2' : '\xa4';
    EXPECT_EQ(Parse(garbage).code(), ErrorCode::kInvalidSignature) << HexEncode(garbage);
  }
}

TEST(FulfillmentParseTest, LeavesOutputUntouchedOnFailure) {
  Fulfillment fulfillment = Ed25519(KeyA(), "m");
  const std::string before = fulfillment.Der();
  ASSERT_FALSE(Parse(VectorDer("create") + '\0', &fulfillment).ok());
  EXPECT_EQ(fulfillment.Der(), before);
}

}  // namespace
}  // namespace ledger
