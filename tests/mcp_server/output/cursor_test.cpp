#include "mcp_server/output/cursor.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

TEST_CASE("a cursor decodes to the offset it was made from, in its own scope only") {
  for (std::size_t offset :
       {std::size_t{0}, std::size_t{1}, std::size_t{49}, std::size_t{123456789}}) {
    const std::string cursor = encode_cursor("cases:r1", offset);
    CHECK(decode_cursor("cases:r1", cursor) == offset);
    CHECK_FALSE(decode_cursor("cases:r2", cursor).has_value());
  }
}

TEST_CASE("a cursor is opaque: it does not show the offset in clear") {
  const std::string cursor = encode_cursor("tools", 50);
  CHECK(cursor.find("50") == std::string::npos);
  CHECK(cursor.find("tools") == std::string::npos);
}

TEST_CASE("garbage cursors do not decode") {
  for (const char* cursor : {"", "abc", "!!!!", "dG9vbHM6", "dG9vbHM6eA==", "dG9vbHM6LTE="}) {
    CAPTURE(cursor);
    CHECK_FALSE(decode_cursor("tools", cursor).has_value());
  }
}

TEST_CASE("page bounds walk a list page by page") {
  auto first = page_bounds(std::nullopt, "t", 5, 2);
  REQUIRE(first.ok());
  CHECK(first->begin == 0);
  CHECK(first->end == 2);
  REQUIRE(first->next_cursor.has_value());
  auto second = page_bounds(first->next_cursor, "t", 5, 2);
  REQUIRE(second.ok());
  CHECK(second->begin == 2);
  CHECK(second->end == 4);
  auto last = page_bounds(second->next_cursor, "t", 5, 2);
  REQUIRE(last.ok());
  CHECK(last->end == 5);
  CHECK_FALSE(last->next_cursor.has_value());
}

TEST_CASE("a bad or stale cursor is an invalid-input error that says how to recover") {
  auto foreign = page_bounds(std::string("nonsense"), "t", 5, 2);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code == ErrorCode::kInvalidInput);
  CHECK(foreign.error().message.find("without a cursor") != std::string::npos);
  auto past_end = page_bounds(encode_cursor("t", 9), "t", 5, 2);
  REQUIRE_FALSE(past_end.ok());
}

}  // namespace
}  // namespace fapo::mcp
