// Helpers for the protocol tool tests (review_variant, compare, final_test): proposing the
// README's prompt fix of the example tenant through propose_variant, and finding the text of a
// held-out case to leak into a prompt.
#pragma once

#include <string>

#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/run/tenant.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp::testing {

inline constexpr char kAnswerFix[] =
    "Answer the question with a short answer: only the answer, in a few words. Always answer; "
    "if unsure, give your best guess.";

// The baseline's prompt file of the example tenant with `text` appended.
inline std::string baseline_prompt_with(ToolFixture& f, const std::string& text,
                                        const std::string& file = "answer.md") {
  return fapo::testing::read_text(f.workspace() / "tenants" / kTenant / "prompts" / file) + "\n" +
         text;
}

// Proposes the answer prompt + `text`; returns the variant's name.
inline std::string propose_answer(ToolFixture& f, const std::string& text) {
  const json result =
      f.call("propose_variant", {{"tenant_id", kTenant},
                                 {"hypothesis", "answer prompt: " + text},
                                 {"prompts", {{"answer.md", baseline_prompt_with(f, text)}}}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  return result["structuredContent"]["name"];
}

// The question of the first validation case.
inline std::string validation_question(ToolFixture& f) {
  auto workspace = Workspace::open(f.workspace());
  REQUIRE(workspace.ok());
  auto tenant = load_tenant(*workspace, kTenant);
  REQUIRE(tenant.ok());
  auto cases = load_dataset(tenant->dir / "dataset.jsonl", "dataset.jsonl");
  REQUIRE(cases.ok());
  for (const Case& item : *cases) {
    if (split_of(item, tenant->config.splits) == Split::kValidation) {
      return item.context.at("question");
    }
  }
  FAIL("no validation case");
  return "";
}

}  // namespace fapo::mcp::testing
