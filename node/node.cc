#include "node/node.h"

#include <filesystem>
#include <system_error>

#include "ledger/crypto.h"
#include "node/log.h"

namespace node {
namespace {

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

  node->abci_service_ = std::make_unique<abci::AbciService>(
      node->app_.get(), LEDGERD_VERSION, [](abci::LogSeverity severity, const std::string& line) {
        Log(LevelOf(severity), "abci", line);
      });
  std::string server_error;
  node->abci_server_ = abci::Server::Start(config.abci_addr, node->abci_service_.get(),
                                           abci::ServerOptions(), &server_error);
  if (!node->abci_server_) {
    *error = "ABCI server: " + server_error;
    return nullptr;
  }
  Log(LogLevel::kInfo, "abci",
      "gRPC ABCI server listening on " + config.abci_addr + " (port " +
          std::to_string(node->abci_server_->port()) + "); waiting for CometBFT");
  return node;
}

Node::~Node() { Shutdown(std::chrono::milliseconds(0)); }

void Node::Shutdown(std::chrono::milliseconds grace) {
  if (abci_server_) {
    abci_server_->Shutdown(grace);
    abci_server_.reset();
  }
  abci_service_.reset();
  app_.reset();
  // Closing the store releases the LevelDB lock; every write was synced.
  store_.reset();
}

}  // namespace node
