#include "engine/base/strings.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

TEST_CASE("normalize_answer lowercases, drops punctuation and articles, writes numbers as digits") {
  CHECK(normalize_answer("The  River Lune!") == "river lune");
  CHECK(normalize_answer("two apples") == "2 apples");
  CHECK(normalize_answer("Zoë") == "zoë");
}

TEST_CASE("typographic punctuation separates words instead of gluing onto them") {
  // Without the spacing, the guillemets would become part of "Oriel" and "Hidrecell".
  CHECK(normalize_answer_spacing_typography("[1] \u00abOriel Lavis | born in Hidrecell\u00bb") ==
        "1 oriel lavis born in hidrecell");
  CHECK(normalize_answer_spacing_typography("\u201cquoted\u201d \u2013 and\u2026 more") ==
        "quoted and more");
  CHECK(normalize_answer_spacing_typography("Zoë") == "zoë");
}

}  // namespace
}  // namespace fapo
