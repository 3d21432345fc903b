#include "engine/variant/text_diff.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

TEST_CASE("shows a changed line with its context and line numbers") {
  const std::string before = "a\nb\nc\nd\ne\nf\ng\n";
  const std::string after = "a\nb\nc\nD\ne\nf\ng\n";
  CHECK(unified_diff(before, after) == "@@ -2,5 +2,5 @@\n b\n c\n-d\n+D\n e\n f\n");
}

TEST_CASE("equal texts have no diff and distant changes make separate hunks") {
  CHECK(unified_diff("same\n", "same\n").empty());
  std::string before;
  for (int i = 1; i <= 20; ++i) before += std::to_string(i) + "\n";
  std::string after = before;
  after.replace(after.find("2\n"), 2, "two\n");
  after += "21\n";
  const std::string diff = unified_diff(before, after, 1);
  CHECK(diff.find("@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n") == 0);
  CHECK(diff.find("@@ -20,1 +20,2 @@\n 20\n+21\n") != std::string::npos);
}

TEST_CASE("an added file shows every line as added") {
  CHECK(unified_diff("", "x\ny\n") == "@@ -1,0 +1,2 @@\n+x\n+y\n");
}

}  // namespace
}  // namespace fapo
