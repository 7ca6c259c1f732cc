// `ledgerctl watch` against the real `ledgerd --dev` binary, killed with
// SIGKILL and restarted again and again under load: watch resumes after the
// last transaction it printed, so its output is the chain's stream byte for
// byte, without a duplicate or a gap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/stream/stream_e2e_fixture.h"

extern char** environ;

namespace ledgerd_e2e {
namespace {

using stream::testing::TestClient;
using stream::testing::WaitFor;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t LineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

size_t Occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// A child process with its stdout and stderr in files; killed and reaped
// when destroyed.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& stdout_path,
               const std::string& stderr_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ChildProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }

  // True while the child has not exited.
  bool Running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

// Ten times: the node is killed with SIGKILL while transactions keep coming,
// and restarted on the same data directory and ports. watch, reading from
// height 1 throughout, must print exactly what a fresh reader of the whole
// chain gets afterwards.
TEST_F(StreamE2eTest, WatchResumesAcrossKilledNodeWithoutDuplicateOrGap) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::string url = "ws://127.0.0.1:" + std::to_string(node_->ws_port()) + kStreamPath;
  const std::string out_path = dir_.path() + "/watch.out";
  const std::string err_path = dir_.path() + "/watch.err";
  ChildProcess watch(
      {LEDGERCTL_BINARY, "watch", "--url", url, "--from-height", "1", "--max-retries", "1000"},
      out_path, err_path);
  ASSERT_TRUE(watch.started());

  // Load: CREATEs one after another; those refused or lost while the node
  // is down simply never appear anywhere.
  std::atomic<bool> loading{true};
  std::thread load([&] {
    for (int nonce = 0; loading && nonce < 100'000; ++nonce) {
      node_->Submit(NewCreate(alice_, "load " + std::to_string(nonce)).json);
    }
  });

  constexpr int kKills = 10;
  bool progressed = true;
  for (int round = 0; round < kKills && progressed; ++round) {
    // Let watch print something more on this run of the node (it has
    // resumed), then kill the node under load.
    const size_t printed = LineCount(ReadFile(out_path));
    progressed = WaitFor([&] { return LineCount(ReadFile(out_path)) > printed + 5; });
    const size_t refused = Occurrences(ReadFile(err_path), "cannot connect");
    node_->Kill();
    // Let watch find the node gone at least once, so that its retries meet
    // a refused connection too.
    progressed =
        WaitFor([&] { return Occurrences(ReadFile(err_path), "cannot connect") > refused; });
    ASSERT_TRUE(node_->Start()) << "restart " << round;
  }
  loading = false;
  load.join();
  ASSERT_TRUE(progressed) << "watch stopped printing; its log:\n" << ReadFile(err_path);

  // The last transaction, committed: when watch has printed it, it has
  // printed everything.
  const Tx last = NewCreate(bob_, "last");
  ASSERT_NO_FATAL_FAILURE(Submit(last, "commit"));
  ASSERT_TRUE(WaitFor([&] { return ReadFile(out_path).find(last.id) != std::string::npos; }))
      << ReadFile(err_path);
  EXPECT_TRUE(watch.Running());

  TestClient reference;
  ASSERT_FALSE(reference.Connect(node_->ws_port(), Target("?from_height=1")));
  std::string expected;
  for (int read = 0; read < 1'000'000; ++read) {
    const TestClient::ReadResult result = reference.Read();
    ASSERT_TRUE(result.message) << result.error.message();
    expected += *result.message + "\n";
    if (IdIn(*result.message) == last.id) break;
  }
  const std::string printed = ReadFile(out_path);
  EXPECT_EQ(printed, expected);
  EXPECT_GT(LineCount(printed), static_cast<size_t>(kKills * 5));
  // Every kill was seen and resumed from by id.
  const std::string log = ReadFile(err_path);
  EXPECT_GE(Occurrences(log, "resuming on " + url + " with after_transaction_id="),
            static_cast<size_t>(kKills))
      << log;
}

}  // namespace
}  // namespace ledgerd_e2e
