#include "node/node.h"

#include <filesystem>
#include <system_error>

#include "api/comet_rpc_submitter.h"
#include "ledger/crypto.h"
#include "node/dev_submitter.h"
#include "node/log.h"

namespace node {
namespace {

// How long POST ?mode=commit waits in --dev before answering 504.
constexpr std::chrono::seconds kDevCommitTimeout(30);

LogLevel LevelOf(abci::LogSeverity severity) {
  switch (severity) {
    case abci::LogSeverity::kDebug:
      return LogLevel::kDebug;
    case abci::LogSeverity::kInfo:
      return LogLevel::kInfo;
    case abci::LogSeverity::kWarn:
      return LogLevel::kWarn;
    case abci::LogSeverity::kError:
      return LogLevel::kError;
  }
  return LogLevel::kError;
}

}  // namespace

std::unique_ptr<Node> Node::Start(const Config& config, std::string* error) {
  std::unique_ptr<Node> node(new Node());

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    *error = "cannot create data directory " + config.data_dir + ": " + ec.message();
    return nullptr;
  }
  std::string store_error;
  node->store_ = ledger::BlockStore::Open(config.data_dir, &store_error);
  if (!node->store_) {
    *error = store_error;
    // LevelDB's lock message alone does not say what to do about it.
    if (store_error.find("LOCK") != std::string::npos) {
      *error += " (another ledgerd is using --data-dir " + config.data_dir + ")";
    }
    return nullptr;
  }
  node->app_ = std::make_unique<ledger::Application>(node->store_.get());
  const ledger::AppInfo info = node->app_->Info();
  Log(LogLevel::kInfo, "node",
      "ledgerd " LEDGERD_VERSION ": store " + config.data_dir + " at height " +
          std::to_string(info.last_height) + ", app hash " +
          (info.last_app_hash.empty() ? "(none)" : ledger::HexEncode(info.last_app_hash)) +
          (info.chain_id.empty() ? "" : ", chain " + info.chain_id));

  node->work_.emplace(node->io_context_.get_executor());
  for (int i = 0; i < config.http_threads; ++i) {
    node->io_threads_.emplace_back([io = &node->io_context_] { io->run(); });
  }

  if (config.dev) {
    node->producer_ = std::make_unique<BlockProducer>(
        node->app_.get(), BlockProducer::Options{config.block_interval, config.max_block_txs,
                                                 config.mempool_size});
    node->submitter_ = std::make_unique<DevSubmitter>(node->producer_.get(), node->io_context_,
                                                      kDevCommitTimeout);
  } else {
    api::CometRpcOptions rpc;
    rpc.url = config.comet_rpc;
    std::string rpc_error;
    node->submitter_ = api::CometRpcSubmitter::Create(node->io_context_, rpc, &rpc_error);
    if (!node->submitter_) {
      *error = "--comet-rpc: " + rpc_error;
      return nullptr;
    }
  }
  if (!node->StartHttpApi(config, error)) return nullptr;

  // Observers are registered; blocks may flow from here on.
  if (config.dev) {
    node->producer_->Start();
    Log(LogLevel::kInfo, "dev",
        "producing a block at most every " + std::to_string(config.block_interval.count()) +
            " ms while transactions wait");
    return node;
  }
  if (!node->StartAbciServer(config, error)) return nullptr;
  return node;
}

bool Node::StartHttpApi(const Config& config, std::string* error) {
  api::HttpApiOptions options;
  options.listen_address = config.http_addr;
  options.advertised_ws_url = AdvertisedStreamUrl(config);
  options.version = LEDGERD_VERSION;
  options.max_connections = config.http_max_connections;
  options.read_timeout = config.http_read_timeout;
  options.log = [](std::string_view line) { Log(LogLevel::kWarn, "http", std::string(line)); };
  http_api_ = std::make_unique<api::HttpApi>(io_context_, *app_, *store_, *submitter_, options);
  app_->AddObserver(http_api_->metrics().get());
  std::string http_error;
  if (!http_api_->Start(&http_error)) {
    *error = "HTTP API: " + http_error;
    return false;
  }
  Log(LogLevel::kInfo, "http",
      "HTTP API listening on " + config.http_addr + " (port " +
          std::to_string(http_api_->port()) + ")");
  return true;
}

bool Node::StartAbciServer(const Config& config, std::string* error) {
  abci_responder_ = std::make_unique<abci::Responder>(
      app_.get(), LEDGERD_VERSION, [](abci::LogSeverity severity, const std::string& line) {
        Log(LevelOf(severity), "abci", line);
      });
  abci_service_ = std::make_unique<abci::AbciService>(abci_responder_.get());
  legacy_abci_service_ = std::make_unique<abci::LegacyAbciService>(abci_responder_.get());
  std::string server_error;
  // The engine picks the service: CometBFT v0.38 calls tendermint.abci.ABCI,
  // Tendermint v0.34 and CometBFT v0.37 tendermint.abci.ABCIApplication.
  abci_server_ = abci::Server::Start(config.abci_addr,
                                     {abci_service_.get(), legacy_abci_service_.get()},
                                     abci::ServerOptions(), &server_error);
  if (!abci_server_) {
    *error = "ABCI server: " + server_error;
    return false;
  }
  Log(LogLevel::kInfo, "abci",
      "gRPC ABCI server listening on " + config.abci_addr + " (port " +
          std::to_string(abci_server_->port()) +
          "); waiting for CometBFT v0.38 or Tendermint/CometBFT v0.34/v0.37");
  return true;
}

Node::~Node() { Shutdown(std::chrono::milliseconds(0)); }

void Node::Shutdown(std::chrono::milliseconds grace) {
  if (http_api_) http_api_->Stop();
  if (producer_) producer_->Stop();
  if (abci_server_) {
    abci_server_->Shutdown(grace);
    abci_server_.reset();
  }
  legacy_abci_service_.reset();
  abci_service_.reset();
  abci_responder_.reset();
  // Every connection and timer ends with the io_context; only then may what
  // their handlers use go away.
  work_.reset();
  io_context_.stop();
  for (std::thread& thread : io_threads_) thread.join();
  io_threads_.clear();
  http_api_.reset();
  submitter_.reset();
  producer_.reset();
  app_.reset();
  // Closing the store releases the LevelDB lock; every write was synced.
  store_.reset();
}

}  // namespace node
