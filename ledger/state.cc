#include "ledger/state.h"

#include <set>

namespace ledger {

// Wide enough for any sum of amounts (each at most 9e18).
__extension__ using Uint128 = unsigned __int128;

void BlockOverlay::Apply(const Transaction& tx) {
  transactions_.insert(tx.id);
  for (uint32_t i = 0; i < tx.outputs.size(); ++i) {
    outputs_[{tx.id, i}] = StoredOutput{tx.outputs[i].condition_uri, tx.outputs[i].amount,
                                        tx.asset_id};
  }
  for (const Input& input : tx.inputs) {
    if (input.fulfills) {
      spent_by_[{input.fulfills->transaction_id, input.fulfills->output_index}] = tx.id;
    }
  }
}

bool BlockOverlay::Affects(const Transaction& tx) const {
  if (transactions_.count(tx.id) > 0) return true;
  for (const Input& input : tx.inputs) {
    if (input.fulfills &&
        spent_by_.count({input.fulfills->transaction_id, input.fulfills->output_index}) > 0) {
      return true;
    }
  }
  return false;
}

bool BlockOverlay::HasTransaction(std::string_view id) const {
  return transactions_.count(id) > 0 || committed_->HasTransaction(id);
}

std::optional<StoredOutput> BlockOverlay::GetOutput(std::string_view transaction_id,
                                                    uint32_t index) const {
  auto it = outputs_.find({std::string(transaction_id), index});
  if (it != outputs_.end()) return it->second;
  return committed_->GetOutput(transaction_id, index);
}

std::optional<std::string> BlockOverlay::SpentBy(std::string_view transaction_id,
                                                 uint32_t index) const {
  auto it = spent_by_.find({std::string(transaction_id), index});
  if (it != spent_by_.end()) return it->second;
  return committed_->SpentBy(transaction_id, index);
}

Status CheckAgainstState(const CheckedTransaction& checked, const LedgerView& state) {
  const Transaction& tx = *checked.transaction;
  if (state.HasTransaction(tx.id)) {
    return Status::Error(ErrorCode::kDuplicateTransaction,
                         "transaction " + tx.id + " is already committed");
  }
  if (tx.operation == Operation::kCreate) return checked.signature_status;

  std::vector<StoredOutput> spent(tx.inputs.size());
  std::set<std::pair<std::string, uint32_t>> spent_here;
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    const OutputLink& link = *tx.inputs[i].fulfills;
    std::string what = "inputs[" + std::to_string(i) + "] spends output " +
                       std::to_string(link.output_index) + " of " + link.transaction_id;
    auto output = state.GetOutput(link.transaction_id, link.output_index);
    if (!output) {
      return Status::Error(ErrorCode::kInputDoesNotExist, what + ", which does not exist");
    }
    if (auto spender = state.SpentBy(link.transaction_id, link.output_index)) {
      return Status::Error(ErrorCode::kDoubleSpend, what + ", already spent by " + *spender);
    }
    if (!spent_here.insert({link.transaction_id, link.output_index}).second) {
      return Status::Error(ErrorCode::kDoubleSpend,
                           what + ", which an earlier input of this transaction spends");
    }
    spent[i] = std::move(*output);
  }

  Uint128 input_total = 0;
  for (size_t i = 0; i < spent.size(); ++i) {
    if (spent[i].asset_id != tx.asset_id) {
      return Status::Error(ErrorCode::kAssetIdMismatch,
                           "inputs[" + std::to_string(i) + "] belongs to asset " +
                               spent[i].asset_id + ", not to " + tx.asset_id);
    }
    input_total += spent[i].amount;
  }
  Uint128 output_total = 0;
  for (const Output& output : tx.outputs) output_total += output.amount;
  if (input_total != output_total) {
    auto decimal = [](Uint128 value) {
      std::string digits;
      do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
      } while (value != 0);
      return digits;
    };
    return Status::Error(ErrorCode::kAmountError,
                         "the inputs carry " + decimal(input_total) + " but the outputs " +
                             decimal(output_total));
  }

  for (size_t i = 0; i < spent.size(); ++i) {
    if (tx.inputs[i].fulfillment_condition_uri != spent[i].condition_uri) {
      return Status::Error(ErrorCode::kInvalidSignature,
                           "inputs[" + std::to_string(i) +
                               "].fulfillment does not fulfill the condition of the output it "
                               "spends");
    }
  }
  return checked.signature_status;
}

}  // namespace ledger
