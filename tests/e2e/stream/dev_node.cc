#include "tests/e2e/stream/dev_node.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace ledgerd_e2e {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// Generous: a wait that runs out means the test failed, not that it was slow.
constexpr std::chrono::seconds kTimeout(60);

// What Request returns when no response arrived: status 0, which no server
// sends (a default-constructed response would say 200).
HttpClient::Response NoResponse() {
  HttpClient::Response none;
  none.result(0u);
  return none;
}

}  // namespace

HttpClient::HttpClient(uint16_t port) : port_(port) {}

bool HttpClient::Connect() {
  stream_.emplace(io_context_);
  buffer_.clear();
  beast::error_code result = net::error::timed_out;
  stream_->expires_after(kTimeout);
  stream_->async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
                         [&](beast::error_code ec) { result = ec; });
  Run();
  if (result) stream_.reset();
  return !result;
}

void HttpClient::Run() {
  io_context_.restart();
  io_context_.run_for(kTimeout + std::chrono::seconds(1));
}

HttpClient::Response HttpClient::Request(http::verb verb, const std::string& target,
                                         const std::string& body) {
  http::request<http::string_body> request(verb, target, 11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  request.keep_alive(true);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  // A kept-alive connection may have been closed by the server in the
  // meantime; a fresh one is tried once.
  const bool reused = stream_.has_value();
  for (int attempt = 0; attempt < (reused ? 2 : 1); ++attempt) {
    if (!stream_ && !Connect()) return NoResponse();
    Response response;
    beast::error_code result = net::error::timed_out;
    stream_->expires_after(kTimeout);
    http::async_write(*stream_, request, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        result = ec;
        return;
      }
      http::async_read(*stream_, buffer_, response,
                       [&](beast::error_code read_ec, std::size_t) { result = read_ec; });
    });
    Run();
    if (!result) {
      if (!response.keep_alive()) stream_.reset();
      return response;
    }
    stream_.reset();
    // Only a kept-alive connection the server had closed is worth a second
    // try; an answer that did not come on a fresh one will not come.
    const bool closed_by_server = result == http::error::end_of_stream ||
                                  result == net::error::connection_reset ||
                                  result == net::error::broken_pipe;
    if (!closed_by_server) break;
  }
  return NoResponse();
}

DevNode::DevNode(std::string data_dir, std::string log_path, std::vector<std::string> flags)
    : data_dir_(std::move(data_dir)),
      log_path_(std::move(log_path)),
      flags_(std::move(flags)),
      http_port_(static_cast<uint16_t>(FreeLoopbackPort())),
      ws_port_(static_cast<uint16_t>(FreeLoopbackPort())) {}

DevNode::~DevNode() = default;

bool DevNode::Start() {
  std::vector<std::string> args = {"--dev",
                                   "--data-dir",
                                   data_dir_,
                                   "--http-addr",
                                   "127.0.0.1:" + std::to_string(http_port_),
                                   "--ws-addr",
                                   "127.0.0.1:" + std::to_string(ws_port_),
                                   "--log-level",
                                   "info"};
  // Blocks in quick succession keep the tests short; a test may ask for
  // another interval.
  if (std::find(flags_.begin(), flags_.end(), "--block-interval") == flags_.end()) {
    args.insert(args.end(), {"--block-interval", "10ms"});
  }
  args.insert(args.end(), flags_.begin(), flags_.end());
  process_ = std::make_unique<LedgerdProcess>(LEDGERD_BINARY, std::move(args), log_path_);
  process_->Start();

  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Get("/health").result() == http::status::ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int DevNode::Terminate() {
  if (!process_) return -1;
  const int status = process_->Terminate();
  process_.reset();
  return status;
}

void DevNode::Kill() {
  if (!process_) return;
  process_->Kill();
  process_.reset();
}

HttpClient::Response DevNode::Submit(const std::string& json, const std::string& mode) const {
  return HttpClient(http_port_)
      .Request(http::verb::post, "/api/v1/transactions?mode=" + mode, json);
}

int64_t DevNode::HeightOfTransaction(const std::string& id) const {
  const std::string body = Get("/api/v1/blocks?transaction_id=" + id).body();
  // The body is "[<height>]" or "[]".
  if (body.size() < 3 || body.front() != '[' || body.back() != ']') return 0;
  return std::stoll(body.substr(1, body.size() - 2));
}

std::optional<double> DevNode::Metric(const std::string& name) const {
  std::istringstream text(Get("/metrics").body());
  for (std::string line; std::getline(text, line);) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ' ') {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

HttpClient::Response DevNode::Get(const std::string& target) const {
  return HttpClient(http_port_).Request(http::verb::get, target);
}

std::string DevNode::LogText() const {
  std::ifstream log(log_path_);
  std::stringstream text;
  text << log.rdbuf();
  return text.str();
}

}  // namespace ledgerd_e2e
