#include "tests/engines/engine_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/beast/http/verb.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e/hardening/hardening_test_util.h"
#include "tests/e2e/ledgerd_process.h"

namespace engines_e2e {
namespace {

using namespace std::chrono_literals;

// Init and version are quick; a bound only catches a hang.
constexpr std::chrono::seconds kCommandBound(30);

std::chrono::steady_clock::time_point Deadline(std::chrono::milliseconds bound) {
  return std::chrono::steady_clock::now() + bound;
}

int StatusOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Forks and executes argv[0] with `argv`, stdout and stderr going to
// `output_fd`. Returns the child's pid. Throws std::runtime_error if fork
// fails.
pid_t Spawn(const std::vector<std::string>& argv, int output_fd) {
  std::vector<char*> pointers;
  for (const std::string& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(output_fd, STDOUT_FILENO);
    dup2(output_fd, STDERR_FILENO);
    execv(pointers[0], pointers.data());
    _exit(127);
  }
  return pid;
}

// Runs `argv` to completion within kCommandBound and returns its exit
// status (see StatusOf), its stdout and stderr in *output. A command still
// running at the bound is killed.
int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = Spawn(argv, pipe_fds[1]);
  close(pipe_fds[1]);
  const auto deadline = Deadline(kCommandBound);
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd readable{pipe_fds[0], POLLIN, 0};
    if (poll(&readable, 1, 100) <= 0) continue;
    const ssize_t got = read(pipe_fds[0], buffer, sizeof(buffer));
    if (got <= 0) break;  // end of output: the command is done or closed it
    output->append(buffer, static_cast<size_t>(got));
  }
  close(pipe_fds[0]);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wait_status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  return StatusOf(wait_status);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

// "1s" style, as the engines' config parser (Go's time.ParseDuration) reads
// it.
std::string GoDuration(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + "ms";
}

}  // namespace

std::string EngineBinaryPath(const std::string& name) {
  // "name=path,name=path,...", made by tests/engines/CMakeLists.txt from
  // scripts/engines.txt.
  std::istringstream table(LEDGERD_ENGINE_BINARIES);
  for (std::string entry; std::getline(table, entry, ',');) {
    const size_t equals = entry.find('=');
    if (equals != std::string::npos && entry.substr(0, equals) == name) {
      return entry.substr(equals + 1);
    }
  }
  return "";
}

std::string MissingEngineMessage(const std::string& name) {
  const std::string path = EngineBinaryPath(name);
  if (path.empty()) return "scripts/engines.txt lists no engine named " + name;
  if (access(path.c_str(), X_OK) == 0) return "";
  return "engine " + name + " is not installed at " + path + ": run scripts/install-engines.sh " +
         name + " (or scripts/install-engines.sh for all)";
}

bool SetTomlValue(std::string* toml, const std::string& section, const std::string& key,
                  const std::string& value) {
  std::istringstream lines(*toml);
  std::string edited;
  std::string current_section;
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("[")) {
      current_section = line.substr(1, line.find(']') - 1);
    } else if (!found && current_section == section && line.starts_with(key + " =")) {
      line = key + " = " + value;
      found = true;
    }
    edited += line + "\n";
  }
  if (found) *toml = std::move(edited);
  return found;
}

EngineProcess::EngineProcess(std::string binary, std::string home, std::string log_path,
                             EngineOptions options)
    : binary_(std::move(binary)),
      home_(std::move(home)),
      log_path_(std::move(log_path)),
      options_(std::move(options)),
      rpc_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())),
      p2p_port_(static_cast<uint16_t>(ledgerd_e2e::FreeLoopbackPort())) {}

EngineProcess::~EngineProcess() { Kill(); }

bool EngineProcess::Init(std::string* error) {
  std::string output;
  if (RunCommand({binary_, "version"}, &output) != 0) {
    *error = binary_ + " version failed: " + output;
    return false;
  }
  version_ = output.substr(0, output.find('\n'));
  if (version_.starts_with("v")) version_.erase(0, 1);

  output.clear();
  const int status = RunCommand({binary_, "init", "--home", home_}, &output);
  std::ofstream(log_path_, std::ios::app) << output;
  if (status != 0) {
    *error = binary_ + " init --home " + home_ + " exited with " + std::to_string(status) + ": " +
             output;
    return false;
  }

  const std::filesystem::path config_path = std::filesystem::path(home_) / "config/config.toml";
  std::string config = ReadFile(config_path);
  // Tendermint v0.34 takes tcp://host:port, as its examples and its default
  // config write it; CometBFT's gRPC client rejects that form since v0.38.13
  // and retries Echo forever, so it gets host:port.
  const std::string proxy_app =
      version_.starts_with("0.34.") ? "tcp://" + options_.abci_address : options_.abci_address;
  const struct {
    std::string section;
    std::string key;
    std::string value;
  } settings[] = {
      {"", "proxy_app", Quoted(proxy_app)},
      {"", "abci", Quoted("grpc")},
      {"rpc", "laddr", Quoted("tcp://127.0.0.1:" + std::to_string(rpc_port_))},
      {"p2p", "laddr", Quoted("tcp://127.0.0.1:" + std::to_string(p2p_port_))},
      {"consensus", "timeout_commit", Quoted(GoDuration(options_.timeout_commit))},
      {"consensus", "create_empty_blocks", options_.create_empty_blocks ? "true" : "false"},
  };
  for (const auto& setting : settings) {
    if (!SetTomlValue(&config, setting.section, setting.key, setting.value)) {
      *error = config_path.string() + " has no " + setting.key + " in [" + setting.section +
               "]; the engine's config template changed";
      return false;
    }
  }
  std::ofstream(config_path, std::ios::trunc) << config;
  return true;
}

void EngineProcess::Start() {
  const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = Spawn({binary_, "node", "--home", home_}, log);
  close(log);
  exit_status_ = -1;
}

bool EngineProcess::WaitForRpc(std::chrono::milliseconds bound, std::string* error) {
  const auto deadline = Deadline(bound);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HasExited()) {
      *error =
          "the engine exited with " + std::to_string(exit_status_) + " (log: " + log_path_ + ")";
      return false;
    }
    if (hardening::HttpRequest(rpc_port_, boost::beast::http::verb::get, "/status", "", 2s)
            .status == 200) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  *error = "the engine's RPC on port " + std::to_string(rpc_port_) + " did not answer within " +
           std::to_string(bound.count()) + " ms (log: " + log_path_ + ")";
  return false;
}

int EngineProcess::Terminate(std::chrono::milliseconds bound) {
  if (!running()) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = Deadline(bound);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HasExited()) return exit_status_;
    std::this_thread::sleep_for(10ms);
  }
  Kill();
  return exit_status_;
}

void EngineProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  Reaped(wait_status);
}

bool EngineProcess::HasExited() {
  if (!running()) return exit_status_ != -1;
  int wait_status = 0;
  if (waitpid(pid_, &wait_status, WNOHANG) != pid_) return false;
  Reaped(wait_status);
  return true;
}

void EngineProcess::Reaped(int wait_status) {
  pid_ = -1;
  exit_status_ = StatusOf(wait_status);
}

}  // namespace engines_e2e
