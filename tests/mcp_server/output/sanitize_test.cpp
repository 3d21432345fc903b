#include "mcp_server/output/sanitize.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

TEST_CASE("keeps ordinary text, newlines, tabs and non-Latin scripts") {
  const std::string text = "Line one\n\tIndented — café, 東京, emoji 🙂";
  CHECK(sanitize_text(text) == text);
}

TEST_CASE("strips control characters except newline and tab") {
  CHECK(sanitize_text(std::string("a\x00"
                                  "b\x07"
                                  "c\r\nd\x7f"
                                  "e",
                                  11)) == "abc\nde");
}

TEST_CASE("strips ANSI colour, cursor and OSC title sequences") {
  CHECK(sanitize_text("\x1b[31mred\x1b[0m plain") == "red plain");
  CHECK(sanitize_text("\x1b[2J\x1b[1;1Hcleared") == "cleared");
  CHECK(sanitize_text("\x1b]0;evil title\x07"
                      "after") == "after");
  CHECK(sanitize_text("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link");
  CHECK(sanitize_text("\xc2\x9b"
                      "31mC1 form") == "C1 form");  // U+009B CSI
}

TEST_CASE("strips zero-width, bidi override and tag characters") {
  CHECK(sanitize_text("zero\u200bwidth\u200d join\ufeff") == "zerowidth join");
  CHECK(sanitize_text("\u202eevil\u202c \u2066iso\u2069") == "evil iso");
  // "hi" spelled in Unicode tag characters (invisible prompt smuggling).
  CHECK(sanitize_text("visible\U000E0068\U000E0069") == "visible");
}

TEST_CASE("replaces invalid UTF-8 with U+FFFD") {
  CHECK(sanitize_text("ok\xff"
                      "end") == "ok\uFFFDend");
  CHECK(sanitize_text("\xc0\xaf") == "\uFFFD\uFFFD");            // overlong '/'
  CHECK(sanitize_text("\xed\xa0\x80") == "\uFFFD\uFFFD\uFFFD");  // surrogate
  CHECK(sanitize_text("cut \xe6\x9d") == "cut \uFFFD\uFFFD");    // truncated sequence
}

TEST_CASE("sanitises every string in a JSON value, keys included") {
  nlohmann::json value = {{"a\u200b", {"x\x1b[1m", 3, {{"deep", "\u202ey"}}}}};
  sanitize_json_strings(value);
  CHECK(value == nlohmann::json{{"a", {"x", 3, {{"deep", "y"}}}}});
}

}  // namespace
}  // namespace fapo::mcp
