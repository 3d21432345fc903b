#include "mcp_server/output/cursor.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace fapo::mcp {
namespace {

std::string base64_encode(std::string_view bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int written =
      EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(written));
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
  std::vector<unsigned char> out(3 * (text.size() / 4) + 1);
  const int written =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes that '=' padding stands for; drop them.
  const auto padding = static_cast<int>(
      std::count(text.end() - std::min<std::size_t>(2, text.size()), text.end(), '='));
  return std::string(reinterpret_cast<const char*>(out.data()),
                     static_cast<std::size_t>(written - padding));
}

}  // namespace

std::string encode_cursor(std::string_view scope, std::size_t offset) {
  std::string payload(scope);
  payload += ':';
  payload += std::to_string(offset);
  return base64_encode(payload);
}

std::optional<std::size_t> decode_cursor(std::string_view scope, std::string_view cursor) {
  auto payload = base64_decode(cursor);
  if (!payload || payload->size() <= scope.size() + 1) return std::nullopt;
  if (payload->compare(0, scope.size(), scope) != 0 || (*payload)[scope.size()] != ':') {
    return std::nullopt;
  }
  const std::string_view digits = std::string_view(*payload).substr(scope.size() + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::size_t offset = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return offset;
}

Result<PageBounds> page_bounds(const std::optional<std::string>& cursor, std::string_view scope,
                               std::size_t total, std::size_t page_size) {
  PageBounds page;
  if (cursor) {
    auto offset = decode_cursor(scope, *cursor);
    if (!offset || *offset > total) {
      return make_error(ErrorCode::kInvalidInput,
                        "cursor '" + cursor->substr(0, 64) +
                            "' is not a cursor of this list (or the list has shrunk); call "
                            "again without a cursor to start from the first page");
    }
    page.begin = *offset;
  }
  page.end = std::min(total, page.begin + std::max<std::size_t>(page_size, 1));
  if (page.end < total) page.next_cursor = encode_cursor(scope, page.end);
  return page;
}

}  // namespace fapo::mcp
