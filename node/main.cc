// ledgerd: parses the configuration, starts the node and runs it until
// SIGINT or SIGTERM, then shuts it down cleanly.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "node/config.h"
#include "node/log.h"
#include "node/node.h"

namespace {

// How long calls in flight get to deliver their answers before connections
// are closed. The engine's idle connections stay open until then, so this
// is also how long a shutdown with CometBFT attached takes; it must stay well
// below Docker's 10 s stop timeout. Handlers always run to completion before
// the store is closed, whatever this is.
constexpr std::chrono::seconds kShutdownGrace(2);

}  // namespace

int main(int argc, char** argv) {
  const node::CommandLine command_line =
      node::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc), node::ProcessEnv);
  if (command_line.help) {
    std::fputs(node::HelpText().c_str(), stdout);
    return 0;
  }
  if (!command_line.error.empty()) {
    std::fprintf(stderr, "ledgerd: %s\n", command_line.error.c_str());
    return 2;
  }
  node::SetLogLevel(command_line.config.log_level);

  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string error;
  std::unique_ptr<node::Node> running = node::Node::Start(command_line.config, &error);
  if (!running) {
    node::Log(node::LogLevel::kError, "node", error);
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  node::Log(node::LogLevel::kInfo, "node",
            std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                ", shutting down");
  running->Shutdown(kShutdownGrace);
  node::Log(node::LogLevel::kInfo, "node", "stopped; store closed");
  return 0;
}
