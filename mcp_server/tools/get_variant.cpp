// get_variant: one stored variant as the journal knows it — hypothesis, level, edited steps,
// changes, the diff of every changed file against its parent, its latest review and decision.

#include <string>

#include <nlohmann/json.hpp>

#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDiffChars = 6000;  // per file, to keep results well under 10k tokens

constexpr std::string_view kDescription =
    "Shows one stored variant: its name, id, parent, level, hypothesis, the steps it edits, the "
    "list of changes, a unified diff of each changed file against its parent (chain.json and "
    "prompts/*), its latest review verdict with findings, and whether a comparison accepted or "
    "rejected it. variant accepts a name (\"v003\"), an id or a unique id prefix of at least 8 "
    "hex digits, \"best\" (the default) or \"baseline\". Use it to recall what a variant "
    "changed before building on it. Cheap: reads stored files and the journal, no model calls.";

json decision_json(const std::optional<JournalEntry>& decision) {
  if (!decision) return nullptr;
  return decision->payload.value("accepted", false) ? "accepted" : "rejected";
}

ToolResult get_variant(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto view = (*lab)->view(arguments.value("variant", "best"));
  if (!view.ok()) return failure_with_hint(view.error(), "history lists the variants.");
  const VariantRecord& record = view->record;
  json diff = view->diff;
  for (json& file : diff) file["diff"] = truncate_text(file["diff"].get<std::string>(), kMaxDiffChars);
  json review = nullptr;
  json findings = json::array();
  if (view->review) {
    review = view->review->payload.value("verdict", "");
    findings = view->review->payload.value("findings", json::array());
  }
  json result{{"variant_id", record.variant_id},
              {"name", record.name},
              {"parent", view->parent_name},
              {"level", level_name(record.level)},
              {"hypothesis", record.hypothesis},
              {"edited_steps", record.edited_steps},
              {"changes", record.changes},
              {"diff", std::move(diff)},
              {"review", review},
              {"findings", std::move(findings)},
              {"decision", decision_json(view->decision)},
              {"created_at", record.created_at}};
  std::string summary = record.name + " (" + level_name(record.level) + " level" +
                        (view->parent_name.empty() ? "" : ", from " + view->parent_name) +
                        "): " + truncate_text(record.hypothesis, 200) + " Review: " +
                        (review.is_null() ? "not reviewed" : review.get<std::string>()) +
                        "; decision: " +
                        (result["decision"].is_null() ? "none" : result["decision"].get<std::string>()) +
                        ".";
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_get_variant_tool() {
  ToolSpec spec;
  spec.name = "get_variant";
  spec.title = "Show a variant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = get_variant;
  return spec;
}

}  // namespace fapo::mcp
