// The live Streamable HTTP sessions and their limits. A session that has had no request for
// `idle_timeout` (and has none running) expires, and at most `max_sessions` live at once: a
// new session beyond that evicts the session idle the longest, or is refused when every session
// has a request running. Clients that never end their sessions (many do not send DELETE) thus
// cannot grow the server's state without bound, and an expired session's client gets 404 and,
// as MCP asks, initializes a new one.
//
// Thread-safe: every member locks one mutex. Time comes from the clock given at construction,
// so tests can move it by hand.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fapo::mcp {

struct SessionLimits {
  std::size_t max_sessions = 64;
  std::chrono::seconds idle_timeout = std::chrono::hours(1);
};

class SessionTable {
 public:
  using Clock = std::chrono::steady_clock;
  using ClockFunction = std::function<Clock::time_point()>;

  // `clock` empty: steady_clock::now.
  explicit SessionTable(SessionLimits limits, ClockFunction clock = {});

  // Sessions ended by expire() or by open() making room; the caller tells the dispatcher.
  using Ended = std::vector<std::string>;

  // Adds a session, first expiring idle ones and, when still full, evicting the one idle the
  // longest. False (nothing added) when the table is full of sessions with requests running.
  bool open(const std::string& id, Ended& ended);

  // Marks the start of a request of a live session; false when the session is unknown or has
  // expired (then it is removed and listed in `ended`). Every true begin() needs one end().
  bool begin(const std::string& id, Ended& ended);
  void end(const std::string& id);

  bool erase(const std::string& id);  // DELETE; false when unknown
  Ended expire();                     // removes every idle session past the timeout
  std::size_t size() const;
  const SessionLimits& limits() const { return limits_; }

 private:
  struct Session {
    Clock::time_point last_used;
    std::size_t running = 0;  // requests in flight
  };
  bool is_expired_locked(const Session& session, Clock::time_point now) const;
  void expire_locked(Clock::time_point now, Ended& ended);

  const SessionLimits limits_;
  const ClockFunction clock_;
  mutable std::mutex mutex_;  // guards sessions_
  std::map<std::string, Session> sessions_;
};

}  // namespace fapo::mcp
