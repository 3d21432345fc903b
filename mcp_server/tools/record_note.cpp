// record_note: journals what the optimiser learned, optionally declaring a level exhausted, so
// that a later session (through history) does not repeat dead ends.

#include <string>

#include <nlohmann/json.hpp>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Records a note in the tenant's journal: what you learned, what did not work, what to try "
    "next. Set exhausted_level (prompt, parameter or structural) when attribution and results "
    "show that level cannot fix the remaining failures, which justifies escalating to the next "
    "one. history returns the notes and exhausted levels, so a later session resumes from them. "
    "Notes are permanent (the journal is append-only). Cheap: no model calls.";

ToolResult record_note(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  std::optional<Level> exhausted;
  if (arguments.contains("exhausted_level")) {
    exhausted = level_from_name(arguments["exhausted_level"].get<std::string>());
  }
  auto seq = (*lab)->record_note(arguments["note"].get<std::string>(), exhausted);
  if (!seq.ok()) return ToolResult::failure(seq.error());
  std::string summary = "Noted (journal entry " + std::to_string(*seq) + ")";
  if (exhausted) summary += std::string("; the ") + level_name(*exhausted) + " level is marked exhausted";
  return ToolResult::success(json{{"seq", *seq}}, summary + ".");
}

}  // namespace

ToolSpec make_record_note_tool() {
  ToolSpec spec;
  spec.name = "record_note";
  spec.title = "Record a note";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = record_note;
  return spec;
}

}  // namespace fapo::mcp
