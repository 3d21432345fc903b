#include "mcp_server/transport/http_checks.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>
#include <vector>

#include "engine/base/files.h"
#include "engine/base/strings.h"

namespace fapo::mcp {
namespace {

std::string strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

bool is_ip_literal(const std::string& host) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// Splits "host:port", "[v6]:port", "host" or "[v6]" into host (brackets kept) and port text.
std::pair<std::string_view, std::string_view> split_authority(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return {authority, {}};
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);
    return {authority.substr(0, close + 1), rest};
  }
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return {authority, {}};
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

// The media types of an Accept or Content-Type header, lowercased, without parameters.
std::vector<std::string> media_types(std::string_view header) {
  std::vector<std::string> types;
  for (const std::string& part : split(header, ',')) {
    std::string type = to_lower(trim(part.substr(0, part.find(';'))));
    if (!type.empty()) types.push_back(type);
  }
  return types;
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto [host, port_text] = split_authority(text);
  auto port = parse_port(port_text);
  const std::string bare = strip_brackets(host);
  const bool host_ok = to_lower(bare) == "localhost" || is_ip_literal(bare);
  if (host.empty() || !port || !host_ok) {
    return make_error(ErrorCode::kInvalidInput,
                      "listen address '" + std::string(text) +
                          "' must be HOST:PORT with an IP address or localhost as HOST and a "
                          "port from 0 to 65535 (0 picks a free port), e.g. 127.0.0.1:8765");
  }
  return ListenAddress{bare, *port};
}

bool is_loopback_host(std::string_view host) {
  const std::string bare = to_lower(strip_brackets(host));
  if (bare == "localhost") return true;
  unsigned char v4[4];
  if (::inet_pton(AF_INET, bare.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (::inet_pton(AF_INET6, bare.c_str(), v6) != 1) return false;
  static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v6, v6 + 16, kLoopback)) return true;
  return std::equal(v6, v6 + 12, kMappedPrefix) && v6[12] == 127;  // ::ffff:127.x.y.z
}

bool is_allowed_host(const HostPolicy& policy, std::string_view host_header) {
  if (!policy.loopback_only) return true;
  if (host_header.empty()) return false;
  const auto [host, port_text] = split_authority(host_header);
  if (!is_loopback_host(host)) return false;
  if (port_text.empty()) return policy.port == 80;
  auto port = parse_port(port_text);
  return port && *port == policy.port;
}

bool is_allowed_origin(std::string_view origin_header, std::string_view host_header) {
  if (origin_header.empty()) return true;
  const std::string origin = to_lower(origin_header);
  std::string_view authority = origin;
  if (starts_with(authority, "http://")) {
    authority.remove_prefix(7);
  } else if (starts_with(authority, "https://")) {
    authority.remove_prefix(8);
  } else {
    return false;  // "null" (sandboxed frames, file pages) and other schemes
  }
  authority = authority.substr(0, authority.find('/'));
  if (authority.empty()) return false;
  if (is_loopback_host(split_authority(authority).first)) return true;
  return authority == to_lower(host_header);
}

bool accepts_json_and_event_stream(std::string_view accept_header) {
  bool json = false;
  bool event_stream = false;
  for (const std::string& type : media_types(accept_header)) {
    json = json || type == "application/json" || type == "application/*" || type == "*/*";
    event_stream = event_stream || type == "text/event-stream" || type == "text/*" || type == "*/*";
  }
  return json && event_stream;
}

bool is_json_content_type(std::string_view content_type_header) {
  const auto types = media_types(content_type_header);
  return types.size() == 1 && types.front() == "application/json";
}

bool bearer_token_matches(std::string_view authorization_header, std::string_view expected) {
  constexpr std::string_view kScheme = "bearer ";
  if (expected.empty() || authorization_header.size() <= kScheme.size()) return false;
  if (to_lower(authorization_header.substr(0, kScheme.size())) != kScheme) return false;
  const std::string presented = trim(authorization_header.substr(kScheme.size()));
  // Hashing first gives equal-length inputs, so the comparison time reveals neither the
  // token's content nor its length.
  const std::string a = sha256_hex(presented);
  const std::string b = sha256_hex(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace fapo::mcp
