// history: the compact account of a tenant's optimisation from the journal, the variant store
// and the runs — enough for a fresh session to resume where the last one stopped.

#include <string>

#include <nlohmann/json.hpp>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Summarises a tenant's optimisation so far: the best variant and its lineage from the "
    "baseline, every variant (name, id, level, parent, hypothesis, review verdict, mean train "
    "and validation score over all complete runs, accepted or rejected), the levels declared "
    "exhausted, the latest notes and the budget left. Call it first when you start or resume "
    "work on a tenant, and before proposing, so you do not repeat what was tried. Cheap: reads "
    "the journal and stored files, no model calls.";

std::string summary_of(const json& history) {
  const json& best = history["best"];
  std::string lineage;
  for (const json& name : best["lineage"]) {
    lineage += (lineage.empty() ? "" : " -> ") + name.get<std::string>();
  }
  std::string text = std::to_string(history["variants"].size()) + " variants; best " +
                     best["name"].get<std::string>() + " (" + lineage + ")";
  if (!history["exhausted_levels"].empty()) {
    std::string levels;
    for (const json& level : history["exhausted_levels"]) {
      levels += (levels.empty() ? "" : ", ") + level.get<std::string>();
    }
    text += "; exhausted: " + levels;
  }
  return text + "; " + std::to_string(history["notes_total"].get<std::size_t>()) + " notes.";
}

ToolResult history(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto result = (*lab)->history();
  if (!result.ok()) return ToolResult::failure(result.error());
  std::string summary = summary_of(*result);
  return ToolResult::success(std::move(result).value(), std::move(summary));
}

}  // namespace

ToolSpec make_history_tool() {
  ToolSpec spec;
  spec.name = "history";
  spec.title = "Optimisation history";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = history;
  return spec;
}

}  // namespace fapo::mcp
