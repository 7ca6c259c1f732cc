#include "node/node.h"

#include <algorithm>
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
  for (const std::string& removed : node->store_->removed_restores()) {
    Log(LogLevel::kWarn, "node",
        "removed " + removed + ", left by a state sync restore that did not finish");
  }
  node->app_ = std::make_unique<ledger::Application>(node->store_.get());
  const ledger::AppInfo info = node->app_->Info();
  Log(LogLevel::kInfo, "node",
      "ledgerd " LEDGERD_VERSION ": store " + config.data_dir + " at height " +
          std::to_string(info.last_height) + ", app hash " +
          (info.last_app_hash.empty() ? "(none)" : ledger::HexEncode(info.last_app_hash)) +
          (info.chain_id.empty() ? "" : ", chain " + info.chain_id));

  if (!node->StartEventStream(config, error)) return nullptr;

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

bool Node::StartEventStream(const Config& config, std::string* error) {
  stream::EventStreamOptions options;
  const size_t colon = config.ws_addr.rfind(':');
  options.address = config.ws_addr.substr(0, colon);
  if (options.address.size() > 2 && options.address.front() == '[') {
    options.address = options.address.substr(1, options.address.size() - 2);
  }
  options.port = static_cast<uint16_t>(std::stoi(config.ws_addr.substr(colon + 1)));
  // A block is never split, so the queue holds at least the largest block.
  options.max_queue_messages = std::max(config.ws_max_queue, config.max_block_txs);
  options.max_connections = config.ws_max_connections;
  options.idle_timeout = config.ws_idle_timeout;
  options.handshake_timeout = config.ws_handshake_timeout;
  options.max_client_message_bytes = config.ws_max_message_bytes;
  options.tls_certificate_file = config.ws_tls_cert;
  options.tls_private_key_file = config.ws_tls_key;
  options.log = [](std::string_view line) { Log(LogLevel::kWarn, "stream", std::string(line)); };
  if (config.ws_tls_cert.empty() != config.ws_tls_key.empty()) {
    *error = "event stream: --ws-tls-cert and --ws-tls-key go together";
    return false;
  }
  event_stream_ = std::make_unique<stream::EventStream>(*store_, options);
  app_->AddObserver(event_stream_.get());
  std::string stream_error;
  if (!event_stream_->Start(&stream_error)) {
    *error = "event stream: " + stream_error;
    return false;
  }
  Log(LogLevel::kInfo, "stream",
      std::string(config.ws_tls_cert.empty() ? "ws" : "wss") + "://" + config.ws_addr +
          std::string(stream::kStreamPath) + " serving (port " +
          std::to_string(event_stream_->port()) + ")");
  return true;
}

bool Node::StartHttpApi(const Config& config, std::string* error) {
  api::HttpApiOptions options;
  options.listen_address = config.http_addr;
  options.advertised_ws_url = AdvertisedStreamUrl(config);
  options.version = LEDGERD_VERSION;
  options.max_connections = config.http_max_connections;
  options.read_timeout = config.http_read_timeout;
  options.header_limit = config.http_max_header_bytes;
  options.log = [](std::string_view line) { Log(LogLevel::kWarn, "http", std::string(line)); };
  http_api_ = std::make_unique<api::HttpApi>(io_context_, *app_, *store_, *submitter_, options);
  app_->AddObserver(http_api_->metrics().get());
  stream::EventStream* event_stream = event_stream_.get();
  http_api_->metrics()->AddSampled(
      "ledgerd_stream_subscribers", "WebSocket event stream subscribers connected now",
      api::MetricType::kGauge,
      [event_stream] { return static_cast<double>(event_stream->counters().subscribers); });
  http_api_->metrics()->AddSampled(
      "ledgerd_stream_messages_sent_total", "Event stream messages written to subscribers",
      api::MetricType::kCounter,
      [event_stream] { return static_cast<double>(event_stream->counters().messages_sent); });
  http_api_->metrics()->AddSampled(
      "ledgerd_stream_slow_consumer_closes_total",
      "Subscribers closed with 1008 for falling behind", api::MetricType::kCounter,
      [event_stream] { return static_cast<double>(event_stream->counters().slow_consumer_closes); });
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
  ledger::SnapshotStore::Options snapshot_options;
  snapshot_options.directory = (std::filesystem::path(config.data_dir) / "snapshots").string();
  snapshot_options.interval = config.snapshot_interval;
  snapshot_options.keep = config.snapshot_keep;
  snapshot_options.log = [](const std::string& line) { Log(LogLevel::kInfo, "snapshot", line); };
  snapshots_ = std::make_unique<ledger::SnapshotStore>(store_.get(), std::move(snapshot_options));
  app_->AddObserver(snapshots_.get());
  abci_responder_ = std::make_unique<abci::Responder>(
      app_.get(), LEDGERD_VERSION,
      [](abci::LogSeverity severity, const std::string& line) {
        Log(LevelOf(severity), "abci", line);
      },
      abci::StateSync{snapshots_.get(), store_.get()});
  // The engine picks the service by the method path it calls.
  std::vector<grpc::Service*> services;
  for (const abci::EngineApi* api :
       {&abci::CometBft038Api(), &abci::Tendermint034Api(), &abci::CometBft1Api()}) {
    abci_services_.push_back(std::make_unique<abci::EngineService>(*api, abci_responder_.get()));
    services.push_back(abci_services_.back().get());
  }
  std::string server_error;
  abci_server_ =
      abci::Server::Start(config.abci_addr, services, abci::ServerOptions(), &server_error);
  if (!abci_server_) {
    *error = "ABCI server: " + server_error;
    return false;
  }
  Log(LogLevel::kInfo, "abci",
      "gRPC ABCI server listening on " + config.abci_addr + " (port " +
          std::to_string(abci_server_->port()) +
          "); waiting for CometBFT v1.0 or v0.38, or Tendermint/CometBFT v0.34/v0.37");
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
  abci_services_.clear();
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
  // Blocks no longer commit; subscribers are told to resume elsewhere.
  if (event_stream_) event_stream_->Stop();
  event_stream_.reset();
  app_.reset();
  // A snapshot being written reads the store until it is done.
  snapshots_.reset();
  // Closing the store releases the LevelDB lock; every write was synced.
  store_.reset();
}

}  // namespace node
