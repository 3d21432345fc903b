#include "mcp_server/output/truncate.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

using nlohmann::json;

TEST_CASE("text within the limit is returned unchanged") {
  CHECK(truncate_text("short", 5) == "short");
  CHECK(truncate_text("", 0).empty());
}

TEST_CASE("truncation keeps the first characters and says how many were dropped") {
  const std::string text(1234 + 10, 'x');
  CHECK(truncate_text(text, 10) == std::string(10, 'x') + "\u2026[truncated 1234 chars]");
}

TEST_CASE("truncation counts characters, not bytes, and never splits one") {
  // Each of these is three bytes in UTF-8.
  CHECK(truncate_text("東京都庁", 2) == "東京\u2026[truncated 2 chars]");
}

TEST_CASE("estimates four characters per token") {
  CHECK(estimate_tokens(std::string(400, 'a')) == 100);
  CHECK(estimate_tokens(std::string(401, 'a')) == 101);
}

TEST_CASE("shrink_to_fit shortens the longest strings first and keeps the shape") {
  json value{{"long", std::string(20000, 'a')},
             {"short", "keep me"},
             {"n", 3},
             {"items", {std::string(5000, 'b'), "tiny"}}};
  REQUIRE(shrink_to_fit(value, 4000));
  CHECK(value.dump().size() <= 4000);
  CHECK(value["short"] == "keep me");
  CHECK(value["n"] == 3);
  CHECK(value["items"][1] == "tiny");
  const std::string shortened = value["long"];
  CHECK(shortened.find("\u2026[truncated ") != std::string::npos);
  CHECK(shortened.size() > 1000);  // it used the room it had, rather than cutting to a stub
}

TEST_CASE("shrink_to_fit leaves a value that fits untouched") {
  json value{{"a", std::string(100, 'x')}};
  const json before = value;
  CHECK(shrink_to_fit(value, 1000));
  CHECK(value == before);
}

TEST_CASE("shrink_to_fit reports failure when there are too many elements to fit") {
  json value = json::array();
  for (int i = 0; i < 2000; ++i) value.push_back({{"id", i}});
  CHECK_FALSE(shrink_to_fit(value, 1000));
}

}  // namespace
}  // namespace fapo::mcp
