// The one rule the trajectory scorer and attribution share for comparing tool calls.
#include "engine/tools/tool_call_match.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

using nlohmann::json;

TEST_CASE("tool calls: expected arguments match as a subset and canonicalise repeated ones") {
  CHECK(argument_matches({{"query", "Orvell bridge"}},
                         {{"query", "where is the orvell Bridge?"}, {"k", 3}}));
  CHECK_FALSE(argument_matches({{"query", "Orvell bridge"}}, {{"query", "Orvell tunnel"}}));
  CHECK(argument_matches({{"a", 17}}, {{"a", "17.0"}}));
  CHECK_FALSE(argument_matches({{"a", 17}}, {{"b", 17}}));
  CHECK(argument_matches(json::object(), "not json"));
  CHECK(argument_matches(json::array({"x"}), json::array({"y", "X"})));
  CHECK_FALSE(argument_matches("bridge", json::object()));
  CHECK(canonical_arguments({{"b", 2}, {"a", "X  y"}}) ==
        canonical_arguments({{"a", "x y"}, {"b", 2.0}}));
}

}  // namespace
}  // namespace fapo
