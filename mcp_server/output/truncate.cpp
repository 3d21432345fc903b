#include "mcp_server/output/truncate.h"

#include <algorithm>
#include <cstdint>

namespace fapo::mcp {
namespace {

// Strings are never cut below this many characters when fitting a budget: a shorter stub
// rarely tells the model anything, and paging is the better remedy.
constexpr std::size_t kMinKeptChars = 64;

bool is_continuation(char byte) { return (static_cast<std::uint8_t>(byte) & 0xC0) == 0x80; }

std::size_t serialized_size(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

std::size_t longest_string_chars(const nlohmann::json& value) {
  if (value.is_string()) return count_chars(value.get_ref<const std::string&>());
  std::size_t longest = 0;
  if (value.is_structured()) {
    for (const auto& item : value) longest = std::max(longest, longest_string_chars(item));
  }
  return longest;
}

bool fits_with_cap(const nlohmann::json& value, std::size_t cap, std::size_t max_bytes) {
  nlohmann::json copy = value;
  truncate_json_strings(copy, cap);
  return serialized_size(copy) <= max_bytes;
}

}  // namespace

std::size_t estimate_tokens(std::string_view text) {
  return (text.size() + kCharsPerToken - 1) / kCharsPerToken;
}

std::size_t estimate_json_tokens(const nlohmann::json& value) {
  return (serialized_size(value) + kCharsPerToken - 1) / kCharsPerToken;
}

std::size_t count_chars(std::string_view utf8) {
  return static_cast<std::size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return !is_continuation(c); }));
}

std::string truncate_text(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  std::size_t cut = 0;
  for (; cut < text.size(); ++cut) {
    if (is_continuation(text[cut])) continue;
    if (chars == max_chars) break;
    ++chars;
  }
  if (cut >= text.size()) return std::string(text);
  const std::size_t dropped = count_chars(text.substr(cut));
  std::string out(text.substr(0, cut));
  out += "\u2026[truncated " + std::to_string(dropped) + " chars]";
  return out;
}

void truncate_json_strings(nlohmann::json& value, std::size_t max_chars) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (count_chars(text) > max_chars) value = truncate_text(text, max_chars);
  } else if (value.is_structured()) {
    for (auto& item : value) truncate_json_strings(item, max_chars);
  }
}

bool shrink_to_fit(nlohmann::json& value, std::size_t max_bytes) {
  if (serialized_size(value) <= max_bytes) return true;
  const std::size_t longest = longest_string_chars(value);
  if (longest <= kMinKeptChars || !fits_with_cap(value, kMinKeptChars, max_bytes)) {
    truncate_json_strings(value, kMinKeptChars);
    return false;
  }
  // The largest per-string cap that fits: longer strings lose the most, short ones nothing.
  std::size_t low = kMinKeptChars;  // fits
  std::size_t high = longest - 1;   // the largest cap that could still be needed
  while (low < high) {
    const std::size_t mid = low + (high - low + 1) / 2;
    if (fits_with_cap(value, mid, max_bytes)) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  truncate_json_strings(value, low);
  return true;
}

}  // namespace fapo::mcp
