// export_variant: copies a stored variant (chain.json, prompts/, variant.json) into a
// directory of the workspace, outside .fapo/, never overwriting a file.

#include <string>

#include <nlohmann/json.hpp>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Copies a stored variant — chain.json, prompts/ and variant.json (its metadata) — into a "
    "directory of the workspace, e.g. to adopt the best variant as the tenant's pipeline or to "
    "read it with other tools. path is relative to the workspace (or absolute inside it), must "
    "lie outside .fapo/, and is created if missing; existing files are never overwritten (the "
    "call fails and writes nothing). variant accepts a name (\"v003\"), an id or unique prefix, "
    "\"best\" or \"baseline\". Cheap: writes a few files, no model calls.";

ToolResult export_variant(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto record = (*lab)->resolve(arguments["variant"].get<std::string>());
  if (!record.ok()) return failure_with_hint(record.error(), "history lists the variants.");
  const std::string path = arguments["path"].get<std::string>();
  auto files = (*lab)->export_variant(record->variant_id, path);
  if (!files.ok()) return ToolResult::failure(files.error());
  auto target = (*lab)->workspace().resolve_inside(path);
  const std::string shown =
      target.ok() ? (*lab)->workspace().display_path(*target) : path;
  json result{{"variant_id", record->variant_id},
              {"name", record->name},
              {"path", shown},
              {"files", *files}};
  return ToolResult::success(std::move(result), "Exported " + record->name + " to " + shown +
                                                    " (" + std::to_string(files->size()) +
                                                    " files).");
}

}  // namespace

ToolSpec make_export_variant_tool() {
  ToolSpec spec;
  spec.name = "export_variant";
  spec.title = "Export a variant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = export_variant;
  return spec;
}

}  // namespace fapo::mcp
