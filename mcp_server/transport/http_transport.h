// MCP over Streamable HTTP (revisions 2025-03-26 to 2025-11-25): every client message is a POST
// to one endpoint, /mcp. A request is answered in the POST's response, as plain JSON, or as an
// event stream (text/event-stream) carrying its progress notifications and then the reply
// when the request asked for progress. Notifications and responses get 202 Accepted.
// Sessions: a successful initialize returns an Mcp-Session-Id that every later request must
// carry (missing: 400; unknown, ended or expired: 404); DELETE ends a session. GET is 405: the
// server never starts messages of its own, so it offers no standalone stream.
//
// Session limits (SessionLimits, session_table.h): by default at most 64 sessions live at once
// and a session expires after an hour without requests. A new session beyond the limit ends the
// one idle the longest; when every session has a request running, initialize is refused with
// 503. Ended and expired sessions are reported to the dispatcher, which cancels their work.
//
// Before anything else every request passes the checks of http_checks.h: Host and Origin
// (403), the bearer token when one is configured (401), then method (405), Content-Type (415),
// Accept (406), MCP-Protocol-Version (400) and the body size limit (413).
//
// The HTTP library stays inside the .cpp. Its handler threads put messages on a queue that
// receive() drains; each handler then waits for its own reply. Thread-safe as Transport says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/base/result.h"
#include "mcp_server/transport/http_checks.h"
#include "mcp_server/transport/session_table.h"
#include "mcp_server/transport/transport.h"

namespace fapo::mcp {

struct HttpTransportOptions {
  ListenAddress address{"127.0.0.1", 0};
  // Required when the address is not loopback (checked by start()).
  std::optional<std::string> bearer_token;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t threads = 16;  // connections served at once (each waits for its reply)
  SessionLimits sessions;
  SessionTable::ClockFunction clock;  // for session expiry; empty: steady_clock (tests set it)
};

class HttpTransport : public Transport {
 public:
  // Binds the socket and starts serving; kInvalidInput for a non-loopback address without a
  // token, kIo when the address cannot be bound.
  static Result<std::unique_ptr<HttpTransport>> start(const HttpTransportOptions& options);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT/mcp"

  std::optional<IncomingMessage> receive() override;
  void close() override;

 private:
  struct State;  // the HTTP server, queue and sessions; defined in the .cpp

  explicit HttpTransport(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fapo::mcp
