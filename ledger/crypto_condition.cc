#include "ledger/crypto_condition.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

namespace ledger {
namespace {

// DER tags (X.690): context-specific class, constructed for the CHOICE of a
// condition or fulfillment type and for the SETs, primitive for the fields.
constexpr uint8_t kSequenceTag = 0x30;
constexpr uint8_t kConstructedContextTag = 0xA0;
constexpr uint8_t kFirstFieldTag = 0x80;
constexpr uint8_t kSecondFieldTag = 0x81;
constexpr uint8_t kThirdFieldTag = 0x82;
constexpr uint8_t kSubfulfillmentsTag = 0xA0;
constexpr uint8_t kSubconditionsTag = 0xA1;

constexpr size_t kFingerprintSize = 32;
constexpr uint64_t kCostPerSubcondition = 1024;

// Longest DER length field we accept: 4 bytes already allow 4 GiB, far past
// the transaction size limit.
constexpr size_t kMaxLengthBytes = 4;

// Fulfillments and conditions one DER fulfillment may hold. Bounds the work a
// single hostile input can cause; real multi-signature outputs are far smaller.
constexpr int kMaxParsedElements = 1024;

uint8_t TypeTag(ConditionType type) { return kConstructedContextTag | static_cast<uint8_t>(type); }

uint32_t TypeBit(ConditionType type) { return uint32_t{1} << static_cast<uint8_t>(type); }

std::string HexByte(uint8_t byte) {
  return "0x" + HexEncode(std::string(1, static_cast<char>(byte)));
}

Status Malformed(std::string_view problem) {
  return Status::Error(ErrorCode::kInvalidSignature,
                       "malformed fulfillment: " + std::string(problem));
}

// --- Encoding -------------------------------------------------------------

void AppendLength(size_t length, std::string* out) {
  if (length < 0x80) {
    *out += static_cast<char>(length);
    return;
  }
  std::string big_endian;
  for (; length > 0; length >>= 8) big_endian.insert(big_endian.begin(), static_cast<char>(length));
  *out += static_cast<char>(0x80 | big_endian.size());
  *out += big_endian;
}

std::string Element(uint8_t tag, std::string_view contents) {
  std::string out(1, static_cast<char>(tag));
  AppendLength(contents.size(), &out);
  out += contents;
  return out;
}

// Contents of a minimal DER INTEGER holding the non-negative `value`.
std::string UnsignedInteger(uint64_t value) {
  std::string big_endian;
  do {
    big_endian.insert(big_endian.begin(), static_cast<char>(value & 0xff));
    value >>= 8;
  } while (value > 0);
  // A set top bit would read as negative.
  if (static_cast<uint8_t>(big_endian.front()) & 0x80) big_endian.insert(big_endian.begin(), '\0');
  return big_endian;
}

// Contents of the DER BIT STRING for a named-bit set: bit i is bit (7 - i % 8)
// of byte i / 8, trailing zero bits are dropped, and the first byte counts the
// unused bits of the last one.
std::string SubtypesBitString(uint32_t subtypes) {
  if (subtypes == 0) return std::string(1, '\0');
  int highest_bit = 31;
  while ((subtypes >> highest_bit & 1) == 0) --highest_bit;
  const int byte_count = highest_bit / 8 + 1;
  std::string bits(byte_count + 1, '\0');
  bits[0] = static_cast<char>(byte_count * 8 - (highest_bit + 1));
  for (int bit = 0; bit <= highest_bit; ++bit) {
    if (subtypes >> bit & 1) bits[1 + bit / 8] |= static_cast<char>(0x80 >> (bit % 8));
  }
  return bits;
}

std::string JoinSorted(std::vector<std::string> encodings) {
  std::sort(encodings.begin(), encodings.end());
  std::string joined;
  for (const std::string& encoding : encodings) joined += encoding;
  return joined;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  // Costs parsed from a hostile DER may be huge; saturate rather than wrap.
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

Condition Ed25519Condition(std::string_view public_key) {
  Condition condition;
  condition.type = ConditionType::kEd25519Sha256;
  condition.fingerprint = Sha256(Element(kSequenceTag, Element(kFirstFieldTag, public_key)));
  condition.cost = kEd25519Cost;
  return condition;
}

Condition ThresholdCondition(uint32_t threshold, const std::vector<Condition>& subconditions) {
  std::vector<std::string> encodings;
  std::vector<uint64_t> costs;
  uint32_t subtypes = 0;
  for (const Condition& subcondition : subconditions) {
    encodings.push_back(subcondition.Der());
    costs.push_back(subcondition.cost);
    subtypes |= TypeBit(subcondition.type) | subcondition.subtypes;
  }

  Condition condition;
  condition.type = ConditionType::kThresholdSha256;
  condition.fingerprint = Sha256(
      Element(kSequenceTag, Element(kFirstFieldTag, UnsignedInteger(threshold)) +
                                Element(kSubconditionsTag, JoinSorted(std::move(encodings)))));

  // The most expensive `threshold` sub-conditions bound the fulfilling work.
  std::sort(costs.begin(), costs.end(), std::greater<>());
  costs.resize(std::min<size_t>(costs.size(), threshold));
  uint64_t cost = kCostPerSubcondition * subconditions.size();
  for (uint64_t subcost : costs) cost = SaturatingAdd(cost, subcost);
  condition.cost = cost;

  // A verifier that reads this condition already knows its own type.
  condition.subtypes = subtypes & ~TypeBit(ConditionType::kThresholdSha256);
  return condition;
}

// --- Parsing --------------------------------------------------------------

// Reads DER elements front to back; never reads past the end of its input.
class DerReader {
 public:
  explicit DerReader(std::string_view input) : rest_(input) {}

  bool AtEnd() const { return rest_.empty(); }

  std::optional<uint8_t> PeekTag() const {
    if (rest_.empty()) return std::nullopt;
    return static_cast<uint8_t>(rest_.front());
  }

  // Consumes one element tagged `tag` and stores its contents; `what` names
  // the element in error messages.
  Status Read(uint8_t tag, std::string_view what, std::string_view* contents) {
    const std::string name(what);
    if (rest_.empty()) return Malformed(name + " is missing");
    if (static_cast<uint8_t>(rest_[0]) != tag) {
      return Malformed(name + " has tag " + HexByte(rest_[0]) + ", expected " + HexByte(tag));
    }
    if (rest_.size() < 2) return Malformed(name + " is truncated before its length");
    const uint8_t first_length_byte = rest_[1];
    size_t header_size = 2;
    size_t length = first_length_byte;
    if (first_length_byte == 0x80) return Malformed(name + " has an indefinite length");
    if (first_length_byte > 0x80) {
      const size_t length_bytes = first_length_byte & 0x7f;
      if (length_bytes > kMaxLengthBytes) return Malformed(name + " has an oversized length");
      if (rest_.size() < 2 + length_bytes) return Malformed(name + " has a truncated length");
      length = 0;
      for (size_t i = 0; i < length_bytes; ++i) {
        length = length << 8 | static_cast<uint8_t>(rest_[2 + i]);
      }
      if (rest_[2] == 0 || length < 0x80) {
        return Malformed(name + " has a length that is not minimally encoded");
      }
      header_size += length_bytes;
    }
    if (length > rest_.size() - header_size) {
      return Malformed(name + " is longer than the bytes left (" + std::to_string(length) + " > " +
                       std::to_string(rest_.size() - header_size) + ")");
    }
    *contents = rest_.substr(header_size, length);
    rest_.remove_prefix(header_size + length);
    return Status::Ok();
  }

 private:
  std::string_view rest_;
};

Status ReadFixedSize(DerReader* reader, uint8_t tag, std::string_view what, size_t size,
                     std::string_view* contents) {
  if (Status status = reader->Read(tag, what, contents); !status.ok()) return status;
  if (contents->size() != size) {
    return Malformed(std::string(what) + " is " + std::to_string(contents->size()) +
                     " bytes, expected " + std::to_string(size));
  }
  return Status::Ok();
}

Status ParseCost(std::string_view contents, uint64_t* cost) {
  if (contents.empty()) return Malformed("cost is empty");
  const uint8_t first = contents[0];
  if (first & 0x80) return Malformed("cost is negative");
  if (contents.size() > 1 && first == 0 && !(static_cast<uint8_t>(contents[1]) & 0x80)) {
    return Malformed("cost is not minimally encoded");
  }
  if (first == 0) contents.remove_prefix(1);
  if (contents.size() > sizeof(uint64_t)) return Malformed("cost exceeds 64 bits");
  uint64_t value = 0;
  for (unsigned char byte : contents) value = value << 8 | byte;
  *cost = value;
  return Status::Ok();
}

Status ParseSubtypes(std::string_view contents, uint32_t* subtypes) {
  if (contents.empty()) return Malformed("subtypes bit string is empty");
  const uint8_t unused_bits = contents[0];
  const std::string_view bits = contents.substr(1);
  if (bits.empty()) {
    if (unused_bits != 0) return Malformed("empty subtypes bit string claims unused bits");
    *subtypes = 0;
    return Status::Ok();
  }
  if (unused_bits > 7) return Malformed("subtypes bit string has more than 7 unused bits");
  if (bits.size() > sizeof(uint32_t)) return Malformed("subtypes bit string is too long");
  // DER drops trailing zero bits of a named-bit set, so the last bit is set.
  if ((static_cast<uint8_t>(bits.back()) >> unused_bits & 1) == 0) {
    return Malformed("subtypes bit string is not minimally encoded");
  }
  uint32_t value = 0;
  for (size_t bit = 0; bit < bits.size() * 8 - unused_bits; ++bit) {
    if (static_cast<uint8_t>(bits[bit / 8]) & (0x80 >> (bit % 8))) value |= uint32_t{1} << bit;
  }
  const uint32_t known =
      TypeBit(ConditionType::kEd25519Sha256) | TypeBit(ConditionType::kThresholdSha256);
  if (value & ~known) return Malformed("subtypes name an unsupported condition type");
  *subtypes = value;
  return Status::Ok();
}

// Limits shared by one ParseDer call.
struct ParseLimits {
  int elements_left = kMaxParsedElements;
};

// Checks the limits for one more tree node at `depth` (the root is 0).
Status EnterNode(int depth, ParseLimits* limits) {
  if (depth >= kMaxConditionDepth) {
    return Status::Error(ErrorCode::kThresholdTooDeep,
                         "fulfillment nesting reaches depth " + std::to_string(depth) +
                             "; the limit is " + std::to_string(kMaxConditionDepth));
  }
  if (--limits->elements_left < 0) {
    return Malformed("more than " + std::to_string(kMaxParsedElements) +
                     " fulfillments and conditions");
  }
  return Status::Ok();
}

Status ParseCondition(DerReader* reader, int depth, ParseLimits* limits, Condition* out) {
  if (Status status = EnterNode(depth, limits); !status.ok()) return status;
  const std::optional<uint8_t> tag = reader->PeekTag();
  Condition condition;
  if (tag == TypeTag(ConditionType::kEd25519Sha256)) {
    condition.type = ConditionType::kEd25519Sha256;
  } else if (tag == TypeTag(ConditionType::kThresholdSha256)) {
    condition.type = ConditionType::kThresholdSha256;
  } else if (tag.has_value()) {
    return Malformed("unsupported condition type tag " + HexByte(*tag));
  } else {
    return Malformed("condition is missing");
  }

  std::string_view contents;
  if (Status status = reader->Read(*tag, "condition", &contents); !status.ok()) return status;
  DerReader fields(contents);
  std::string_view fingerprint;
  std::string_view cost;
  if (Status status =
          ReadFixedSize(&fields, kFirstFieldTag, "fingerprint", kFingerprintSize, &fingerprint);
      !status.ok()) {
    return status;
  }
  std::copy(fingerprint.begin(), fingerprint.end(), condition.fingerprint.begin());
  if (Status status = fields.Read(kSecondFieldTag, "cost", &cost); !status.ok()) return status;
  if (Status status = ParseCost(cost, &condition.cost); !status.ok()) return status;
  // Only compound types (threshold) carry subtypes.
  if (condition.type == ConditionType::kThresholdSha256) {
    std::string_view subtypes;
    if (Status status = fields.Read(kThirdFieldTag, "subtypes", &subtypes); !status.ok()) {
      return status;
    }
    if (Status status = ParseSubtypes(subtypes, &condition.subtypes); !status.ok()) return status;
  }
  if (!fields.AtEnd()) return Malformed("trailing bytes inside a condition");
  *out = condition;
  return Status::Ok();
}

Status ParseFulfillment(DerReader* reader, int depth, ParseLimits* limits, Fulfillment* out);

Status ParseEd25519Fulfillment(std::string_view contents, Fulfillment* out) {
  DerReader fields(contents);
  std::string_view public_key;
  std::string_view signature;
  if (Status status =
          ReadFixedSize(&fields, kFirstFieldTag, "public key", kPublicKeySize, &public_key);
      !status.ok()) {
    return status;
  }
  if (Status status =
          ReadFixedSize(&fields, kSecondFieldTag, "signature", kSignatureSize, &signature);
      !status.ok()) {
    return status;
  }
  if (!fields.AtEnd()) return Malformed("trailing bytes inside an ed25519 fulfillment");
  out->type = ConditionType::kEd25519Sha256;
  out->public_key = std::string(public_key);
  out->signature = std::string(signature);
  return Status::Ok();
}

Status ParseThresholdFulfillment(std::string_view contents, int depth, ParseLimits* limits,
                                 Fulfillment* out) {
  DerReader fields(contents);
  std::string_view subfulfillments;
  std::string_view subconditions;
  if (Status status = fields.Read(kSubfulfillmentsTag, "sub-fulfillment set", &subfulfillments);
      !status.ok()) {
    return status;
  }
  if (Status status = fields.Read(kSubconditionsTag, "sub-condition set", &subconditions);
      !status.ok()) {
    return status;
  }
  if (!fields.AtEnd()) return Malformed("trailing bytes inside a threshold fulfillment");

  out->type = ConditionType::kThresholdSha256;
  for (DerReader set(subfulfillments); !set.AtEnd();) {
    Fulfillment& child = out->subfulfillments.emplace_back();
    if (Status status = ParseFulfillment(&set, depth + 1, limits, &child); !status.ok()) {
      return status;
    }
  }
  for (DerReader set(subconditions); !set.AtEnd();) {
    Condition& child = out->subconditions.emplace_back();
    if (Status status = ParseCondition(&set, depth + 1, limits, &child); !status.ok()) {
      return status;
    }
  }
  if (out->subfulfillments.empty())
    return Malformed("threshold fulfillment has no sub-fulfillments");
  // The DER carries no threshold: as in the reference libraries, it is the
  // number of sub-fulfillments given.
  out->threshold = static_cast<uint32_t>(out->subfulfillments.size());
  return Status::Ok();
}

Status ParseFulfillment(DerReader* reader, int depth, ParseLimits* limits, Fulfillment* out) {
  if (Status status = EnterNode(depth, limits); !status.ok()) return status;
  const std::optional<uint8_t> tag = reader->PeekTag();
  if (!tag.has_value()) return Malformed("fulfillment is missing");
  std::string_view contents;
  if (*tag == TypeTag(ConditionType::kEd25519Sha256)) {
    if (Status status = reader->Read(*tag, "ed25519 fulfillment", &contents); !status.ok()) {
      return status;
    }
    return ParseEd25519Fulfillment(contents, out);
  }
  if (*tag == TypeTag(ConditionType::kThresholdSha256)) {
    if (Status status = reader->Read(*tag, "threshold fulfillment", &contents); !status.ok()) {
      return status;
    }
    return ParseThresholdFulfillment(contents, depth, limits, out);
  }
  return Malformed("unsupported fulfillment type tag " + HexByte(*tag));
}

}  // namespace

std::string_view ConditionTypeName(ConditionType type) {
  switch (type) {
    case ConditionType::kThresholdSha256:
      return "threshold-sha-256";
    case ConditionType::kEd25519Sha256:
      return "ed25519-sha-256";
  }
  return "unknown";
}

std::string Condition::Der() const {
  std::string fields = Element(kFirstFieldTag, DigestBytes(fingerprint)) +
                       Element(kSecondFieldTag, UnsignedInteger(cost));
  if (type == ConditionType::kThresholdSha256) {
    fields += Element(kThirdFieldTag, SubtypesBitString(subtypes));
  }
  return Element(TypeTag(type), fields);
}

std::string Condition::Uri() const {
  std::string uri = "ni:///sha-256;" + Base64UrlEncode(DigestBytes(fingerprint)) + "?fpt=";
  uri += ConditionTypeName(type);
  uri += "&cost=" + std::to_string(cost);
  // Names in alphabetical order, as the reference libraries write them.
  std::vector<std::string_view> names;
  for (ConditionType subtype : {ConditionType::kEd25519Sha256, ConditionType::kThresholdSha256}) {
    if (subtypes & TypeBit(subtype)) names.push_back(ConditionTypeName(subtype));
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    uri += i == 0 ? "&subtypes=" : ",";
    uri += names[i];
  }
  return uri;
}

Condition ConditionDetails::ToCondition() const {
  if (type == ConditionType::kEd25519Sha256) return Ed25519Condition(public_key);
  std::vector<Condition> conditions;
  conditions.reserve(subconditions.size());
  for (const ConditionDetails& subcondition : subconditions) {
    conditions.push_back(subcondition.ToCondition());
  }
  return ThresholdCondition(threshold, conditions);
}

Status Fulfillment::ParseDer(std::string_view der, Fulfillment* out) {
  DerReader reader(der);
  ParseLimits limits;
  Fulfillment parsed;
  if (Status status = ParseFulfillment(&reader, 0, &limits, &parsed); !status.ok()) return status;
  if (!reader.AtEnd()) return Malformed("trailing bytes after the fulfillment");
  *out = std::move(parsed);
  return Status::Ok();
}

std::string Fulfillment::Der() const {
  if (type == ConditionType::kEd25519Sha256) {
    return Element(TypeTag(type),
                   Element(kFirstFieldTag, public_key) + Element(kSecondFieldTag, signature));
  }
  std::vector<std::string> fulfillment_encodings;
  for (const Fulfillment& subfulfillment : subfulfillments) {
    fulfillment_encodings.push_back(subfulfillment.Der());
  }
  std::vector<std::string> condition_encodings;
  for (const Condition& subcondition : subconditions) {
    condition_encodings.push_back(subcondition.Der());
  }
  return Element(TypeTag(type),
                 Element(kSubfulfillmentsTag, JoinSorted(std::move(fulfillment_encodings))) +
                     Element(kSubconditionsTag, JoinSorted(std::move(condition_encodings))));
}

Condition Fulfillment::ToCondition() const {
  if (type == ConditionType::kEd25519Sha256) return Ed25519Condition(public_key);
  std::vector<Condition> conditions;
  conditions.reserve(subfulfillments.size() + subconditions.size());
  for (const Fulfillment& subfulfillment : subfulfillments) {
    conditions.push_back(subfulfillment.ToCondition());
  }
  conditions.insert(conditions.end(), subconditions.begin(), subconditions.end());
  return ThresholdCondition(threshold, conditions);
}

bool Fulfillment::Verify(std::string_view message) const {
  if (type == ConditionType::kEd25519Sha256) {
    return ledger::Verify(public_key, message, signature);
  }
  // Exactly `threshold`: an extra sub-fulfillment makes the set not minimal,
  // which the reference libraries refuse too.
  if (threshold == 0 || subfulfillments.size() != threshold) return false;
  return std::all_of(subfulfillments.begin(), subfulfillments.end(),
                     [message](const Fulfillment& sub) { return sub.Verify(message); });
}

void Fulfillment::CollectPublicKeys(std::vector<std::string>* keys) const {
  if (type == ConditionType::kEd25519Sha256) {
    keys->push_back(public_key);
    return;
  }
  for (const Fulfillment& subfulfillment : subfulfillments) {
    subfulfillment.CollectPublicKeys(keys);
  }
}

}  // namespace ledger
