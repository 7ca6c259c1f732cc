// Plays Tendermint v0.34's or CometBFT v0.37's part against a ledgerd over
// gRPC (service tendermint.abci.ABCIApplication): the same four connections
// (query, snapshot, mempool, consensus), the same calls on each, in the
// order those engines make them:
//   - handshake: Info on the query connection (v0.34 sends no abci_version,
//     v0.37 "1.0.0"), InitChain on the consensus connection at height 0;
//   - each height: [v0.37: PrepareProposal when proposing, ProcessProposal]
//     BeginBlock (with a full header), DeliverTx per tx, EndBlock; then the
//     mempool is locked and its connection flushed, Commit (the app hash
//     comes back in ResponseCommit.data), and CheckTx RECHECK of what stayed
//     in the mempool.
// Every call waits for the server to be ready with a generous deadline, and
// a failed call is reported as a test failure.
//
// Thread safety: CheckTx may be called from many threads at once; everything
// else from one thread, as the engine's consensus routine does.
#ifndef TESTS_E2E_LEGACY_ENGINE_CLIENT_H_
#define TESTS_E2E_LEGACY_ENGINE_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tendermint/abci/types.grpc.pb.h"

namespace ledgerd_e2e {

// The engine lines that call tendermint.abci.ABCIApplication.
enum class LegacyEngine { kTendermint034, kCometBft037 };

// What a block returned through BeginBlock/DeliverTx/EndBlock/Commit.
struct DeliveredBlock {
  std::vector<tendermint::abci::ResponseDeliverTx> results;  // one per tx, in order
  std::string app_hash;                                      // ResponseCommit.data
};

class LegacyEngineClient {
 public:
  // Dials 127.0.0.1:`port` on four separate connections; nothing is sent yet.
  LegacyEngineClient(int port, LegacyEngine engine);

  // The version this client announces in Info ("0.34.24" or "0.37.4").
  std::string version() const;

  // Sends Echo on each connection in the engine's order, retrying every
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
  // InitChain with one Ed25519 validator of power 10 and the line's
  // consensus parameters.
  void InitChain(const std::string& chain_id);
  // v0.37 only.
  tendermint::abci::ResponsePrepareProposal PrepareProposal(int64_t height,
                                                            const std::vector<std::string>& txs);
  tendermint::abci::ResponseProcessProposal ProcessProposal(int64_t height,
                                                            const std::vector<std::string>& txs);
  void BeginBlock(int64_t height);
  tendermint::abci::ResponseDeliverTx DeliverTx(const std::string& tx);
  void EndBlock(int64_t height);
  // Returns ResponseCommit.data (the app hash) and remembers it for the next
  // header's app_hash.
  std::string Commit();

  // The engine's handshake: Info, then InitChain if the app is at height 0.
  // Returns Info's answer and remembers its app hash for the next header.
  tendermint::abci::ResponseInfo Handshake(const std::string& chain_id);

  // BeginBlock, DeliverTx for each tx, EndBlock (no Commit: what a crash
  // before Commit leaves). v0.37 first sends ProcessProposal.
  std::vector<tendermint::abci::ResponseDeliverTx> DeliverBlock(
      int64_t height, const std::vector<std::string>& txs);

  // A height decided elsewhere (or replayed after a restart): DeliverBlock,
  // Flush of the mempool connection, Commit.
  DeliveredBlock ExecuteDecidedBlock(int64_t height, const std::vector<std::string>& txs);

  // A height where this node proposes: v0.34 reaps `candidates` from its
  // mempool as they are; v0.37 asks PrepareProposal first. Then as
  // ExecuteDecidedBlock. `*proposed` receives the txs actually proposed.
  DeliveredBlock ProposeAndCommit(int64_t height, const std::vector<std::string>& candidates,
                                  std::vector<std::string>* proposed);

  // After a commit: CheckTx RECHECK of what stayed in the mempool, then
  // Flush. Returns the codes in order.
  std::vector<uint32_t> Recheck(const std::vector<std::string>& mempool);

 private:
  using Stub = tendermint::abci::ABCIApplication::Stub;

  const LegacyEngine engine_;
  std::unique_ptr<Stub> query_;
  std::unique_ptr<Stub> snapshot_;
  std::unique_ptr<Stub> mempool_;
  std::unique_ptr<Stub> consensus_;
  std::atomic<int> unanswered_echoes_{0};
  std::string chain_id_;
  std::string last_app_hash_;  // goes into the next header, as the engine does
};

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_LEGACY_ENGINE_CLIENT_H_
