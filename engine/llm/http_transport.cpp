#include "engine/llm/http_transport.h"

// The installed libcpp-httplib was built with these; the header's class layouts depend on them,
// so every translation unit that includes it must agree (pkg-config --cflags cpp-httplib).
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <time.h>

#include <algorithm>
#include <charconv>
#include <mutex>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using SteadyClock = std::chrono::steady_clock;

int default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

Error bad_url(std::string_view text, std::string_view field, std::string_view why) {
  return make_error(ErrorCode::kInvalidInput,
                    std::string(field) + ": '" + std::string(text) + "' " + std::string(why) +
                        " (expected http(s)://host[:port][/path], e.g. https://api.openai.com/v1)");
}

std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

class HttplibTransport final : public HttpTransport {
 public:
  HttplibTransport(BaseUrl base, HttpTransportOptions options)
      : base_(std::move(base)), options_(options) {}

  std::variant<HttpResponse, TransportError> post(const HttpRequest& request) override;

 private:
  std::unique_ptr<httplib::Client> checkout();
  void checkin(std::unique_ptr<httplib::Client> client);
  TransportError describe(httplib::Error error, const HttpRequest& request,
                          SteadyClock::duration elapsed, bool deadline_hit) const;

  BaseUrl base_;
  HttpTransportOptions options_;
  std::mutex idle_mutex_;  // guards idle_
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

std::unique_ptr<httplib::Client> HttplibTransport::checkout() {
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(base_.origin());
  client->set_keep_alive(true);
  // Headers and body go out in separate writes; with Nagle's algorithm the body then waits for
  // the server's delayed ACK, adding about 40 ms to every call.
  client->set_tcp_nodelay(true);
  // Redirects would silently move a key to another host; providers do not redirect API calls.
  client->set_follow_location(false);
  return client;
}

void HttplibTransport::checkin(std::unique_ptr<httplib::Client> client) {
  std::lock_guard lock(idle_mutex_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(client));
}

std::variant<HttpResponse, TransportError> HttplibTransport::post(const HttpRequest& request) {
  auto client = checkout();
  if (!client->is_valid()) {
    return TransportError{TransportFailure::kTls, "cannot create a client for " + base_.origin()};
  }
  const auto start = SteadyClock::now();
  const auto deadline = start + request.timeout;
  client->set_connection_timeout(std::min(options_.connect_timeout, request.timeout));
  client->set_read_timeout(request.timeout);
  client->set_write_timeout(request.timeout);

  httplib::Request wire;
  wire.method = "POST";
  wire.path = request.path;
  for (const auto& [name, value] : request.headers) wire.headers.emplace(name, value);
  wire.headers.emplace("Content-Type", "application/json");
  wire.body = request.body;
  // The read timeout restarts with every received byte, so a server that drips its reply would
  // never time out; checking the deadline per chunk bounds the whole exchange.
  std::string body;
  bool deadline_hit = false;
  wire.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    body.append(data, size);
    deadline_hit = SteadyClock::now() > deadline;
    return !deadline_hit;
  };

  httplib::Result result = client->send(wire);
  if (!result) {
    return describe(result.error(), request, SteadyClock::now() - start, deadline_hit);
  }
  HttpResponse response;
  response.status = result->status;
  response.headers.assign(result->headers.begin(), result->headers.end());
  response.body = std::move(body);
  checkin(std::move(client));
  return response;
}

TransportError HttplibTransport::describe(httplib::Error error, const HttpRequest& request,
                                          SteadyClock::duration elapsed, bool deadline_hit) const {
  const std::string where = base_.url(request.path);
  const auto limit_ms = std::to_string(request.timeout.count());
  const bool out_of_time = deadline_hit || elapsed >= request.timeout;
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      if (out_of_time) {
        return {TransportFailure::kTimeout, "timed out after " + limit_ms + " ms connecting to " +
                                                base_.origin()};
      }
      return {TransportFailure::kConnect, "cannot connect to " + base_.origin()};
    case httplib::Error::Read:
    case httplib::Error::Write:
    case httplib::Error::Canceled:
      if (out_of_time) {
        return {TransportFailure::kTimeout,
                "timed out after " + limit_ms + " ms waiting for " + where};
      }
      return {TransportFailure::kBrokenReply,
              "connection to " + where + " closed before the reply was complete"};
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return {TransportFailure::kTls,
              "TLS failure talking to " + base_.origin() + ": " + httplib::to_string(error)};
    default:
      return {TransportFailure::kOther,
              "request to " + where + " failed: " + httplib::to_string(error)};
  }
}

}  // namespace

std::string BaseUrl::origin() const {
  return scheme + "://" + host + ":" + std::to_string(port);
}

std::string BaseUrl::url(std::string_view path) const {
  std::string out = scheme + "://" + host;
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out + std::string(path);
}

Result<BaseUrl> parse_base_url(std::string_view text, std::string_view field) {
  std::string_view rest = text;
  auto scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return bad_url(text, field, "has no scheme");
  BaseUrl url;
  url.scheme = to_lower(rest.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return bad_url(text, field, "must start with http:// or https://");
  }
  rest.remove_prefix(scheme_end + 3);
  if (rest.find_first_of("?#@ ") != std::string_view::npos) {
    return bad_url(text, field, "must not contain a query, fragment, user name or space");
  }
  auto path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  // "[::1]:8080": the port follows the bracket; "host:8080" otherwise.
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    auto port = parse_port(authority.substr(colon + 1));
    if (!port) return bad_url(text, field, "has an invalid port");
    url.port = *port;
    authority = authority.substr(0, colon);
  } else {
    url.port = default_port(url.scheme);
  }
  if (authority.empty()) return bad_url(text, field, "has no host");
  url.host = std::string(authority);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.path_prefix = std::string(path);
  return url;
}

std::string HttpResponse::header(std::string_view name) const {
  const std::string wanted = to_lower(name);
  for (const auto& [key, value] : headers) {
    if (to_lower(key) == wanted) return value;
  }
  return "";
}

Result<std::unique_ptr<HttpTransport>> make_http_transport(const BaseUrl& base,
                                                           const HttpTransportOptions& options) {
  if (base.scheme != "http" && base.scheme != "https") {
    return make_error(ErrorCode::kInvalidInput, "unsupported URL scheme '" + base.scheme + "'");
  }
  return std::unique_ptr<HttpTransport>(std::make_unique<HttplibTransport>(base, options));
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  const std::string text = trim(value);
  if (text.empty()) return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size()) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, seconds) * 1000));
  }
  std::tm parts{};
  const char* parsed = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(::timegm(&parts));
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  return std::max(delay, std::chrono::milliseconds(0));
}

std::optional<std::chrono::milliseconds> retry_after_of(const HttpResponse& response) {
  const auto now = std::chrono::system_clock::now();
  std::string millis = trim(response.header("retry-after-ms"));
  if (!millis.empty()) {
    double value = 0;
    auto [end, ec] = std::from_chars(millis.data(), millis.data() + millis.size(), value);
    if (ec == std::errc() && end == millis.data() + millis.size() && value >= 0) {
      return std::chrono::milliseconds(static_cast<std::int64_t>(value));
    }
  }
  return parse_retry_after(response.header("retry-after"), now);
}

}  // namespace fapo
