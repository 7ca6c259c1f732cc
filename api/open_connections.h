// The HTTP sessions alive right now: enforces the connection limit and lets
// Stop close them all.
#ifndef API_OPEN_CONNECTIONS_H_
#define API_OPEN_CONNECTIONS_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "api/thread_annotations.h"

namespace api {

class HttpSession;

// Thread safety: every method may be called from any thread.
class OpenConnections {
 public:
  // At most `max_admitted` sessions are admitted at once.
  explicit OpenConnections(size_t max_admitted) : max_admitted_(max_admitted) {}

  enum class Admission {
    kAdmitted,   // within the limit: serve it
    kOverLimit,  // too many: answer 503 and close
    kClosed,     // CloseAll was called: close the socket at once
  };

  // Registers `session` (unless closed) and says how to treat it. A
  // registered session must call Remove when it ends.
  Admission Add(const std::shared_ptr<HttpSession>& session);

  // Forgets `session`; `admitted` is what Add said of it.
  void Remove(const HttpSession* session, bool admitted);

  // Closes every registered session and refuses later ones. Idempotent.
  void CloseAll();

  // Sessions admitted and not yet removed.
  size_t admitted() const;

 private:
  const size_t max_admitted_;
  mutable std::mutex mutex_;
  bool closed_ LEDGERD_GUARDED_BY(mutex_) = false;
  size_t admitted_ LEDGERD_GUARDED_BY(mutex_) = 0;
  std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions_ LEDGERD_GUARDED_BY(mutex_);
};

}  // namespace api

#endif  // API_OPEN_CONNECTIONS_H_
