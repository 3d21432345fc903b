// LineBuffer and its id scanner: lines split across reads, over-long lines dropped while their
// top-level id is still found, wherever it sits and whatever the line nests or quotes.
#include "mcp_server/client/line_buffer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Kind = LineBuffer::Event::Kind;

std::vector<LineBuffer::Event> drain(LineBuffer& buffer) {
  std::vector<LineBuffer::Event> events;
  while (auto event = buffer.next()) events.push_back(std::move(*event));
  return events;
}

void append(LineBuffer& buffer, const std::string& text) {
  buffer.append(text.data(), text.size());
}

std::optional<json> scan(const std::string& text) {
  TopLevelIdScanner scanner;
  scanner.feed(text);
  return scanner.id();
}

TEST_CASE("lines split across reads come out whole, without their line ending") {
  LineBuffer buffer(100);
  append(buffer, "{\"a\":");
  CHECK(drain(buffer).empty());
  append(buffer, "1}\r\nsecond\nthi");
  auto events = drain(buffer);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == Kind::kLine);
  CHECK(events[0].line == "{\"a\":1}");
  CHECK(events[1].line == "second");
  append(buffer, "rd\n");
  events = drain(buffer);
  REQUIRE(events.size() == 1);
  CHECK(events[0].line == "third");
}

TEST_CASE("an over-long line is dropped as it arrives and its id, written last, is found") {
  LineBuffer buffer(1000);
  append(buffer, "{\"result\":{\"text\":\"" + std::string(1500, 'x'));
  auto events = drain(buffer);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == Kind::kTooLong);
  CHECK_FALSE(events[0].id.has_value());  // not seen yet
  append(buffer, std::string(5000, 'y'));
  CHECK(drain(buffer).empty());
  append(buffer, "\"},\"jsonrpc\":\"2.0\",\"id\":17}\n{\"id\":18}\n");
  events = drain(buffer);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == Kind::kLongLineEnded);
  REQUIRE(events[0].id.has_value());
  CHECK(*events[0].id == 17);
  CHECK(events[1].kind == Kind::kLine);
  CHECK(events[1].line == "{\"id\":18}");
}

TEST_CASE("a whole over-long line in one read gives both events, each with its id") {
  LineBuffer buffer(50);
  append(buffer, "{\"id\": 3, \"result\": \"" + std::string(100, 'z') + "\"}\nnext\n");
  auto events = drain(buffer);
  REQUIRE(events.size() == 3);
  CHECK(events[0].kind == Kind::kTooLong);
  CHECK(events[0].id == json(3));
  CHECK(events[1].kind == Kind::kLongLineEnded);
  CHECK(events[1].id == json(3));
  CHECK(events[2].line == "next");
}

TEST_CASE("the scanner reads only the top-level id") {
  CHECK(scan(R"({"jsonrpc":"2.0","id":5,"result":{}})") == json(5));
  CHECK(scan(R"({"result":{"id":99,"items":[{"id":98}]},"id":7})") == json(7));
  CHECK(scan(R"({"result":{"text":"\"id\": 6, \\"},"id" : "s-1" })") == json("s-1"));
  CHECK(scan(R"({"idx":1,"result":{}})") == std::nullopt);
  CHECK(scan(R"({"id":{"nested":1}})") == std::nullopt);
  CHECK(scan(R"([{"id":1}])") == std::nullopt);
  CHECK(scan(R"({"method":"x","params":{"id":2}})") == std::nullopt);
}

}  // namespace
}  // namespace fapo::mcp
