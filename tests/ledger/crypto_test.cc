#include "ledger/crypto.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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

KeyPair KeyPairFromVector(const char* name) {
  return KeyPairFromSeed(Bytes(Field(Vectors().at(name), "seed_hex")));
}

TEST(Sha3Test, MatchesFips202NotKeccak) {
  // Keccak-256("") would be c5d24601...; FIPS-202 padding gives a7ffc6f8...
  EXPECT_EQ(HexEncode(Sha3_256("")),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  EXPECT_EQ(HexEncode(Sha3_256("abc")),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

TEST(Sha256Test, MatchesFips180Vectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestBytesTest, ReturnsTheThirtyTwoRawBytes) {
  const Digest digest = Sha256("abc");
  const std::string bytes = DigestBytes(digest);
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(HexEncode(bytes), HexEncode(digest));
}

TEST(HexTest, EncodesLowerCase) {
  EXPECT_EQ(HexEncode(std::string("\x00\xab\xff", 3)), "00abff");
  EXPECT_EQ(HexEncode(std::string_view()), "");
}

TEST(HexTest, DecodesEitherCase) {
  EXPECT_EQ(HexDecode("00abFF"), std::string("\x00\xab\xff", 3));
  EXPECT_EQ(HexDecode(""), std::string());
}

TEST(HexTest, RejectsOddLength) {
  EXPECT_EQ(HexDecode("abc"), std::nullopt);
  EXPECT_EQ(HexDecode("0"), std::nullopt);
}

TEST(HexTest, RejectsNonHexCharacters) {
  EXPECT_EQ(HexDecode("0g"), std::nullopt);
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
  EXPECT_EQ(HexDecode(" 0"), std::nullopt);
  EXPECT_EQ(HexDecode(std::string("0\0", 2)), std::nullopt);
}

TEST(Base58Test, EncodesLeadingZeroBytesAsOnes) {
  EXPECT_EQ(Base58Encode(std::string("\0\0\x01", 3)), "112");
  EXPECT_EQ(Base58Encode(std::string(3, '\0')), "111");
  EXPECT_EQ(Base58Encode(""), "");
}

TEST(Base58Test, MatchesBitcoinAlphabetVectors) {
  EXPECT_EQ(Base58Encode("Hello World!"), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(Base58Encode(std::string("\x00\x00\x28\x7f\xb4\xcd", 6)), "11233QC4");
  EXPECT_EQ(Base58Decode("2NEpo7TZRRrLZSi2U"), "Hello World!");
}

TEST(Base58Test, DecodesLeadingOnesAsZeroBytes) {
  EXPECT_EQ(Base58Decode("112"), std::string("\0\0\x01", 3));
  EXPECT_EQ(Base58Decode("1"), std::string(1, '\0'));
}

TEST(Base58Test, RoundTripsArbitraryBytes) {
  std::string bytes;
  for (int length = 0; length < 70; ++length) {
    SCOPED_TRACE(length);
    const std::string zero_prefixed = std::string(length % 4, '\0') + bytes;
    if (!zero_prefixed.empty()) {
      EXPECT_EQ(Base58Decode(Base58Encode(zero_prefixed)), zero_prefixed);
    }
    bytes += static_cast<char>(length * 37 + 255);
  }
}

TEST(Base58Test, RejectsCharactersOutsideAlphabet) {
  for (const char* text : {"0", "O", "I", "l", "+", "abc/", "3ogU n1", "é"}) {
    EXPECT_EQ(Base58Decode(text), std::nullopt) << text;
  }
}

TEST(Base58Test, RejectsEmptyAndOverlongInput) {
  EXPECT_EQ(Base58Decode(""), std::nullopt);
  EXPECT_TRUE(Base58Decode(std::string(128, '2')).has_value());
  EXPECT_EQ(Base58Decode(std::string(129, '2')), std::nullopt);
}

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesUrlSafeAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64UrlTest, DecodesWithOrWithoutCorrectPadding) {
  EXPECT_EQ(Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(Base64UrlDecode("Zg=="), "f");
  EXPECT_EQ(Base64UrlDecode("Zm8"), "fo");
  EXPECT_EQ(Base64UrlDecode("Zm8="), "fo");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64UrlDecode(""), "");
}

TEST(Base64UrlTest, RejectsWrongOrMisplacedPadding) {
  for (const char* text :
       {"Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v====", "Z=g=", "Zg==Zg==", "=", "=="}) {
    EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << text;
  }
}

TEST(Base64UrlTest, RejectsImpossibleLength) {
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9vY"), std::nullopt);
}

TEST(Base64UrlTest, RejectsStandardAlphabetAndOtherCharacters) {
  for (const char* text : {"+/8", "ab/c", "Zm 9v", "Zm9v\n"}) {
    EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << text;
  }
}

TEST(Base64UrlTest, RoundTripsArbitraryBytes) {
  std::string bytes;
  for (int length = 0; length < 70; ++length) {
    SCOPED_TRACE(length);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
    bytes += static_cast<char>(length * 91 + 7);
  }
}

TEST(KeyPairTest, DerivesJsDriverKeysFromSeeds) {
  for (const char* name : {"keypair_A", "keypair_B"}) {
    SCOPED_TRACE(name);
    const nlohmann::json& vector = Vectors().at(name);
    const KeyPair keys = KeyPairFromVector(name);
    EXPECT_EQ(HexEncode(keys.public_key), Field(vector, "public_key_hex"));
    EXPECT_EQ(Base58Encode(keys.public_key), Field(vector, "publicKey_b58"));
    EXPECT_EQ(Base58Encode(keys.seed), Field(vector, "privateKey_b58"));
    EXPECT_EQ(Base58Decode(Field(vector, "privateKey_b58")), keys.seed);
    EXPECT_EQ(keys.secret_key.size(), 64u);
  }
}

TEST(KeyPairTest, GeneratesDistinctWorkingKeys) {
  const KeyPair first = GenerateKeyPair();
  const KeyPair second = GenerateKeyPair();
  EXPECT_NE(first.seed, second.seed);
  EXPECT_EQ(KeyPairFromSeed(first.seed).public_key, first.public_key);
  EXPECT_TRUE(Verify(first.public_key, "message", Sign(first, "message")));
}

TEST(SignTest, ReproducesJsDriverCreateSignature) {
  const nlohmann::json& create = Vectors().at("create");
  const Digest digest = Sha3_256(Field(create, "signing_body"));
  EXPECT_EQ(HexEncode(digest), Field(create, "signed_message_sha3_256_hex"));

  const KeyPair keys = KeyPairFromVector("keypair_A");
  const std::string signature = Sign(keys, DigestBytes(digest));
  EXPECT_EQ(HexEncode(signature), Field(create, "signature_hex"));
  EXPECT_TRUE(Verify(keys.public_key, DigestBytes(digest), signature));
}

TEST(SignTest, ReproducesJsDriverTransferSignature) {
  const nlohmann::json& transfer = Vectors().at("transfer");
  const Digest digest =
      Sha3_256(Field(transfer, "signing_body") + Field(transfer, "signed_message_preimage_suffix"));
  EXPECT_EQ(HexEncode(digest), Field(transfer, "signed_message_sha3_256_hex"));

  const KeyPair keys = KeyPairFromVector("keypair_A");
  const std::string signature = Sign(keys, DigestBytes(digest));
  EXPECT_EQ(HexEncode(signature), Field(transfer, "signature_hex"));
  EXPECT_TRUE(Verify(keys.public_key, DigestBytes(digest), signature));
}

TEST(TransactionIdTest, IsSha3OfTheJsDriverIdBody) {
  const nlohmann::json& create = Vectors().at("create");
  EXPECT_EQ(HexEncode(Sha3_256(Field(create, "id_body"))), Field(create, "id"));
  EXPECT_EQ(Field(create.at("signed"), "id"), Field(create, "id"));
}

TEST(TransactionIdTest, TransferIdCoversTheFulfillment) {
  // The vectors give no transfer id body; it is the signing body with the
  // fulfillment filled in.
  const nlohmann::json& transfer = Vectors().at("transfer");
  std::string id_body = Field(transfer, "signing_body");
  const std::string placeholder = "\"fulfillment\":null";
  const size_t position = id_body.find(placeholder);
  ASSERT_NE(position, std::string::npos);
  id_body.replace(position, placeholder.size(),
                  "\"fulfillment\":\"" + Field(transfer, "fulfillment") + "\"");
  EXPECT_EQ(HexEncode(Sha3_256(id_body)), Field(transfer, "id"));
}

TEST(VerifyTest, RejectsTamperedMessageSignatureOrKey) {
  const KeyPair keys = KeyPairFromVector("keypair_A");
  const KeyPair other = KeyPairFromVector("keypair_B");
  const std::string signature = Sign(keys, "message");
  std::string flipped_signature = signature;
  flipped_signature[10] ^= 0x01;
  EXPECT_TRUE(Verify(keys.public_key, "message", signature));
  EXPECT_FALSE(Verify(keys.public_key, "messagE", signature));
  EXPECT_FALSE(Verify(keys.public_key, "message", flipped_signature));
  EXPECT_FALSE(Verify(other.public_key, "message", signature));
}

TEST(VerifyTest, RejectsWrongSizes) {
  const KeyPair keys = KeyPairFromVector("keypair_A");
  const std::string signature = Sign(keys, "message");
  EXPECT_FALSE(Verify(keys.public_key.substr(1), "message", signature));
  EXPECT_FALSE(Verify(keys.public_key, "message", signature.substr(1)));
  EXPECT_FALSE(Verify(keys.public_key, "message", signature + '\0'));
  EXPECT_FALSE(Verify("", "message", ""));
}

TEST(VerifyTest, CountsEveryCall) {
  const KeyPair keys = KeyPairFromVector("keypair_A");
  const std::string signature = Sign(keys, "message");
  const uint64_t before = VerifyCount();
  Verify(keys.public_key, "message", signature);
  Verify(keys.public_key, "other", signature);
  Verify("short", "message", signature);
  EXPECT_EQ(VerifyCount() - before, 3u);
}

}  // namespace
}  // namespace ledger
