// `fapo demo` end to end, and the pieces it is made of: the workspace it prepares, the session
// that refuses tools the server does not offer, and the narrator's plain and coloured output.
#include <doctest/doctest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "mcp_server/demo/demo_session.h"
#include "mcp_server/demo/demo_workspace.h"
#include "mcp_server/demo/narrator.h"
#include "tests/test_support.h"

namespace fapo::demo {
namespace {

namespace fs = std::filesystem;
using fapo::testing::TempDir;
using fapo::testing::run_process;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("fapo demo walks the whole optimisation loop and exits 0") {
  TempDir dir;
  fs::path workspace = dir.path() / "demo";
  // Given in the workspace, so the test does not depend on where the binary was built.
  fapo::testing::copy_tenant("multihop_qa", workspace);
  auto result = run_process({fapo::testing::fapo_binary().string(), "demo", "--workspace",
                             workspace.string()});
  INFO(result.out);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  for (const char* step :
       {"[1/25] Start fapo mcp", "[2/25] initialize", "[3/25] tools/list",
        "[5/25] Evaluate the baseline on train", "[6/25] Find out why cases fail",
        "→ propose_variant", "→ review_variant", "→ compare", "ACCEPTED", "→ record_note",
        "parameter", "→ history", "→ final_test", "already_sealed=true", "no model calls spent",
        "[24/25] Summary", "fapo mcp exited with status 0", "The loop completed"}) {
    CHECK_MESSAGE(contains(result.out, step), step);
  }
  CHECK_FALSE(contains(result.out, "\033["));  // captured output carries no colour codes
  CHECK(contains(result.out, "workspace: " + workspace.string()));
  CHECK(fs::exists(workspace / ".fapo" / "multihop_qa" / "final_test.json"));
}

TEST_CASE("fapo demo refuses a workspace that already holds an optimisation of the tenant") {
  TempDir dir;
  fs::create_directories(dir.path() / ".fapo" / "multihop_qa");
  auto result = run_process({fapo::testing::fapo_binary().string(), "demo", "--workspace",
                             dir.path().string()});
  CHECK(result.exit_code == 3);
  CHECK(contains(result.err, "already holds an optimisation of multihop_qa"));
  CHECK(contains(result.err, "pass a new directory"));
}

TEST_CASE("a new demo workspace is a temporary directory holding a copy of the tenant") {
  fs::path source = fapo::testing::source_dir() / "tenants" / "multihop_qa";
  auto prepared = prepare_workspace("", source, kDemoTenant);
  REQUIRE_MESSAGE(prepared.ok(), (prepared.ok() ? "" : prepared.error().message));
  CHECK(prepared->created);
  CHECK(prepared->copied_tenant);
  CHECK(fs::is_regular_file(prepared->root / "tenants" / "multihop_qa" / "prompts" / "answer.md"));
  CHECK(contains(prepared->root.filename().string(), "fapo-demo-"));
  fs::remove_all(prepared->root);
}

TEST_CASE("a given workspace that already has the tenant is used as it is") {
  TempDir dir;
  fapo::testing::write_text(dir.path() / "tenants" / "multihop_qa" / "tenant.json", "{}");
  auto prepared = prepare_workspace(dir.path(), "", kDemoTenant);
  REQUIRE_MESSAGE(prepared.ok(), (prepared.ok() ? "" : prepared.error().message));
  CHECK_FALSE(prepared->created);
  CHECK_FALSE(prepared->copied_tenant);
  CHECK(fapo::testing::read_text(dir.path() / "tenants" / "multihop_qa" / "tenant.json") == "{}");
}

TEST_CASE("the example tenant is found beside a build directory and missing places are listed") {
  fs::path program = fapo::testing::source_dir() / "build" / "fapo";
  auto found = find_example_tenant(program, kDemoTenant);
  REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().message));
  CHECK(*found == (fapo::testing::source_dir() / "tenants" / "multihop_qa").lexically_normal());

  TempDir dir;
  auto missing = find_example_tenant(dir.path() / "bin" / "fapo", "no_such_tenant");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(contains(missing.error().message, (dir.path() / "bin" / "tenants" / "no_such_tenant").string()));
  CHECK(contains(missing.error().message, "--workspace DIR"));
}

TEST_CASE("a tool the server does not list is refused before anything is sent") {
  TempDir workspace;
  mcp::StdioClientOptions options;
  options.argv = {fapo::testing::fapo_binary().string(), "--workspace", workspace.path().string(),
                  "mcp"};
  auto client = mcp::StdioClient::start(options);
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("demo-test", "1.0").ok());
  std::ostringstream out;
  Narrator narrator(out, /*color=*/false);
  DemoSession session(std::move(*client), narrator);
  session.set_offered_tools({"evaluate", "budget"});
  auto result = session.call("compare", {{"tenant_id", "multihop_qa"}}, {});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ErrorCode::kNotFound);
  CHECK(contains(result.error().message, "the server does not offer tool compare"));
  CHECK(contains(result.error().message, "evaluate, budget"));
  CHECK(out.str().empty());
  CHECK(session.shutdown() == 0);
}

TEST_CASE("a tool's error result becomes an error naming the tool and its reason") {
  TempDir workspace;
  mcp::StdioClientOptions options;
  options.argv = {fapo::testing::fapo_binary().string(), "--workspace", workspace.path().string(),
                  "mcp"};
  auto client = mcp::StdioClient::start(options);
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("demo-test", "1.0").ok());
  std::ostringstream out;
  Narrator narrator(out, /*color=*/false);
  DemoSession session(std::move(*client), narrator);
  session.set_offered_tools({"describe_tenant"});
  auto result = session.call("describe_tenant", {{"tenant_id", "nobody"}}, {"tenant_id"});
  REQUIRE_FALSE(result.ok());
  CHECK(contains(result.error().message, "describe_tenant answered with an error"));
  CHECK(contains(result.error().message, "nobody"));
  CHECK(contains(out.str(), "→ describe_tenant  tenant_id=nobody"));
}

TEST_CASE("plain narration has no escape codes and keeps aligned columns; colour adds them") {
  std::ostringstream plain;
  Narrator narrator(plain, /*color=*/false, 40);
  narrator.step(3, 25, "tools/list");
  narrator.reply("verdict pass", Style::kGood);
  narrator.detail("v000  baseline    36.1");
  narrator.progress(5, 10, "5/10 results");
  narrator.agent("a sentence long enough that it has to be wrapped onto a second line here");
  std::string text = plain.str();
  CHECK_FALSE(contains(text, "\033["));
  CHECK(contains(text, "[3/25] tools/list\n"));
  CHECK(contains(text, "  ← verdict pass\n"));
  CHECK(contains(text, "      v000  baseline    36.1\n"));
  CHECK_FALSE(contains(text, "5/10 results"));  // progress is for terminals only
  CHECK(contains(text, "\n         "));          // the wrapped agent line is indented

  std::ostringstream colored;
  Narrator color_narrator(colored, /*color=*/true);
  color_narrator.reply("verdict pass", Style::kGood);
  CHECK(contains(colored.str(), "\033[1;32mverdict pass\033[0m"));
}

TEST_CASE("excerpts are one line, cut at a code point with an ellipsis") {
  CHECK(excerpt("short", 10) == "short");
  CHECK(excerpt("two\nlines", 20) == "two ⏎ lines");
  CHECK(excerpt("ééééééééé", 4) == "ééé…");
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_signed(-2.61) == "-2.6");
  CHECK(format_percent(0.95) == "95 %");
}

}  // namespace
}  // namespace fapo::demo
