// Helpers for the hardening tests: the real ledgerd --dev binary in a
// temporary directory, HTTP and WebSocket clients whose every wait is
// bounded, raw sockets for misbehaving clients, signed test transactions,
// and the process's resident memory.
#ifndef TESTS_E2E_HARDENING_HARDENING_TEST_UTIL_H_
#define TESTS_E2E_HARDENING_HARDENING_TEST_UTIL_H_

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/ledgerd_process.h"

namespace hardening {

using namespace std::chrono_literals;

// Bounds that only catch hangs: a wait that runs out means the test failed,
// not that the machine was slow.
inline constexpr std::chrono::seconds kRequestBound(10);
inline constexpr std::chrono::seconds kWaitBound(60);

// Polls `condition` every 10 ms until it holds or `bound` passes; true if it
// held.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds bound = kWaitBound);

// A fresh directory under the system's temporary directory, removed when
// the object goes away. Not thread-safe.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Raises this process's soft RLIMIT_NOFILE to at least `wanted` (up to the
// hard limit); children started afterwards inherit it. Returns the soft
// limit now in force.
uint64_t RaiseOpenFileLimit(uint64_t wanted);

// ledgerd --dev on loopback ports chosen at construction, with its data and
// log in a temporary directory that survives restarts.
//
// Thread safety: Start, Kill, Restart and Terminate from one thread; the
// ports and pid may be read from any thread while it runs.
class DevNode {
 public:
  // `extra_flags` follow --dev, --data-dir, --http-addr and --ws-addr.
  explicit DevNode(std::vector<std::string> extra_flags = {});
  ~DevNode();
  DevNode(const DevNode&) = delete;
  DevNode& operator=(const DevNode&) = delete;

  // Starts the binary and waits until GET /health answers 200. Returns false
  // (with the reason in *error) if it exits or does not answer within
  // kWaitBound.
  bool Start(std::string* error);
  // SIGKILL, as a crash or a power cut would end it; reaps it.
  void Kill();
  // SIGTERM; returns the exit status.
  int Terminate();

  uint16_t http_port() const { return http_port_; }
  uint16_t ws_port() const { return ws_port_; }
  pid_t pid() const;
  const std::filesystem::path& log_path() const { return log_path_; }
  // The --data-dir the node runs on.
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  // Resident memory of the running process (VmRSS), in KiB; 0 if unknown.
  uint64_t RssKib() const;
  // True while the process exists and has not exited.
  bool Alive() const;

 private:
  TempDir dir_;
  const uint16_t http_port_;
  const uint16_t ws_port_;
  const std::filesystem::path log_path_;
  std::unique_ptr<ledgerd_e2e::LedgerdProcess> process_;
};

// Resident memory of process `pid` in KiB, from /proc/<pid>/status; 0 if
// unknown.
uint64_t RssKibOf(pid_t pid);

// An HTTP response; status 0 when the transport failed (refused, reset,
// timed out), with the reason in `error`.
struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::string error;
};

// One request on a fresh connection to 127.0.0.1:`port`, all of it bounded
// by `bound`.
HttpResult HttpRequest(uint16_t port, boost::beast::http::verb method, const std::string& target,
                       const std::string& body = "",
                       std::chrono::milliseconds bound = kRequestBound);

// A kept-alive connection for many requests in a row (reconnects when the
// server closed it). Not thread-safe.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // A GET of `target`, bounded by kRequestBound.
  HttpResult Get(const std::string& target);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A signed CREATE that no other call returns: its asset data holds `tag` and
// a process-wide counter.
struct SignedTransaction {
  std::string id;
  std::string raw;  // canonical JSON, as POSTed
};
SignedTransaction NewCreate(const std::string& tag);

// A WebSocket client of the event stream. Every wait is bounded. Not
// thread-safe: use from one thread.
class StreamClient {
 public:
  StreamClient();
  ~StreamClient();
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  // Connects to 127.0.0.1:`port` and upgrades at `target` (default: the
  // stream, live only). True on 101; otherwise false with the HTTP status
  // (0 if none) in *status.
  bool Connect(uint16_t port, const std::string& target = "/api/v1/streams/valid_transactions",
               unsigned* status = nullptr, std::chrono::milliseconds bound = kRequestBound);

  // The next text message, or nullopt when the connection ended or nothing
  // arrived within `bound` (timed_out() tells which).
  std::optional<std::string> Read(std::chrono::milliseconds bound = kRequestBound);
  bool timed_out() const { return timed_out_; }

  // Reads until a message naming `transaction_id` arrives; false if the
  // connection ends or `bound` passes first.
  bool WaitForTransaction(const std::string& transaction_id,
                          std::chrono::milliseconds bound = kRequestBound);

  // The close code the server sent (0 if none).
  int close_code() const;

  // Sends raw bytes on the socket under the WebSocket (for malformed frames).
  bool SendRaw(const std::string& bytes);

 private:
  boost::asio::io_context io_context_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  boost::beast::error_code read_error_;
  bool timed_out_ = false;
};

// A plain blocking TCP connection to 127.0.0.1:`port` with receive buffer
// `receive_buffer` bytes (0: the system's) and no timeouts; -1 on failure.
int ConnectRaw(uint16_t port, int receive_buffer = 0);

// Writes all of `bytes` to `fd`; false if the peer closed or `bound` passed.
bool SendAll(int fd, const std::string& bytes, std::chrono::milliseconds bound = kRequestBound);

// Reads from `fd` until the peer closes the connection, collecting the
// bytes; nullopt if it was still open when `bound` passed.
std::optional<std::string> ReadUntilClosed(int fd, std::chrono::milliseconds bound = kRequestBound);

// Reads from `fd` until `bytes` ends with `terminator` (e.g. "\r\n\r\n") or
// the peer closes; nullopt if neither happened within `bound`.
std::optional<std::string> ReadUntil(int fd, const std::string& terminator,
                                     std::chrono::milliseconds bound = kRequestBound);

// A WebSocket upgrade request for the stream.
std::string UpgradeRequest(const std::string& target = "/api/v1/streams/valid_transactions");

// What a well-behaved client must still get, each step within
// kRequestBound: a subscriber's upgrade, GET /api/v1/ answered 200, a fresh
// CREATE POSTed with mode=commit answered 202, and the subscriber receiving
// its message. Adds a failure for each step that does not happen.
void ExpectWellBehavedClientServed(const DevNode& node);

}  // namespace hardening

#endif  // TESTS_E2E_HARDENING_HARDENING_TEST_UTIL_H_
