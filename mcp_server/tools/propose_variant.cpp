// propose_variant: stores a new variant — the parent (default: the current best) with new
// prompt texts, parameter settings or a new chain — after checking that it runs (templates,
// variables, frozen settings), and returns its name, id and server-computed level. The
// Laboratory enforces the variant budget and journals the proposal.

#include <string>

#include <nlohmann/json.hpp>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Stores a new variant of a tenant's pipeline: the parent (default \"best\", the current "
    "best variant) with your edits, and returns its name (like v004), id and level. Edits: "
    "prompts {\"answer.md\": \"<complete new text>\"} replaces prompt files the chain uses; "
    "parameters {\"<step_id>\": {\"k\": 4}} sets numeric step settings (k, n, max_iterations, "
    "max_words, max_chars, and sampling settings that are not frozen; null restores the "
    "default); chain (a complete chain.json object) changes the structure, and prompts may then "
    "add the files its new llm steps name. hypothesis is required: which failure this should "
    "fix and why. The server computes the level from the diff (prompt < parameter < "
    "structural), refuses a variant that would not run (every problem listed), one that changes "
    "a frozen setting, and one identical to an existing variant (naming it). Make the smallest "
    "change that addresses what attribution found. Next: review_variant, then compare. Cost: no "
    "model calls; uses one of the tenant's variant budget.";

VariantEdits edits_from(const json& arguments) {
  VariantEdits edits;
  if (auto prompts = arguments.find("prompts"); prompts != arguments.end()) {
    for (const auto& [file, text] : prompts->items()) edits.prompts[file] = text.get<std::string>();
  }
  edits.parameters = arguments.value("parameters", json::object());
  if (auto chain = arguments.find("chain"); chain != arguments.end()) edits.chain = *chain;
  return edits;
}

std::string summary_of(const VariantRecord& record, const std::string& parent) {
  std::string text = "Stored " + record.name + " (" + level_name(record.level) +
                     " level, from " + parent + ")";
  if (!record.edited_steps.empty()) {
    text += ", editing step";
    text += record.edited_steps.size() == 1 ? " " : "s ";
    for (std::size_t i = 0; i < record.edited_steps.size(); ++i) {
      text += (i ? ", " : "") + record.edited_steps[i];
    }
  }
  return text + ". Next: review_variant with variant '" + record.name + "'.";
}

ToolResult propose_variant(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  Proposal proposal;
  proposal.parent = arguments.value("parent", "best");
  proposal.edits = edits_from(arguments);
  proposal.hypothesis = arguments["hypothesis"].get<std::string>();
  auto record = (*lab)->propose(proposal);
  if (!record.ok()) {
    const ErrorCode code = record.error().code;
    return failure_with_hint(record.error(),
                             code == ErrorCode::kInvalidInput
                                 ? "Fix every problem listed and propose again."
                                 : code == ErrorCode::kNotFound ? "history lists the variants."
                                                                : "");
  }
  auto parent = (*lab)->variants().find(record->parent_id);
  if (!parent.ok()) return ToolResult::failure(parent.error());
  json result{{"variant_id", record->variant_id},
              {"name", record->name},
              {"parent", parent->name},
              {"level", level_name(record->level)},
              {"edited_steps", record->edited_steps},
              {"changes", record->changes},
              {"next_step", "Call review_variant with variant '" + record->name +
                                "'; a variant must pass review before validation."}};
  return ToolResult::success(std::move(result), summary_of(*record, parent->name));
}

}  // namespace

ToolSpec make_propose_variant_tool() {
  ToolSpec spec;
  spec.name = "propose_variant";
  spec.title = "Propose a variant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = propose_variant;
  return spec;
}

}  // namespace fapo::mcp
