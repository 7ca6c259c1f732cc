#include "api/open_connections.h"

#include <vector>

#include "api/http_session.h"

namespace api {

OpenConnections::Admission OpenConnections::Add(const std::shared_ptr<HttpSession>& session) {
  std::lock_guard lock(mutex_);
  if (closed_) return Admission::kClosed;
  sessions_.emplace(session.get(), session);
  if (admitted_ >= max_admitted_) return Admission::kOverLimit;
  ++admitted_;
  return Admission::kAdmitted;
}

void OpenConnections::Remove(const HttpSession* session, bool admitted) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
  if (admitted) --admitted_;
}

void OpenConnections::CloseAll() {
  std::vector<std::shared_ptr<HttpSession>> open;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& [key, weak] : sessions_) {
      if (std::shared_ptr<HttpSession> session = weak.lock()) open.push_back(std::move(session));
    }
  }
  // Outside the lock: a session that ends here calls Remove.
  for (const auto& session : open) session->Close();
}

size_t OpenConnections::admitted() const {
  std::lock_guard lock(mutex_);
  return admitted_;
}

}  // namespace api
