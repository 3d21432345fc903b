#include "mcp_server/output/sanitize.h"

#include <cstdint>
#include <optional>
#include <utility>

namespace fapo::mcp {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kEscape = 0x1B;
constexpr char32_t kBell = 0x07;
constexpr char32_t kC1Csi = 0x9B;  // the one-character form of "ESC ["
constexpr char32_t kC1Osc = 0x9D;  // the one-character form of "ESC ]"
constexpr char32_t kC1St = 0x9C;   // string terminator

struct Decoded {
  char32_t code_point;
  std::size_t length;  // bytes consumed
};

// Decodes one UTF-8 sequence at `pos`; malformed, overlong or surrogate sequences decode as
// U+FFFD consuming one byte, so decoding always advances.
Decoded decode_utf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(pos);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = 0;
  char32_t code_point = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    return {kReplacement, 1};
  }
  if (pos + length > text.size()) return {kReplacement, 1};
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return {kReplacement, 1};
    code_point = (code_point << 6) | (byte(pos + i) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return {kReplacement, 1};
  }
  return {code_point, length};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_invisible(char32_t c) {
  if (c < 0x20) return c != '\n' && c != '\t';
  if (c >= 0x7F && c <= 0x9F) return true;  // DEL and C1 controls
  return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0x061C ||
         c == 0x180E || c == 0xFEFF || (c >= 0xE0000 && c <= 0xE007F);
}

// Skips a control sequence body. CSI: parameter and intermediate bytes up to a final byte in
// 0x40–0x7E. OSC and other string commands: up to BEL or ST (ESC \ or U+009C).
std::size_t skip_csi(std::string_view text, std::size_t pos) {
  while (pos < text.size()) {
    const auto b = static_cast<std::uint8_t>(text[pos++]);
    if (b >= 0x40 && b <= 0x7E) break;
    if (b < 0x20 || b > 0x7E) return pos - 1;  // not part of a sequence: stop before it
  }
  return pos;
}

std::size_t skip_string_command(std::string_view text, std::size_t pos) {
  while (pos < text.size()) {
    const Decoded d = decode_utf8(text, pos);
    if (d.code_point == kBell || d.code_point == kC1St) return pos + d.length;
    if (d.code_point == kEscape && pos + 1 < text.size() && text[pos + 1] == '\\') return pos + 2;
    pos += d.length;
  }
  return pos;
}

// Returns the position after the escape sequence starting with ESC at `pos`.
std::size_t skip_escape(std::string_view text, std::size_t pos) {
  ++pos;  // ESC
  if (pos >= text.size()) return pos;
  const char kind = text[pos];
  if (kind == '[') return skip_csi(text, pos + 1);
  if (kind == ']' || kind == 'P' || kind == '^' || kind == '_' || kind == 'X') {
    return skip_string_command(text, pos + 1);
  }
  // nF escapes: intermediate bytes then a final byte; Fe/Fp/Fs: one byte.
  while (pos < text.size() && text[pos] >= 0x20 && text[pos] <= 0x2F) ++pos;
  if (pos < text.size() && text[pos] >= 0x30 && text[pos] <= 0x7E) ++pos;
  return pos;
}

}  // namespace

std::string sanitize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Decoded d = decode_utf8(text, pos);
    if (d.code_point == kEscape) {
      pos = skip_escape(text, pos);
      continue;
    }
    if (d.code_point == kC1Csi) {
      pos = skip_csi(text, pos + d.length);
      continue;
    }
    if (d.code_point == kC1Osc) {
      pos = skip_string_command(text, pos + d.length);
      continue;
    }
    pos += d.length;
    if (!is_invisible(d.code_point)) append_utf8(out, d.code_point);
  }
  return out;
}

void sanitize_json_strings(nlohmann::json& value) {
  if (value.is_string()) {
    value = sanitize_text(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (auto& item : value) sanitize_json_strings(item);
  } else if (value.is_object()) {
    nlohmann::json cleaned = nlohmann::json::object();
    for (auto& [key, item] : value.items()) {
      sanitize_json_strings(item);
      cleaned[sanitize_text(key)] = std::move(item);
    }
    value = std::move(cleaned);
  }
}

}  // namespace fapo::mcp
