// The header checks of the Streamable HTTP transport, as pure functions so they are tested
// without a socket. They defend a server on the user's machine against web pages: a page can
// make the browser send requests to 127.0.0.1, but it cannot choose the Host header its DNS
// name produces (DNS rebinding) nor forge its Origin, so a loopback server accepts only
// loopback Host names and loopback (or absent) Origins. A server bound to another address must
// use a bearer token instead, since its legitimate Host names are not known in advance.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace fapo::mcp {

// An address to listen on, from "HOST:PORT": an IPv4 literal, "localhost" or "[IPv6]".
struct ListenAddress {
  std::string host;  // as given, without brackets ("127.0.0.1", "::1", "localhost")
  std::uint16_t port = 0;
};
Result<ListenAddress> parse_listen_address(std::string_view text);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

struct HostPolicy {
  std::uint16_t port = 0;     // the port actually bound
  bool loopback_only = true;  // false when bound to a non-loopback address (token required)
};

// Host must name a loopback host at the bound port ("localhost:PORT", "127.0.0.1:PORT",
// "[::1]:PORT"; without a port only when the port is 80). Any Host passes when the policy is
// not loopback-only: the bearer token protects that server instead.
bool is_allowed_host(const HostPolicy& policy, std::string_view host_header);

// An absent Origin (not a browser) passes; otherwise an http(s) origin on a loopback host, at
// any port (a local web UI may run on another port), or one whose host:port equals the Host
// header (same origin).
bool is_allowed_origin(std::string_view origin_header, std::string_view host_header);

// Accept must admit both application/json and text/event-stream (wildcards count).
bool accepts_json_and_event_stream(std::string_view accept_header);

// Content-Type is application/json, with or without parameters such as charset.
bool is_json_content_type(std::string_view content_type_header);

// "Bearer <token>" with the expected token, compared in constant time.
bool bearer_token_matches(std::string_view authorization_header, std::string_view expected);

}  // namespace fapo::mcp
