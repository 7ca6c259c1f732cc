// Plays CometBFT v0.38's part against a ledgerd over gRPC: the same four
// connections (query, snapshot, mempool, consensus), the same calls on each,
// in the order the engine makes them.
//
// Every call waits for the server to be ready (as CometBFT's client does)
// with a generous deadline so that a broken server fails a test instead of
// hanging it. A failed call is reported as a test failure.
//
// Thread safety: CheckTx may be called from many threads at once; everything
// else from one thread, as the engine's consensus routine does.
#ifndef TESTS_E2E_ENGINE_CLIENT_H_
#define TESTS_E2E_ENGINE_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tendermint/abci/types.grpc.pb.h"

namespace ledgerd_e2e {

// CometBFT v0.38's default block size limit (consensus params block.max_bytes).
inline constexpr int64_t kDefaultMaxBlockBytes = 22020096;

class EngineClient {
 public:
  // Dials 127.0.0.1:`port` on four separate connections; nothing is sent yet.
  explicit EngineClient(int port);

  // Sends Echo on each connection in CometBFT's order, retrying every
  // ~100 ms until answered. Returns false if some connection got no answer
  // within `give_up`.
  bool WaitUntilConnected(std::chrono::seconds give_up);

  // Echo attempts that went unanswered so far (the server was not up yet).
  int unanswered_echoes() const { return unanswered_echoes_.load(); }

  // --- query connection
  tendermint::abci::ResponseInfo Info();
  tendermint::abci::ResponseQuery Query(const std::string& path, const std::string& data);

  // --- snapshot connection
  tendermint::abci::ResponseListSnapshots ListSnapshots();

  // --- mempool connection
  tendermint::abci::ResponseCheckTx CheckTx(const std::string& tx,
                                            tendermint::abci::CheckTxType type);
  void FlushMempool();

  // --- consensus connection
  // InitChain with one Ed25519 validator of power 10.
  void InitChain(const std::string& chain_id);
  tendermint::abci::ResponsePrepareProposal PrepareProposal(int64_t height,
                                                            const std::vector<std::string>& txs,
                                                            int64_t max_tx_bytes);
  tendermint::abci::ResponseProcessProposal ProcessProposal(int64_t height,
                                                            const std::vector<std::string>& txs);
  tendermint::abci::ResponseFinalizeBlock FinalizeBlock(int64_t height,
                                                        const std::vector<std::string>& txs);
  void Commit();

  // The engine's handshake: Info, then InitChain if the app is at height 0.
  // Returns Info's answer.
  tendermint::abci::ResponseInfo Handshake(const std::string& chain_id);

  // A height where this node proposes: PrepareProposal over the mempool's
  // `candidates`, ProcessProposal, FinalizeBlock, Flush of the mempool
  // connection, Commit. `*proposed` receives the txs actually proposed.
  tendermint::abci::ResponseFinalizeBlock ProposeAndCommit(
      int64_t height, const std::vector<std::string>& candidates,
      std::vector<std::string>* proposed);

  // A height decided elsewhere (or replayed after a restart): ProcessProposal,
  // FinalizeBlock, Flush of the mempool connection, Commit.
  tendermint::abci::ResponseFinalizeBlock ExecuteDecidedBlock(int64_t height,
                                                              const std::vector<std::string>& txs);

  // After a commit: CheckTx RECHECK of what stayed in the mempool, then Flush.
  // Returns the codes in order.
  std::vector<uint32_t> Recheck(const std::vector<std::string>& mempool);

 private:
  using Stub = tendermint::abci::ABCI::Stub;

  // Client context with wait-for-ready and the call deadline.
  static std::unique_ptr<grpc::ClientContext> CallContext();

  std::unique_ptr<Stub> query_;
  std::unique_ptr<Stub> snapshot_;
  std::unique_ptr<Stub> mempool_;
  std::unique_ptr<Stub> consensus_;
  std::atomic<int> unanswered_echoes_{0};
};

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_ENGINE_CLIENT_H_
