// Drives a server connection without a listening socket: one end of a Unix
// socket pair becomes the server's tcp::socket, the fuzzer writes the input
// into the other end, half-closes it and collects every byte the server
// answers. Used by the HTTP API and event stream targets.
//
// Thread safety: one conversation at a time per io_context, on the calling
// thread (the io_context runs only inside Converse).
#ifndef TESTS_FUZZ_SOCKET_CONVERSATION_H_
#define TESTS_FUZZ_SOCKET_CONVERSATION_H_

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace fuzz {

// A connected pair: `server` for the code under test, `client` (non-blocking)
// for the fuzzer.
struct SocketPair {
  boost::asio::ip::tcp::socket server;
  int client = -1;
};

// Makes a pair on `io_context`. Aborts if the system refuses (that is no
// finding of the code under test, but nothing can be fuzzed without it).
inline SocketPair MakeSocketPair(boost::asio::io_context& io_context) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("socketpair");
    std::abort();
  }
  fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  // The server's code sees a tcp::socket; a Unix stream socket behaves the
  // same for reads, writes, shutdown and close.
  SocketPair pair{boost::asio::ip::tcp::socket(io_context), fds[1]};
  pair.server.assign(boost::asio::ip::tcp::v4(), fds[0]);
  return pair;
}

// Writes `input` to `client`, then half-closes it, and runs `io_context`
// until it has no work left (the server side has finished with the
// connection), reading whatever the server writes meanwhile. With `pause_at`
// inside the input, the bytes from there on are held back until the server
// has answered or is waiting for more (as a WebSocket client waits for the
// upgrade response before sending frames). Closes `client`. Returns the
// server's bytes, or nullopt if the server still had work `limit` after the
// input ended: a connection that outlives its client's end of stream.
inline std::optional<std::string> Converse(boost::asio::io_context& io_context, int client,
                                           std::string_view input,
                                           std::chrono::milliseconds limit,
                                           size_t pause_at = std::string_view::npos) {
  std::string answer;
  size_t written = 0;
  size_t writable = std::min(pause_at, input.size());
  bool half_closed = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  auto drain = [&] {
    char chunk[16384];
    for (;;) {
      const ssize_t n = read(client, chunk, sizeof(chunk));
      if (n <= 0) return;
      answer.append(chunk, static_cast<size_t>(n));
    }
  };
  io_context.restart();
  for (;;) {
    if (written == writable && writable < input.size()) {
      // Held back: let the server run until it answers or stops making
      // progress without more input.
      int idle_polls = 0;
      while (answer.empty() && !io_context.stopped() && idle_polls < 2) {
        idle_polls = io_context.poll() == 0 ? idle_polls + 1 : 0;
        drain();
      }
      writable = input.size();
    }
    while (written < writable) {
      const ssize_t n = send(client, input.data() + written, writable - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        break;
      } else {
        written = writable = input.size();  // the server closed its end: the rest is moot
      }
    }
    if (written == input.size() && !half_closed) {
      shutdown(client, SHUT_WR);
      half_closed = true;
      deadline = std::chrono::steady_clock::now() + limit;
    }
    drain();
    if (io_context.stopped()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      close(client);
      return std::nullopt;
    }
    io_context.run_one_for(std::chrono::milliseconds(1));
  }
  drain();
  close(client);
  return answer;
}

}  // namespace fuzz

#endif  // TESTS_FUZZ_SOCKET_CONVERSATION_H_
