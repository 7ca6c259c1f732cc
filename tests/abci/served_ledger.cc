#include "tests/abci/served_ledger.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

namespace ledger_test {

void ServedLedger::Recorder::OnBlockCommitted(const ledger::CommittedBlock& block) {
  std::lock_guard<std::mutex> lock(mutex_);
  blocks_.push_back(block);
}

std::vector<ledger::CommittedBlock> ServedLedger::Recorder::blocks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return blocks_;
}

ServedLedger::ServedLedger(std::string dir, int64_t snapshot_interval)
    : dir_(std::move(dir)), snapshot_interval_(snapshot_interval) {
  Open();
}

ServedLedger::~ServedLedger() { Close(); }

void ServedLedger::Reopen() {
  Close();
  Open();
}

void ServedLedger::Open() {
  std::string error;
  store_ = ledger::BlockStore::Open(dir_, &error);
  ASSERT_NE(store_, nullptr) << error;
  app_ = std::make_unique<ledger::Application>(store_.get());
  app_->AddObserver(&recorder_);
  ledger::SnapshotStore::Options snapshot_options;
  snapshot_options.directory = dir_ + "/snapshots";
  snapshot_options.interval = snapshot_interval_;
  // Small chunks, so that a few blocks make several.
  snapshot_options.chunk_bytes = 4096;
  snapshots_ = std::make_unique<ledger::SnapshotStore>(store_.get(), snapshot_options);
  app_->AddObserver(snapshots_.get());
  responder_ = std::make_unique<abci::Responder>(
      app_.get(), "9.9.9",
      [this](abci::LogSeverity severity, const std::string& line) {
        std::lock_guard<std::mutex> lock(log_mutex_);
        log_.emplace_back(severity, line);
      },
      abci::StateSync{snapshots_.get(), store_.get()});
  std::vector<grpc::Service*> services;
  for (const abci::EngineApi* api :
       {&abci::CometBft038Api(), &abci::Tendermint034Api(), &abci::CometBft1Api()}) {
    services_.push_back(std::make_unique<abci::EngineService>(*api, responder_.get()));
    services.push_back(services_.back().get());
  }
  server_ = abci::Server::Start("127.0.0.1:0", services, abci::ServerOptions(), &error);
  ASSERT_NE(server_, nullptr) << error;
}

void ServedLedger::Close() {
  server_.reset();  // waits for every call in flight
  services_.clear();
  responder_.reset();
  app_.reset();
  snapshots_.reset();
  store_.reset();
}

std::shared_ptr<grpc::Channel> ServedLedger::Channel() const {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                             grpc::InsecureChannelCredentials());
}

std::vector<std::string> ServedLedger::LogLinesAt(abci::LogSeverity severity) const {
  std::lock_guard<std::mutex> lock(log_mutex_);
  std::vector<std::string> lines;
  for (const auto& [line_severity, line] : log_) {
    if (line_severity == severity) lines.push_back(line);
  }
  return lines;
}

std::vector<ledger::CommittedBlock> ServedLedger::CommittedBlocks() const {
  return recorder_.blocks();
}

}  // namespace ledger_test
