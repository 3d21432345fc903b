// Opaque page cursors. A cursor is base64 of "<scope>:<offset>", where the scope names the list
// it pages (for example "tools" or "cases:r20250101-000000-abc123"), so a cursor from one list
// is refused by another instead of silently paging the wrong thing. Clients must treat cursors
// as opaque, so the encoding may change. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace fapo::mcp {

std::string encode_cursor(std::string_view scope, std::size_t offset);
// The offset, or nullopt when the cursor is not one encode_cursor made for this scope.
std::optional<std::size_t> decode_cursor(std::string_view scope, std::string_view cursor);

// One page of a list of `total` items: indices [begin, end) and the cursor of the next page.
struct PageBounds {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::optional<std::string> next_cursor;
};

// Pages from `cursor` (absent: the first page). A cursor that does not decode for `scope`, or
// points past the end, is ErrorCode::kInvalidInput with a message telling how to recover.
Result<PageBounds> page_bounds(const std::optional<std::string>& cursor, std::string_view scope,
                               std::size_t total, std::size_t page_size);

}  // namespace fapo::mcp
