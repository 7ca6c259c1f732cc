// The HTTP API's TransactionSubmitter in --dev mode: hands transactions to
// the built-in block producer and answers as CometBFT's broadcast_tx_* would.
//
// Thread safety: Submit may be called from any number of threads at once.
#ifndef NODE_DEV_SUBMITTER_H_
#define NODE_DEV_SUBMITTER_H_

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "api/transaction_submitter.h"
#include "node/block_producer.h"

namespace node {

class DevSubmitter : public api::TransactionSubmitter {
 public:
  // `producer` and `io_context` (which runs the commit timers) must outlive
  // the submitter. A `mode=commit` submission not committed within
  // `commit_timeout` is answered kTimeout; it may still commit later.
  DevSubmitter(BlockProducer* producer, boost::asio::io_context& io_context,
               std::chrono::milliseconds commit_timeout);

  // async and sync answer once the mempool admitted the transaction (the
  // producer's CheckTx runs at once); commit once its block is durable.
  void Submit(std::string tx, api::BroadcastMode mode, api::SubmitCallback done) override;

 private:
  BlockProducer* producer_;
  boost::asio::io_context& io_context_;
  const std::chrono::milliseconds commit_timeout_;
};

}  // namespace node

#endif  // NODE_DEV_SUBMITTER_H_
