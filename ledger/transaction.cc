#include "ledger/transaction.h"

#include <algorithm>
#include <set>

#include "ledger/crypto.h"

namespace ledger {

// Wide enough for any sum of amounts (each at most 9e18).
__extension__ using Uint128 = unsigned __int128;
namespace {

// Collects the first structural failure; every check below returns false
// after recording it so callers can stop with `if (!...) return`.
class SchemaChecker {
 public:
  bool Fail(ErrorCode code, std::string message) {
    status_ = Status::Error(code, std::move(message));
    return false;
  }
  bool Schema(std::string message) {
    return Fail(ErrorCode::kSchemaValidationError, std::move(message));
  }
  Status TakeStatus() { return std::move(status_); }

 private:
  Status status_;
};

bool IsLowerHex64(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsPublicKey(std::string_view text) {
  auto bytes = Base58Decode(text);
  return bytes && bytes->size() == kPublicKeySize;
}

// True when every member name of `object` is in `allowed`; `where` names the
// object in the error.
bool OnlyKeys(const JsonValue& object, std::initializer_list<std::string_view> allowed,
              const std::string& where, SchemaChecker* checker) {
  for (const auto& [key, value] : object.members()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return checker->Schema(where + " has an unexpected property \"" + key + "\"");
    }
  }
  for (std::string_view key : allowed) {
    if (!object.Find(key)) {
      return checker->Schema(where + " is missing the required property \"" + std::string(key) +
                             "\"");
    }
  }
  return true;
}

bool PublicKeyList(const JsonValue* value, const std::string& where,
                   std::vector<std::string>* keys, SchemaChecker* checker) {
  if (!value->is_array() || value->items().empty()) {
    return checker->Schema(where + " must be a non-empty array of public keys");
  }
  for (const JsonValue& key : value->items()) {
    if (!key.is_string() || !IsPublicKey(key.text())) {
      return checker->Schema(where + " contains an invalid public key (expected Base58 of 32 bytes)");
    }
    keys->push_back(key.text());
  }
  return true;
}

// A JSON number written as a plain non-negative integer that fits `max`.
std::optional<uint64_t> PlainInteger(const JsonValue& value, uint64_t max) {
  if (!value.is_number()) return std::nullopt;
  const std::string& text = value.text();
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  Uint128 number = 0;
  for (char c : text) number = number * 10 + static_cast<unsigned>(c - '0');
  if (number > max) return std::nullopt;
  return static_cast<uint64_t>(number);
}

// Parses condition `details` into a tree; shape errors are schema errors,
// nesting at kMaxConditionDepth is ThresholdTooDeep (as BigchainDB).
bool ParseDetails(const JsonValue& details, int depth, const std::string& where,
                  ConditionDetails* out, SchemaChecker* checker) {
  if (depth >= kMaxConditionDepth) {
    return checker->Fail(ErrorCode::kThresholdTooDeep,
                         where + " nests thresholds deeper than " +
                             std::to_string(kMaxConditionDepth) + " levels");
  }
  if (!details.is_object()) return checker->Schema(where + " must be an object");
  const JsonValue* type = details.Find("type");
  if (!type || !type->is_string()) return checker->Schema(where + " must have a string \"type\"");
  if (type->text() == "ed25519-sha-256") {
    if (!OnlyKeys(details, {"type", "public_key"}, where, checker)) return false;
    const JsonValue* key = details.Find("public_key");
    if (!key->is_string() || !IsPublicKey(key->text())) {
      return checker->Schema(where + " has an invalid public_key");
    }
    out->type = ConditionType::kEd25519Sha256;
    out->public_key = *Base58Decode(key->text());
    return true;
  }
  if (type->text() == "threshold-sha-256") {
    if (!OnlyKeys(details, {"type", "threshold", "subconditions"}, where, checker)) return false;
    const JsonValue* subconditions = details.Find("subconditions");
    if (!subconditions->is_array() || subconditions->items().empty()) {
      return checker->Schema(where + ".subconditions must be a non-empty array");
    }
    auto threshold = PlainInteger(*details.Find("threshold"), subconditions->items().size());
    if (!threshold || *threshold == 0) {
      return checker->Schema(where + ".threshold must be an integer from 1 to the number of "
                                     "subconditions");
    }
    out->type = ConditionType::kThresholdSha256;
    out->threshold = static_cast<uint32_t>(*threshold);
    const auto& items = subconditions->items();
    out->subconditions.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (!ParseDetails(items[i], depth + 1, where + ".subconditions[" + std::to_string(i) + "]",
                        &out->subconditions[i], checker)) {
        return false;
      }
    }
    return true;
  }
  return checker->Schema(where + " has unsupported condition type \"" + type->text() +
                         "\" (ed25519-sha-256 and threshold-sha-256 are supported)");
}

bool CheckInputShape(const JsonValue& input, size_t index, Operation operation, Input* out,
                     SchemaChecker* checker) {
  std::string where = "inputs[" + std::to_string(index) + "]";
  if (!input.is_object()) return checker->Schema(where + " must be an object");
  if (!OnlyKeys(input, {"owners_before", "fulfills", "fulfillment"}, where, checker)) return false;
  if (!PublicKeyList(input.Find("owners_before"), where + ".owners_before", &out->owners_before,
                     checker)) {
    return false;
  }
  const JsonValue* fulfills = input.Find("fulfills");
  if (operation == Operation::kCreate) {
    if (!fulfills->is_null()) return checker->Schema(where + ".fulfills must be null in a CREATE");
  } else {
    if (!fulfills->is_object()) {
      return checker->Schema(where + ".fulfills must be an object in a TRANSFER");
    }
    if (!OnlyKeys(*fulfills, {"transaction_id", "output_index"}, where + ".fulfills", checker)) {
      return false;
    }
    const JsonValue* tx_id = fulfills->Find("transaction_id");
    if (!tx_id->is_string() || !IsLowerHex64(tx_id->text())) {
      return checker->Schema(where + ".fulfills.transaction_id must be 64 lower-case hex digits");
    }
    auto output_index = PlainInteger(*fulfills->Find("output_index"), UINT32_MAX);
    if (!output_index) {
      return checker->Schema(where + ".fulfills.output_index must be a non-negative integer");
    }
    out->fulfills = OutputLink{tx_id->text(), static_cast<uint32_t>(*output_index)};
  }
  const JsonValue* fulfillment = input.Find("fulfillment");
  if (!fulfillment->is_string()) {
    return checker->Schema(where + ".fulfillment must be a base64url string");
  }
  out->fulfillment = fulfillment->text();
  return true;
}

bool CheckOutputShape(const JsonValue& output, size_t index, Output* out,
                      const JsonValue** details, SchemaChecker* checker) {
  std::string where = "outputs[" + std::to_string(index) + "]";
  if (!output.is_object()) return checker->Schema(where + " must be an object");
  if (!OnlyKeys(output, {"public_keys", "amount", "condition"}, where, checker)) return false;
  if (!PublicKeyList(output.Find("public_keys"), where + ".public_keys", &out->public_keys,
                     checker)) {
    return false;
  }
  const JsonValue* amount = output.Find("amount");
  if (!amount->is_string() || amount->text().empty() || amount->text().size() > 20 ||
      !std::all_of(amount->text().begin(), amount->text().end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return checker->Schema(where + ".amount must be a string of 1 to 20 decimal digits");
  }
  const JsonValue* condition = output.Find("condition");
  if (!condition->is_object()) return checker->Schema(where + ".condition must be an object");
  if (!OnlyKeys(*condition, {"details", "uri"}, where + ".condition", checker)) return false;
  const JsonValue* uri = condition->Find("uri");
  if (!uri->is_string()) return checker->Schema(where + ".condition.uri must be a string");
  out->condition_uri = uri->text();
  *details = condition->Find("details");
  return true;
}

// Step 3: the schema. Fills everything but the parsed fulfillments and amounts.
bool CheckSchema(const JsonValue& document, Transaction* tx,
                 std::vector<const JsonValue*>* output_details, SchemaChecker* checker) {
  if (!OnlyKeys(document, {"id", "version", "operation", "asset", "metadata", "inputs", "outputs"},
                "transaction", checker)) {
    return false;
  }
  const JsonValue* version = document.Find("version");
  if (!version->is_string() || version->text() != "2.0") {
    return checker->Schema("version must be \"2.0\"");
  }
  const JsonValue* operation = document.Find("operation");
  if (!operation->is_string()) return checker->Schema("operation must be a string");
  auto parsed_operation = ParseOperation(operation->text());
  if (!parsed_operation) {
    const std::string& name = operation->text();
    if (name == "VALIDATOR_ELECTION" || name == "CHAIN_MIGRATION_ELECTION" || name == "VOTE") {
      return checker->Schema("operation " + name + " is not supported by this node");
    }
    return checker->Schema("operation must be CREATE or TRANSFER");
  }
  tx->operation = *parsed_operation;

  const JsonValue* asset = document.Find("asset");
  if (!asset->is_object()) return checker->Schema("asset must be an object");
  if (tx->operation == Operation::kCreate) {
    if (!OnlyKeys(*asset, {"data"}, "asset of a CREATE", checker)) return false;
    const JsonValue* data = asset->Find("data");
    if (!data->is_object() && !data->is_null()) {
      return checker->Schema("asset.data must be an object or null");
    }
    tx->asset_id = tx->id;
  } else {
    if (!OnlyKeys(*asset, {"id"}, "asset of a TRANSFER", checker)) return false;
    const JsonValue* asset_id = asset->Find("id");
    if (!asset_id->is_string() || !IsLowerHex64(asset_id->text())) {
      return checker->Schema("asset.id must be 64 lower-case hex digits");
    }
    tx->asset_id = asset_id->text();
  }

  const JsonValue* metadata = document.Find("metadata");
  if (!metadata->is_null() && !(metadata->is_object() && !metadata->members().empty())) {
    return checker->Schema("metadata must be null or an object with at least one property");
  }

  const JsonValue* inputs = document.Find("inputs");
  if (!inputs->is_array() || inputs->items().empty()) {
    return checker->Schema("inputs must be a non-empty array");
  }
  if (tx->operation == Operation::kCreate && inputs->items().size() != 1) {
    return checker->Schema("a CREATE must have exactly one input");
  }
  tx->inputs.resize(inputs->items().size());
  for (size_t i = 0; i < inputs->items().size(); ++i) {
    if (!CheckInputShape(inputs->items()[i], i, tx->operation, &tx->inputs[i], checker)) {
      return false;
    }
  }

  const JsonValue* outputs = document.Find("outputs");
  if (!outputs->is_array() || outputs->items().empty()) {
    return checker->Schema("outputs must be a non-empty array");
  }
  tx->outputs.resize(outputs->items().size());
  output_details->resize(outputs->items().size());
  for (size_t i = 0; i < outputs->items().size(); ++i) {
    if (!CheckOutputShape(outputs->items()[i], i, &tx->outputs[i], &(*output_details)[i],
                          checker)) {
      return false;
    }
  }
  return true;
}

// Step 4: fulfillments parse, conditions match their details, amounts are in
// range.
bool CheckConditionsAndAmounts(const std::vector<const JsonValue*>& output_details,
                               Transaction* tx, SchemaChecker* checker) {
  for (size_t i = 0; i < tx->inputs.size(); ++i) {
    Input& input = tx->inputs[i];
    std::string where = "inputs[" + std::to_string(i) + "].fulfillment";
    auto der = Base64UrlDecode(input.fulfillment);
    if (!der) return checker->Fail(ErrorCode::kInvalidSignature, where + " is not base64url");
    Status parsed = Fulfillment::ParseDer(*der, &input.parsed_fulfillment);
    if (!parsed.ok()) {
      return checker->Fail(parsed.code(), where + ": " + parsed.message());
    }
    // The id covers the fulfillment but the signatures do not: a second
    // spelling of the same fulfillment would be the same transfer of value
    // under a new id. Only the one canonical spelling is accepted.
    if (Base64UrlEncode(input.parsed_fulfillment.Der()) != input.fulfillment) {
      return checker->Fail(ErrorCode::kInvalidSignature,
                           where + " is not in canonical form (DER with sorted threshold "
                                   "members, base64url without padding)");
    }
    input.fulfillment_condition_uri = input.parsed_fulfillment.ToCondition().Uri();
  }
  for (size_t i = 0; i < tx->outputs.size(); ++i) {
    Output& output = tx->outputs[i];
    std::string where = "outputs[" + std::to_string(i) + "]";
    ConditionDetails details;
    if (!ParseDetails(*output_details[i], 0, where + ".condition.details", &details, checker)) {
      return false;
    }
    if (details.ToCondition().Uri() != output.condition_uri) {
      return checker->Schema(where + ".condition.uri does not match the condition its details "
                                     "describe");
    }
  }
  for (size_t i = 0; i < tx->outputs.size(); ++i) {
    const JsonValue& amount = *tx->document.Find("outputs")->items()[i].Find("amount");
    std::string where = "outputs[" + std::to_string(i) + "].amount";
    if (amount.text().size() > 1 && amount.text()[0] == '0') {
      return checker->Fail(ErrorCode::kAmountError, where + " must not have leading zeros");
    }
    auto value = PlainInteger(JsonValue::Number(amount.text()), kMaxAmount);
    if (!value || *value == 0) {
      return checker->Fail(ErrorCode::kAmountError,
                           where + " must be between 1 and " + std::to_string(kMaxAmount));
    }
    tx->outputs[i].amount = *value;
  }
  if (tx->operation == Operation::kCreate) {
    const Input& input = tx->inputs[0];
    // Compared as raw keys: decoding the owners is cheaper than encoding
    // the signers, and both sides are already known to be valid keys.
    std::vector<std::string> raw_keys;
    input.parsed_fulfillment.CollectPublicKeys(&raw_keys);
    std::set<std::string> signers(raw_keys.begin(), raw_keys.end());
    std::set<std::string> owners;
    for (const std::string& owner : input.owners_before) owners.insert(*Base58Decode(owner));
    if (signers != owners) {
      return checker->Fail(ErrorCode::kInvalidSignature,
                           "the CREATE's fulfillment is not signed by exactly its owners_before");
    }
  }
  return true;
}

// Where an input's fulfillment value sits in a canonical text: [begin, end).
using TextSpan = std::pair<size_t, size_t>;

// The canonical form of `document` with "id" null and, if asked, every
// input's "fulfillment" null; written directly rather than by editing a copy,
// since it is on the path of every transaction. With `fulfillment_spans`,
// records where each input's (not nulled) fulfillment value was written.
std::string CanonicalBody(const JsonValue& document, bool null_fulfillments,
                          std::vector<TextSpan>* fulfillment_spans = nullptr) {
  std::string out;
  out.reserve(2048);
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : document.members()) {
    if (!first) out.push_back(',');
    first = false;
    AppendCanonicalString(key, &out);
    out.push_back(':');
    if (key == "id") {
      out.append("null");
    } else if (key == "inputs" && (null_fulfillments || fulfillment_spans) && value.is_array()) {
      out.push_back('[');
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (i) out.push_back(',');
        const JsonValue& input = value.items()[i];
        if (!input.is_object()) {
          AppendCanonicalJson(input, &out);
          continue;
        }
        out.push_back('{');
        bool first_member = true;
        for (const auto& [input_key, input_value] : input.members()) {
          if (!first_member) out.push_back(',');
          first_member = false;
          AppendCanonicalString(input_key, &out);
          out.push_back(':');
          if (input_key != "fulfillment") {
            AppendCanonicalJson(input_value, &out);
          } else if (null_fulfillments) {
            out.append("null");
          } else {
            const size_t begin = out.size();
            AppendCanonicalJson(input_value, &out);
            fulfillment_spans->emplace_back(begin, out.size());
          }
        }
        out.push_back('}');
      }
      out.push_back(']');
    } else {
      AppendCanonicalJson(value, &out);
    }
  }
  out.push_back('}');
  return out;
}

// The message input `input` signs, given a hasher that has taken the signing
// body: for a TRANSFER the body is followed by the spent output's reference.
Digest MessageAfterBody(const Sha3_256Hasher& body, const Input& input) {
  Sha3_256Hasher hasher(body);
  if (input.fulfills) {
    hasher.Update(input.fulfills->transaction_id);
    hasher.Update(std::to_string(input.fulfills->output_index));
  }
  return hasher.Finish();
}

// Verifies every input's fulfillment. `id_form` is the canonical document
// with "id" null and `fulfillments` the spans of its inputs' fulfillment
// values: the signing body is that text with each span replaced by null, so
// it is hashed from the pieces instead of being serialised a second time.
Status VerifySignatures(const Transaction& tx, std::string_view id_form,
                        const std::vector<TextSpan>& fulfillments) {
  Sha3_256Hasher body;
  size_t written = 0;
  for (const auto& [begin, end] : fulfillments) {
    body.Update(id_form.substr(written, begin - written));
    body.Update("null");
    written = end;
  }
  body.Update(id_form.substr(written));
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    Digest message = MessageAfterBody(body, tx.inputs[i]);
    std::string_view message_bytes(reinterpret_cast<const char*>(message.data()), message.size());
    if (!tx.inputs[i].parsed_fulfillment.Verify(message_bytes)) {
      return Status::Error(ErrorCode::kInvalidSignature,
                           "inputs[" + std::to_string(i) + "].fulfillment does not verify");
    }
  }
  return Status::Ok();
}

std::shared_ptr<const CheckedTransaction> Failed(Status status) {
  auto checked = std::make_shared<CheckedTransaction>();
  checked->status = std::move(status);
  return checked;
}

}  // namespace

std::string_view OperationName(Operation operation) {
  return operation == Operation::kCreate ? "CREATE" : "TRANSFER";
}

std::optional<Operation> ParseOperation(std::string_view name) {
  if (name == "CREATE") return Operation::kCreate;
  if (name == "TRANSFER") return Operation::kTransfer;
  return std::nullopt;
}

std::vector<std::string> Transaction::PublicKeys() const {
  std::vector<std::string> keys;
  auto add = [&keys](const std::string& key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  };
  for (const Output& output : outputs) {
    for (const std::string& key : output.public_keys) add(key);
  }
  for (const Input& input : inputs) {
    for (const std::string& key : input.owners_before) add(key);
  }
  return keys;
}

std::string SigningBody(const JsonValue& document) {
  return CanonicalBody(document, /*null_fulfillments=*/true);
}

Digest InputMessage(std::string_view body, const Input& input) {
  Sha3_256Hasher hasher;
  hasher.Update(body);
  return MessageAfterBody(hasher, input);
}

std::string ComputeId(const JsonValue& document) {
  return HexEncode(Sha3_256(CanonicalBody(document, /*null_fulfillments=*/false)));
}

std::shared_ptr<const CheckedTransaction> CheckStateless(std::string_view raw) {
  auto tx = std::make_shared<Transaction>();
  Status parsed = ParseJson(raw, &tx->document);
  if (!parsed.ok()) return Failed(std::move(parsed));
  const JsonValue& document = tx->document;
  if (!document.is_object()) {
    return Failed(Status::Error(ErrorCode::kMalformedTransaction,
                                "a transaction must be a JSON object"));
  }

  const JsonValue* id = document.Find("id");
  if (!id || !id->is_string()) {
    return Failed(Status::Error(ErrorCode::kSchemaValidationError,
                                "transaction is missing the required string property \"id\""));
  }
  // One serialisation serves both the id and, later, the signing body.
  std::vector<TextSpan> fulfillment_spans;
  const std::string id_form =
      CanonicalBody(document, /*null_fulfillments=*/false, &fulfillment_spans);
  std::string computed_id = HexEncode(Sha3_256(id_form));
  if (computed_id != id->text()) {
    return Failed(Status::Error(ErrorCode::kInvalidHash,
                                "the transaction's id " + id->text() +
                                    " is not the hash of its body (" + computed_id + ")"));
  }
  tx->id = computed_id;

  SchemaChecker checker;
  std::vector<const JsonValue*> output_details;
  if (!CheckSchema(document, tx.get(), &output_details, &checker) ||
      !CheckConditionsAndAmounts(output_details, tx.get(), &checker)) {
    return Failed(checker.TakeStatus());
  }
  tx->raw.assign(raw);

  auto checked = std::make_shared<CheckedTransaction>();
  checked->signature_status = VerifySignatures(*tx, id_form, fulfillment_spans);
  checked->transaction = std::move(tx);
  return checked;
}

}  // namespace ledger
