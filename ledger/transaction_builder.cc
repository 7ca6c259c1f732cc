#include "ledger/transaction_builder.h"

#include <map>

#include "ledger/crypto_condition.h"
#include "ledger/transaction.h"

namespace ledger {
namespace {

JsonValue Ed25519Details(const std::string& public_key) {
  return JsonValue::Object({{"type", JsonValue::String("ed25519-sha-256")},
                            {"public_key", JsonValue::String(public_key)}});
}

ConditionDetails DetailsOf(const std::vector<std::string>& public_keys) {
  auto ed25519 = [](const std::string& key) {
    ConditionDetails details;
    details.type = ConditionType::kEd25519Sha256;
    details.public_key = Base58Decode(key).value_or(std::string());
    return details;
  };
  if (public_keys.size() == 1) return ed25519(public_keys[0]);
  ConditionDetails threshold;
  threshold.type = ConditionType::kThresholdSha256;
  threshold.threshold = static_cast<uint32_t>(public_keys.size());
  for (const std::string& key : public_keys) threshold.subconditions.push_back(ed25519(key));
  return threshold;
}

JsonValue KeyArray(const std::vector<std::string>& keys) {
  std::vector<JsonValue> items;
  for (const std::string& key : keys) items.push_back(JsonValue::String(key));
  return JsonValue::Array(std::move(items));
}

JsonValue OutputsJson(const std::vector<OutputSpec>& outputs) {
  std::vector<JsonValue> items;
  for (const OutputSpec& output : outputs) {
    items.push_back(JsonValue::Object({{"amount", JsonValue::String(std::to_string(output.amount))},
                                       {"condition", MakeCondition(output.public_keys)},
                                       {"public_keys", KeyArray(output.public_keys)}}));
  }
  return JsonValue::Array(std::move(items));
}

JsonValue Envelope(std::string_view operation, JsonValue asset, JsonValue metadata,
                   std::vector<JsonValue> inputs, const std::vector<OutputSpec>& outputs) {
  return JsonValue::Object({{"asset", std::move(asset)},
                            {"id", JsonValue::Null()},
                            {"inputs", JsonValue::Array(std::move(inputs))},
                            {"metadata", std::move(metadata)},
                            {"operation", JsonValue::String(std::string(operation))},
                            {"outputs", OutputsJson(outputs)},
                            {"version", JsonValue::String("2.0")}});
}

}  // namespace

std::string PublicKeyBase58(const KeyPair& keys) { return Base58Encode(keys.public_key); }

JsonValue MakeCondition(const std::vector<std::string>& public_keys) {
  JsonValue details;
  if (public_keys.size() == 1) {
    details = Ed25519Details(public_keys[0]);
  } else {
    std::vector<JsonValue> subconditions;
    for (const std::string& key : public_keys) subconditions.push_back(Ed25519Details(key));
    details = JsonValue::Object(
        {{"type", JsonValue::String("threshold-sha-256")},
         {"threshold", JsonValue::Number(std::to_string(public_keys.size()))},
         {"subconditions", JsonValue::Array(std::move(subconditions))}});
  }
  std::string uri = DetailsOf(public_keys).ToCondition().Uri();
  return JsonValue::Object({{"details", std::move(details)}, {"uri", JsonValue::String(uri)}});
}

JsonValue MakeCreate(const std::vector<std::string>& issuers, JsonValue asset_data,
                     JsonValue metadata, const std::vector<OutputSpec>& outputs) {
  JsonValue input = JsonValue::Object({{"fulfillment", JsonValue::Null()},
                                       {"fulfills", JsonValue::Null()},
                                       {"owners_before", KeyArray(issuers)}});
  return Envelope("CREATE", JsonValue::Object({{"data", std::move(asset_data)}}),
                  std::move(metadata), {std::move(input)}, outputs);
}

JsonValue MakeTransfer(const std::vector<SpendSpec>& inputs, const std::string& asset_id,
                       JsonValue metadata, const std::vector<OutputSpec>& outputs) {
  std::vector<JsonValue> input_items;
  for (const SpendSpec& spend : inputs) {
    JsonValue fulfills = JsonValue::Object(
        {{"output_index", JsonValue::Number(std::to_string(spend.output_index))},
         {"transaction_id", JsonValue::String(spend.transaction_id)}});
    input_items.push_back(JsonValue::Object({{"fulfillment", JsonValue::Null()},
                                             {"fulfills", std::move(fulfills)},
                                             {"owners_before", KeyArray(spend.owners_before)}}));
  }
  return Envelope("TRANSFER", JsonValue::Object({{"id", JsonValue::String(asset_id)}}),
                  std::move(metadata), std::move(input_items), outputs);
}

bool SignTransaction(JsonValue* transaction, const std::vector<KeyPair>& keys,
                     std::string* error) {
  std::map<std::string, const KeyPair*> by_public_key;
  for (const KeyPair& pair : keys) by_public_key[PublicKeyBase58(pair)] = &pair;

  JsonValue* inputs = transaction->FindMutable("inputs");
  if (!inputs || !inputs->is_array()) {
    *error = "transaction has no inputs array";
    return false;
  }
  std::string body = SigningBody(*transaction);
  for (JsonValue& input_json : inputs->mutable_items()) {
    Input input;
    const JsonValue* fulfills = input_json.Find("fulfills");
    if (fulfills && fulfills->is_object()) {
      const JsonValue* tx_id = fulfills->Find("transaction_id");
      const JsonValue* index = fulfills->Find("output_index");
      if (!tx_id || !index) {
        *error = "input fulfills lacks transaction_id or output_index";
        return false;
      }
      input.fulfills = OutputLink{tx_id->text(), static_cast<uint32_t>(std::stoul(index->text()))};
    }
    Digest digest = InputMessage(body, input);
    std::string message(reinterpret_cast<const char*>(digest.data()), digest.size());

    const JsonValue* owners = input_json.Find("owners_before");
    if (!owners || !owners->is_array() || owners->items().empty()) {
      *error = "input has no owners_before";
      return false;
    }
    std::vector<Fulfillment> signatures;
    for (const JsonValue& owner : owners->items()) {
      auto found = by_public_key.find(owner.text());
      if (found == by_public_key.end()) {
        *error = "no private key given for owner " + owner.text();
        return false;
      }
      Fulfillment ed25519;
      ed25519.type = ConditionType::kEd25519Sha256;
      ed25519.public_key = found->second->public_key;
      ed25519.signature = Sign(*found->second, message);
      signatures.push_back(std::move(ed25519));
    }
    Fulfillment fulfillment;
    if (signatures.size() == 1) {
      fulfillment = std::move(signatures[0]);
    } else {
      fulfillment.type = ConditionType::kThresholdSha256;
      fulfillment.threshold = static_cast<uint32_t>(signatures.size());
      fulfillment.subfulfillments = std::move(signatures);
    }
    input_json.Set("fulfillment", JsonValue::String(Base64UrlEncode(fulfillment.Der())));
  }
  transaction->Set("id", JsonValue::String(ComputeId(*transaction)));
  return true;
}

}  // namespace ledger
