// A real consensus engine (CometBFT or Tendermint, installed by
// scripts/install-engines.sh) as a child process: a fresh single-validator
// home in a directory of its own, configured to call ledgerd over gRPC and
// to listen on free loopback ports.
#ifndef TESTS_ENGINES_ENGINE_PROCESS_H_
#define TESTS_ENGINES_ENGINE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace engines_e2e {

// The path where scripts/install-engines.sh puts engine `name` (a first
// column of scripts/engines.txt), as CMake read it from that file; "" for a
// name the file does not list.
std::string EngineBinaryPath(const std::string& name);

// Why engine `name` cannot be run, naming the script that installs it; ""
// when its binary is installed.
std::string MissingEngineMessage(const std::string& name);

// How the engine is configured; everything else keeps `init`'s defaults.
struct EngineOptions {
  // ledgerd's gRPC ABCI address, HOST:PORT.
  std::string abci_address;
  // Whether the engine makes blocks without transactions.
  bool create_empty_blocks = false;
  // The pause after each block (`[consensus] timeout_commit`); short keeps
  // the tests fast. CometBFT v1.0 reads it from config.toml as the older
  // lines do (it deprecated only skip_timeout_commit, for timeout_commit 0).
  std::chrono::milliseconds timeout_commit{300};
};

// Sets `key` in `[section]` ("" for the top of the file) of a TOML text to
// `value`, written as is (quote strings yourself). Returns false if the
// section has no such key: the engine's template changed under the test.
bool SetTomlValue(std::string* toml, const std::string& section, const std::string& key,
                  const std::string& value);

// One engine node with its home directory, which survives restarts.
//
// Thread safety: Init, Start, Terminate, Kill and HasExited from one thread;
// the ports and paths are constant and may be read from any thread.
class EngineProcess {
 public:
  // `binary` is the engine's executable, `home` a directory it may own,
  // `log_path` the file its stdout and stderr are appended to. Chooses free
  // loopback ports for its RPC and P2P listeners.
  EngineProcess(std::string binary, std::string home, std::string log_path, EngineOptions options);
  // Kills the engine if it still runs.
  ~EngineProcess();
  EngineProcess(const EngineProcess&) = delete;
  EngineProcess& operator=(const EngineProcess&) = delete;

  // Runs `<binary> version` and `<binary> init --home HOME` (one validator)
  // and edits HOME/config/config.toml: ABCI over gRPC to
  // options.abci_address (host:port for CometBFT, tcp://host:port for
  // Tendermint v0.34), the RPC and P2P ports, timeout_commit and
  // create_empty_blocks. Returns false with the reason in *error.
  bool Init(std::string* error);

  // Starts `<binary> node --home HOME`. Throws std::runtime_error if fork
  // fails.
  void Start();

  // Waits until the RPC answers GET /status (after the handshake with
  // ledgerd, which the engine completes before it opens its RPC). Returns
  // false with the reason in *error if the process exits or `bound` passes.
  bool WaitForRpc(std::chrono::milliseconds bound, std::string* error);

  // SIGTERM, as an operator's `stop` sends; waits up to `bound` for the
  // exit, then SIGKILLs. Returns the exit code, or 128 + the signal that
  // ended it; -1 if it was not running.
  int Terminate(std::chrono::milliseconds bound = std::chrono::seconds(20));

  // SIGKILL, then reaps the process. No effect if it is not running.
  void Kill();

  // True once the process has ended, by itself or by Terminate or Kill (it
  // is then reaped; see exit_status()); false while it runs or if it was
  // never started.
  bool HasExited();
  // How the process ended: exit code or 128 + signal; -1 if it has not.
  int exit_status() const { return exit_status_; }

  bool running() const { return pid_ > 0; }
  // `<binary> version`'s first line, e.g. "0.38.25" (known after Init).
  const std::string& version() const { return version_; }
  uint16_t rpc_port() const { return rpc_port_; }
  const std::string& log_path() const { return log_path_; }

 private:
  // Records how the reaped child ended.
  void Reaped(int wait_status);

  const std::string binary_;
  const std::string home_;
  const std::string log_path_;
  const EngineOptions options_;
  const uint16_t rpc_port_;
  const uint16_t p2p_port_;
  std::string version_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace engines_e2e

#endif  // TESTS_ENGINES_ENGINE_PROCESS_H_
