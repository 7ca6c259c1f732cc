// The real ledgerd binary as a child process, for end-to-end tests.
//
// Thread safety: use from one thread.
#ifndef TESTS_E2E_LEDGERD_PROCESS_H_
#define TESTS_E2E_LEDGERD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace ledgerd_e2e {

// A loopback TCP port that was free a moment ago (bound, read, released).
int FreeLoopbackPort();

class LedgerdProcess {
 public:
  // `args` are passed to `binary`; the child's stderr is appended to
  // `log_path`.
  LedgerdProcess(std::string binary, std::vector<std::string> args, std::string log_path);
  // Kills the child if it still runs.
  ~LedgerdProcess();
  LedgerdProcess(const LedgerdProcess&) = delete;
  LedgerdProcess& operator=(const LedgerdProcess&) = delete;

  // Forks and executes the binary. Throws std::runtime_error if fork fails.
  void Start();

  // SIGKILL, as a crash or power loss would end it, then reaps it.
  void Kill();

  // SIGTERM, then waits; returns the exit status (see Wait).
  int Terminate();

  // Waits for the child to exit; returns its exit code, or 128 + the signal
  // that ended it.
  int Wait();

  bool running() const { return pid_ > 0; }

  // The child's process id while it runs (see running()), else -1.
  pid_t pid() const { return pid_; }

 private:
  const std::string binary_;
  const std::vector<std::string> args_;
  const std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_LEDGERD_PROCESS_H_
