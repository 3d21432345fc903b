#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("record_note journals a note and an exhausted level that history then shows") {
  ToolFixture f;
  const json first = f.call("record_note", {{"tenant_id", kTenant},
                                            {"note", "brevity rules fixed the format failures"}});
  REQUIRE_MESSAGE(first["isError"] == false, ToolFixture::text(first));
  const json second = f.call("record_note", {{"tenant_id", kTenant},
                                             {"note", "what remains is retrieval misses"},
                                             {"exhausted_level", "prompt"}});
  REQUIRE(second["isError"] == false);
  CHECK(second["structuredContent"]["seq"].get<int>() > first["structuredContent"]["seq"].get<int>());
  CHECK(ToolFixture::text(second).find("prompt level is marked exhausted") != std::string::npos);
  const json history = f.call("history", {{"tenant_id", kTenant}})["structuredContent"];
  CHECK(history["exhausted_levels"] == json{"prompt"});
  REQUIRE(history["notes"].size() == 2);
  CHECK(history["notes"][1]["exhausted_level"] == "prompt");
}

TEST_CASE("record_note refuses an unknown level and a blank note") {
  ToolFixture f;
  const json level = f.call("record_note", {{"tenant_id", kTenant}, {"note", "x"},
                                            {"exhausted_level", "prompts"}});
  CHECK(level["isError"] == true);
  CHECK(ToolFixture::text(level).find("exhausted_level") != std::string::npos);
  const json blank = f.call("record_note", {{"tenant_id", kTenant}, {"note", "  \n "}});
  CHECK(blank["isError"] == true);
  CHECK(ToolFixture::text(blank).find("the note is empty") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
