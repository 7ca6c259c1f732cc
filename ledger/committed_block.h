// What leaves the ledger when a block is durable: the narrow interface the
// event stream and the HTTP API subscribe to.
#ifndef LEDGER_COMMITTED_BLOCK_H_
#define LEDGER_COMMITTED_BLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/transaction.h"

namespace ledger {

struct CommittedTransaction {
  std::string id;
  std::string asset_id;
  Operation operation = Operation::kCreate;
  uint32_t index = 0;                    // position among the block's valid txs
  std::vector<std::string> public_keys;  // outputs' keys and inputs' owners
};

struct CommittedBlock {
  int64_t height = 0;
  std::string app_hash;  // raw bytes, empty before the first valid tx
  std::vector<CommittedTransaction> transactions;  // valid ones, in order
};

// Receives every committed block, in height order, after its write is
// durable. Called on the committing thread: implementations must return
// quickly and must not call back into the Application.
class BlockObserver {
 public:
  virtual ~BlockObserver() = default;
  virtual void OnBlockCommitted(const CommittedBlock& block) = 0;
};

// Read access to committed blocks, for replay. Thread-safe.
class CommittedBlockSource {
 public:
  virtual ~CommittedBlockSource() = default;
  // The block at `height`, or nullopt if none is stored there (blocks with no
  // valid transaction are stored too, with an empty list).
  virtual std::optional<CommittedBlock> BlockAt(int64_t height) const = 0;
  // The last committed height; 0 before the first block.
  virtual int64_t LastHeight() const = 0;
};

}  // namespace ledger

#endif  // LEDGER_COMMITTED_BLOCK_H_
