// The handlers behind each BigchainDB endpoint: they read the ledger through
// its own interfaces and answer with BigchainDB's shapes, statuses and error
// bodies.
#ifndef API_ENDPOINTS_H_
#define API_ENDPOINTS_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/metrics.h"
#include "api/reply.h"
#include "api/request_target.h"
#include "api/transaction_submitter.h"
#include "api/web_page.h"
#include "ledger/application.h"
#include "ledger/block_store.h"

namespace api {

// What the endpoints say about the node itself.
struct EndpointSettings {
  std::string version;               // "version" of GET /
  std::string docs_url;              // "docs" of GET / and GET /api/v1/
  std::string streams_url;           // "streams": the advertised WebSocket URL
  size_t max_search_results = 1000;  // default and cap of `limit` for search
};

// Answers a request, exactly once, possibly later and from another thread.
using Respond = std::function<void(Reply)>;

// Thread safety: every method may be called from several threads at once.
class Endpoints {
 public:
  // `app`, `store` and `submitter` must outlive the Endpoints.
  Endpoints(ledger::Application& app, const ledger::BlockStore& store,
            TransactionSubmitter& submitter, std::shared_ptr<Metrics> metrics,
            EndpointSettings settings);

  // GET /: the page (WebPage::Page) for a client whose `accept` header
  // prefers HTML, else {"api":{"v1":{...}},"docs":...,"software":"ledgerd",
  // "version":...}; Vary: Accept either way.
  Reply Root(std::string_view accept, std::string_view if_none_match) const;
  // GET /api/v1/: the URL of every resource and of the event stream.
  Reply ApiV1Root() const;

  // POST /api/v1/transactions?mode=: checks `body` with Application::CheckTx
  // (parse, id, schema, signatures, then committed state) and hands it to the
  // submitter. Responds 202 with `body` itself once the submitter reports
  // success; 400 {"message":"Invalid transaction (<Error>): ...","status":400}
  // for a bad transaction or mode; the submitter's status (409, 502, 503,
  // 504) when it fails.
  void PostTransaction(const RequestTarget& target, std::string body, Respond respond);

  // GET /api/v1/transactions/{id}: the transaction's bytes as submitted; 400
  // if `id` is not 64 hex digits, 404 if unknown.
  Reply GetTransaction(std::string_view id) const;
  // GET /api/v1/transactions?asset_id=&operation=&last_tx=: the asset's
  // transactions in commit order; 400 without a valid asset_id or with a bad
  // filter.
  Reply ListTransactions(const RequestTarget& target) const;
  // GET /api/v1/outputs?public_key=&spent=: [{"transaction_id","output_index"}].
  Reply ListOutputs(const RequestTarget& target) const;
  // GET /api/v1/blocks/{height}: {"height","transactions":[...]}; 400 for a
  // height that is not a positive integer, 404 if there is no such block.
  Reply GetBlock(std::string_view height) const;
  // GET /api/v1/blocks?transaction_id=: [height] of the block holding it, or [].
  Reply ListBlocks(const RequestTarget& target) const;
  // GET /api/v1/validators: the validators recorded at InitChain.
  Reply Validators() const;
  // GET /api/v1/assets?search=&limit=: [{"data","id"}] of matching CREATEs.
  Reply SearchAssets(const RequestTarget& target) const;
  // GET /api/v1/metadata?search=&limit=: [{"id","metadata"}] of matching
  // transactions.
  Reply SearchMetadata(const RequestTarget& target) const;
  // GET /health: {"status":"ok","height":<last committed height>}.
  Reply Health() const;
  // GET /metrics: Prometheus text.
  Reply PrometheusMetrics() const;
  // GET /web/{name}: a file of the page (WebPage::File).
  Reply PageFile(std::string_view name, std::string_view if_none_match) const;

 private:
  enum class SearchField { kAssetData, kMetadata };
  Reply Search(const RequestTarget& target, SearchField field) const;
  // "[<tx>,<tx>,...]" of the stored bytes of `ids`.
  std::string TransactionArray(const std::vector<std::string>& ids) const;

  ledger::Application& app_;
  const ledger::BlockStore& store_;
  TransactionSubmitter& submitter_;
  const std::shared_ptr<Metrics> metrics_;
  const EndpointSettings settings_;
  const WebPage page_;
};

}  // namespace api

#endif  // API_ENDPOINTS_H_
