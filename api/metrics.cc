#include "api/metrics.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace api {
namespace {

// Names this class renders itself; AddSampled must not shadow them.
constexpr std::string_view kBuiltInNames[] = {
    "ledgerd_http_requests_total", "ledgerd_check_tx_total", "ledgerd_blocks_committed_total",
    "ledgerd_transactions_committed_total", "ledgerd_http_commit_wait_seconds"};

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// HELP text escaping of the exposition format: backslash and line feed.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : "NaN";
}

void AppendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += EscapeHelp(help);
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void AppendSample(std::string* out, std::string_view name, std::string_view labels,
                  std::string_view value) {
  *out += name;
  *out += labels;
  *out += ' ';
  *out += value;
  *out += '\n';
}

}  // namespace

bool Metrics::AddSampled(std::string name, std::string help, MetricType type,
                         std::function<double()> read) {
  if (!IsMetricName(name) || !read) return false;
  for (std::string_view built_in : kBuiltInNames) {
    if (name == built_in) return false;
  }
  // Read outside the lock, so a slow or re-entrant `read` blocks nobody.
  std::vector<Sampled> snapshot;
  {
    std::lock_guard lock(sampled_mutex_);
    snapshot = sampled_;
  }
  for (const Sampled& sampled : snapshot) {
    if (sampled.name == name) return false;
  }
  sampled_.push_back(Sampled{std::move(name), std::move(help), type, std::move(read)});
  return true;
}

void Metrics::CountResponse(unsigned status) {
  if (status < 100 || status >= kMaxStatus) return;
  responses_by_status_[status].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountCheckTx(const ledger::Status& status) {
  const size_t code = static_cast<size_t>(status.code());
  if (code < kErrorCodes) check_tx_by_code_[code].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::ObserveCommitWait(std::chrono::steady_clock::duration wait) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
  const double seconds = static_cast<double>(micros) / 1e6;
  for (size_t i = 0; i < kCommitWaitBuckets.size(); ++i) {
    if (seconds <= kCommitWaitBuckets[i]) {
      commit_wait_buckets_[i].fetch_add(1, std::memory_order_relaxed);
    }
  }
  commit_wait_micros_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
  commit_wait_count_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::OnBlockCommitted(const ledger::CommittedBlock& block) {
  blocks_committed_.fetch_add(1, std::memory_order_relaxed);
  transactions_committed_.fetch_add(block.transactions.size(), std::memory_order_relaxed);
}

std::string Metrics::RenderPrometheus() const {
  std::string out;

  AppendHeader(&out, "ledgerd_blocks_committed_total", "Blocks committed since the node started.",
               "counter");
  AppendSample(&out, "ledgerd_blocks_committed_total", "",
               std::to_string(blocks_committed_.load(std::memory_order_relaxed)));
  AppendHeader(&out, "ledgerd_transactions_committed_total",
               "Valid transactions committed since the node started.", "counter");
  AppendSample(&out, "ledgerd_transactions_committed_total", "",
               std::to_string(transactions_committed()));

  AppendHeader(&out, "ledgerd_check_tx_total",
               "Transactions POSTed to the HTTP API, by the verdict of the local CheckTx.",
               "counter");
  for (size_t code = 0; code < kErrorCodes; ++code) {
    const auto error = static_cast<ledger::ErrorCode>(code);
    std::string labels =
        error == ledger::ErrorCode::kOk
            ? std::string("{result=\"accepted\"}")
            : "{result=\"rejected\",error=\"" + std::string(ledger::ErrorName(error)) + "\"}";
    AppendSample(&out, "ledgerd_check_tx_total", labels,
                 std::to_string(check_tx_by_code_[code].load(std::memory_order_relaxed)));
  }

  AppendHeader(&out, "ledgerd_http_requests_total", "HTTP responses sent, by status code.",
               "counter");
  for (unsigned status = 100; status < kMaxStatus; ++status) {
    const uint64_t count = responses_with_status(status);
    if (count == 0) continue;
    AppendSample(&out, "ledgerd_http_requests_total", "{code=\"" + std::to_string(status) + "\"}",
                 std::to_string(count));
  }

  AppendHeader(&out, "ledgerd_http_commit_wait_seconds",
               "Time a POST with mode=commit waited for its block to be durable.", "histogram");
  for (size_t i = 0; i < kCommitWaitBuckets.size(); ++i) {
    AppendSample(&out, "ledgerd_http_commit_wait_seconds_bucket",
                 "{le=\"" + FormatValue(kCommitWaitBuckets[i]) + "\"}",
                 std::to_string(commit_wait_buckets_[i].load(std::memory_order_relaxed)));
  }
  const std::string count = std::to_string(commit_wait_count_.load(std::memory_order_relaxed));
  AppendSample(&out, "ledgerd_http_commit_wait_seconds_bucket", "{le=\"+Inf\"}", count);
  AppendSample(&out, "ledgerd_http_commit_wait_seconds_sum", "",
               FormatValue(static_cast<double>(commit_wait_micros_.load()) / 1e6));
  AppendSample(&out, "ledgerd_http_commit_wait_seconds_count", "", count);

  // Read outside the lock, so a slow or re-entrant `read` blocks nobody.
  std::vector<Sampled> snapshot;
  {
    std::lock_guard lock(sampled_mutex_);
    snapshot = sampled_;
  }
  for (const Sampled& sampled : snapshot) {
    AppendHeader(&out, sampled.name, sampled.help,
                 sampled.type == MetricType::kGauge ? "gauge" : "counter");
    AppendSample(&out, sampled.name, "", FormatValue(sampled.read()));
  }
  return out;
}

uint64_t Metrics::responses_with_status(unsigned status) const {
  if (status < 100 || status >= kMaxStatus) return 0;
  return responses_by_status_[status].load(std::memory_order_relaxed);
}

uint64_t Metrics::responses_total() const {
  uint64_t total = 0;
  for (unsigned status = 100; status < kMaxStatus; ++status) {
    total += responses_by_status_[status].load(std::memory_order_relaxed);
  }
  return total;
}

uint64_t Metrics::transactions_committed() const {
  return transactions_committed_.load(std::memory_order_relaxed);
}

}  // namespace api
