#include "api/request_target.h"

namespace api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text`; with `plus_is_space`, '+' becomes ' '. Returns
// nullopt on a '%' not followed by two hex digits.
std::optional<std::string> Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<RequestTarget> RequestTarget::Parse(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  RequestTarget parsed;
  const size_t question = target.find('?');
  std::optional<std::string> path = Decode(target.substr(0, question), /*plus_is_space=*/false);
  if (!path) return std::nullopt;
  parsed.path_ = std::move(*path);
  while (parsed.path_.size() > 1 && parsed.path_.back() == '/') parsed.path_.pop_back();

  if (question == std::string_view::npos) return parsed;
  std::string_view query = target.substr(question + 1);
  // A fragment is not sent by conforming clients; ignore one if present.
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    std::optional<std::string> name = Decode(pair.substr(0, equals), /*plus_is_space=*/true);
    std::optional<std::string> value =
        Decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1),
               /*plus_is_space=*/true);
    if (!name || !value) return std::nullopt;
    parsed.params_.emplace_back(std::move(*name), std::move(*value));
  }
  return parsed;
}

std::optional<std::string_view> RequestTarget::Param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace api
