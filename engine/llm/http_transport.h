// HTTP for the model clients. The clients build a JSON body and hand it to an HttpTransport;
// the transport owns connections (a keep-alive pool, TLS) and reports failures as values. The
// interface keeps the HTTP library out of every other header, and lets the clients be tested
// against a loopback server or a fake. A transport is thread-safe: each concurrent post() uses
// its own pooled connection.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

// "https://api.openai.com/v1" split into parts. The path prefix never ends in '/'.
struct BaseUrl {
  std::string scheme;  // "http" or "https"
  std::string host;
  int port = 0;
  std::string path_prefix;  // "/v1" or ""

  std::string origin() const;                      // "https://api.openai.com:443"
  std::string url(std::string_view path) const;  // for messages: "https://host/v1/chat/completions"
};

// Parses http(s)://host[:port][/prefix]. `field` names the setting in errors.
Result<BaseUrl> parse_base_url(std::string_view text, std::string_view field);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string path;  // absolute, including the base URL's prefix: "/v1/chat/completions"
  HttpHeaders headers;
  std::string body;  // sent as application/json
  std::chrono::milliseconds timeout{60000};  // whole exchange, connect to last body byte
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // Case-insensitive lookup; "" when absent.
  std::string header(std::string_view name) const;
};

// Why an exchange produced no response at all.
enum class TransportFailure { kConnect, kTimeout, kBrokenReply, kTls, kOther };

struct TransportError {
  TransportFailure kind = TransportFailure::kOther;
  std::string message;  // "timed out after 2000 ms waiting for http://127.0.0.1:9/..."
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // A response of any status, or the reason there was none. Never throws.
  virtual std::variant<HttpResponse, TransportError> post(const HttpRequest& request) = 0;
};

struct HttpTransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::size_t max_idle_connections = 256;  // kept open for reuse; more are closed after use
};

// A transport to one origin, over TLS for https (certificates checked against the system
// store).
Result<std::unique_ptr<HttpTransport>> make_http_transport(
    const BaseUrl& base, const HttpTransportOptions& options = {});

// Retry-After as sent by a server: delta-seconds ("2", "1.5") or an HTTP date. Negative or
// past values yield zero; garbage yields nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// The server's requested delay from a response: "retry-after-ms" (OpenAI) first, then
// "retry-after".
std::optional<std::chrono::milliseconds> retry_after_of(const HttpResponse& response);

}  // namespace fapo
