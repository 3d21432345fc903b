#include "mcp_server/transport/session_table.h"

#include <algorithm>
#include <utility>

namespace fapo::mcp {

SessionTable::SessionTable(SessionLimits limits, ClockFunction clock)
    : limits_(limits), clock_(clock ? std::move(clock) : ClockFunction([] { return Clock::now(); })) {}

bool SessionTable::open(const std::string& id, Ended& ended) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  expire_locked(now, ended);
  if (sessions_.size() >= std::max<std::size_t>(limits_.max_sessions, 1)) {
    // Make room by ending the session idle the longest; one with a request running is in use.
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.running == 0 &&
          (oldest == sessions_.end() || it->second.last_used < oldest->second.last_used)) {
        oldest = it;
      }
    }
    if (oldest == sessions_.end()) return false;
    ended.push_back(oldest->first);
    sessions_.erase(oldest);
  }
  sessions_[id] = Session{now, 0};
  return true;
}

bool SessionTable::begin(const std::string& id, Ended& ended) {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(id);
  if (found == sessions_.end()) return false;
  const auto now = clock_();
  if (is_expired_locked(found->second, now)) {
    ended.push_back(found->first);
    sessions_.erase(found);
    return false;
  }
  found->second.last_used = now;
  ++found->second.running;
  return true;
}

void SessionTable::end(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(id);
  if (found == sessions_.end()) return;  // ended (DELETE) while the request ran
  if (found->second.running > 0) --found->second.running;
  // Idle time counts from the end of the last request, not its start: a 50 s wait is use.
  found->second.last_used = clock_();
}

bool SessionTable::erase(const std::string& id) {
  std::lock_guard lock(mutex_);
  return sessions_.erase(id) > 0;
}

SessionTable::Ended SessionTable::expire() {
  std::lock_guard lock(mutex_);
  Ended ended;
  expire_locked(clock_(), ended);
  return ended;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

bool SessionTable::is_expired_locked(const Session& session, Clock::time_point now) const {
  return session.running == 0 && now - session.last_used >= limits_.idle_timeout;
}

void SessionTable::expire_locked(Clock::time_point now, Ended& ended) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (is_expired_locked(it->second, now)) {
      ended.push_back(it->first);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace fapo::mcp
