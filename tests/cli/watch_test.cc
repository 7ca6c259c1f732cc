// `ledgerctl watch` against event streams served in process over a real
// ledger (Application and BlockStore on LevelDB): failing over between URLs,
// giving up, and refusing bad options.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "stream/event_stream.h"
#include "tests/stream/stream_test_util.h"

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using stream::EventStream;
using stream::EventStreamOptions;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ledgerctl with `args` (a shell fragment) as a child whose stdout is read
// line by line; its stderr goes to a file.
class Ledgerctl {
 public:
  Ledgerctl(const std::string& args, const std::string& stderr_path)
      : pipe_(
            popen((std::string(LEDGERCTL_PATH) + " " + args + " 2>" + stderr_path).c_str(), "r")) {}
  ~Ledgerctl() {
    if (pipe_ != nullptr) pclose(pipe_);
  }
  Ledgerctl(const Ledgerctl&) = delete;
  Ledgerctl& operator=(const Ledgerctl&) = delete;

  // The next line of stdout without its newline; nullopt at the end.
  std::optional<std::string> ReadLine() {
    char buffer[4096];
    if (pipe_ == nullptr || fgets(buffer, sizeof buffer, pipe_) == nullptr) return std::nullopt;
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  // Waits for the end; returns the exit code.
  int Wait() {
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    return WEXITSTATUS(status);
  }

 private:
  FILE* pipe_;
};

// A node that has stopped answering, as behind a partition: it accepts
// connections on 127.0.0.1 and, with `upgrade`, completes the WebSocket
// upgrade, then never sends or reads anything until destroyed.
class SilentNode {
 public:
  explicit SilentNode(bool upgrade) : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, upgrade] {
      // Accepts until destroyed; the destructor's own connection ends it.
      while (true) {
        beast::error_code ec;
        net::ip::tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec || stopping_) return;
        auto ws = std::make_unique<websocket::stream<net::ip::tcp::socket>>(std::move(socket));
        if (upgrade) ws->accept(ec);
        std::lock_guard lock(mutex_);
        held_.push_back(std::move(ws));  // kept open, never read
      }
    });
  }
  ~SilentNode() {
    stopping_ = true;
    net::ip::tcp::socket wake(io_);
    beast::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  SilentNode(const SilentNode&) = delete;
  SilentNode& operator=(const SilentNode&) = delete;

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  net::io_context io_;
  net::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::unique_ptr<websocket::stream<net::ip::tcp::socket>>> held_;
  std::thread thread_;
};

class WatchTest : public stream::testing::StreamFixture {
 protected:
  std::string Url(uint16_t port) const {
    return "ws://127.0.0.1:" + std::to_string(port) + std::string(stream::kStreamPath);
  }
  std::string StderrPath() const { return dir_.path() + "/watch.err"; }
};

// Two streams of one ledger: when the first goes away, watch resumes on the
// second after the last transaction it printed.
TEST_F(WatchTest, FailsOverToTheNextUrlWithoutDuplicateOrGap) {
  StartStream();
  EventStream second(*store_, [] {
    EventStreamOptions options;
    options.port = 0;
    return options;
  }());
  app_->AddObserver(&second);
  std::string error;
  ASSERT_TRUE(second.Start(&error)) << error;

  CommitBlock(Creates(3));
  Ledgerctl watch(
      "watch --url " + Url(port()) + " --url " + Url(second.port()) + " --from-height 1 --count 9",
      StderrPath());
  std::vector<std::string> printed;
  for (int i = 0; i < 3; ++i) printed.push_back(watch.ReadLine().value_or(""));
  EXPECT_EQ(printed, all_messages_);

  stream_->Stop();  // 1001 on the first URL
  CommitBlock(Creates(3));
  CommitBlock(Creates(3));
  for (int i = 0; i < 6; ++i) printed.push_back(watch.ReadLine().value_or(""));
  EXPECT_FALSE(watch.ReadLine());
  EXPECT_EQ(watch.Wait(), 0);
  EXPECT_EQ(printed, all_messages_);
  const std::string log = ReadFile(StderrPath());
  const std::string third_id = all_messages_[2].substr(19, 64);
  EXPECT_NE(log.find(Url(port()) + ": the stream closed with code 1001"), std::string::npos) << log;
  EXPECT_NE(
      log.find("resuming on " + Url(second.port()) + " with after_transaction_id=" + third_id),
      std::string::npos)
      << log;
  app_.reset();  // before `second`, which it calls
}

// A node that accepts and then stays silent, before or after the upgrade,
// counts as failed after --idle-timeout: watch moves on to the next URL.
TEST_F(WatchTest, SilentNodeIsLeftAfterTheIdleTimeout) {
  StartStream();
  CommitBlock(Creates(2));
  for (const bool upgrade : {false, true}) {
    SCOPED_TRACE(upgrade ? "silent after the upgrade" : "silent before the upgrade");
    SilentNode silent(upgrade);
    Ledgerctl watch("watch --url " + Url(silent.port()) + "," + Url(port()) +
                        " --from-height 1 --count 2 --idle-timeout 1",
                    StderrPath());
    std::vector<std::string> printed;
    for (int i = 0; i < 2; ++i) printed.push_back(watch.ReadLine().value_or(""));
    EXPECT_EQ(watch.Wait(), 0);
    EXPECT_EQ(printed, all_messages_);
    const std::string log = ReadFile(StderrPath());
    EXPECT_NE(log.find(Url(silent.port()) + ": " +
                       (upgrade ? "the stream was silent for 1000 ms"
                                : "the stream did not answer the upgrade within 1000 ms")),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("resuming on " + Url(port()) + " with from_height=1"), std::string::npos)
        << log;
  }
}

TEST_F(WatchTest, GivesUpAfterMaxRetries) {
  StartStream();
  const std::string url = Url(port());
  stream_->Stop();  // nothing listens on the port any more
  Ledgerctl watch("watch --url " + url + " --max-retries 2", StderrPath());
  EXPECT_FALSE(watch.ReadLine());
  EXPECT_EQ(watch.Wait(), 1);
  const std::string log = ReadFile(StderrPath());
  size_t retries = 0;
  for (size_t at = log.find("resuming on"); at != std::string::npos;
       at = log.find("resuming on", at + 1)) {
    ++retries;
  }
  EXPECT_EQ(retries, 2u) << log;
  EXPECT_NE(log.find("cannot connect"), std::string::npos) << log;
}

TEST_F(WatchTest, RefusedFilterEndsAtOnce) {
  StartStream();
  Ledgerctl watch("watch --url " + Url(port()) + " --operation BURN", StderrPath());
  EXPECT_EQ(watch.Wait(), 1);
  const std::string log = ReadFile(StderrPath());
  EXPECT_NE(log.find("HTTP 400"), std::string::npos) << log;
  EXPECT_NE(log.find("operation must be CREATE or TRANSFER"), std::string::npos) << log;
  EXPECT_EQ(log.find("resuming on"), std::string::npos) << log;
}

TEST_F(WatchTest, AfterTransactionIdStartsAfterIt) {
  StartStream();
  CommitBlock(Creates(2));
  CommitBlock(Creates(2));
  const std::string first_id = all_messages_[0].substr(19, 64);
  Ledgerctl watch(
      "watch --url " + Url(port()) + " --after-transaction-id " + first_id + " --count 3",
      StderrPath());
  std::vector<std::string> printed;
  for (int i = 0; i < 3; ++i) printed.push_back(watch.ReadLine().value_or(""));
  EXPECT_EQ(watch.Wait(), 0);
  EXPECT_EQ(printed, std::vector<std::string>(all_messages_.begin() + 1, all_messages_.end()));
}

TEST_F(WatchTest, BadOptionsAreUsageErrors) {
  for (const std::string& args :
       {std::string("watch --from-height 1 --after-transaction-id ") + std::string(64, 'a'),
        std::string("watch --max-retries many"), std::string("watch --count 0"),
        std::string("watch --url http://127.0.0.1:1/"), std::string("watch --url")}) {
    Ledgerctl watch(args, StderrPath());
    EXPECT_EQ(watch.Wait(), 2) << args;
  }
}

}  // namespace
