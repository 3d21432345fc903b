// list_tenants: the tenants of the workspace with their descriptions, paged. Reads only each
// tenant's tenant.json (no validation beyond "is it JSON"; validate_tenant does the rest).

#include <nlohmann/json.hpp>
#include <string>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/run/workspace.h"
#include "mcp_server/output/cursor.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxDescriptionChars = 400;
constexpr std::string_view kCursorScope = "tenants";

constexpr std::string_view kDescription =
    "Lists the optimisation projects (tenants) in the fapo workspace: each tenant's id and "
    "the description from its tenant.json. Call it first to find the tenant_id that every "
    "other fapo tool takes. Cheap: reads one small file per tenant and makes no model calls. "
    "Results are paged; when next_cursor is present, pass it back as cursor for the rest.";

// One listed tenant. A tenant.json that cannot be read still lists the tenant (with the
// problem), so a broken tenant is visible rather than silently missing.
json describe_tenant_entry(const Workspace& workspace, const std::string& tenant_id) {
  json entry{{"tenant_id", tenant_id}, {"description", ""}};
  const fs::path file = workspace.tenant_dir(tenant_id) / "tenant.json";
  auto text = read_file(file);
  if (!text.ok()) {
    entry["problem"] = sanitize_text(text.error().message);
    return entry;
  }
  try {
    const json config = json::parse(*text);
    if (auto description = config.find("description");
        description != config.end() && description->is_string()) {
      entry["description"] =
          truncate_text(sanitize_text(description->get<std::string>()), kMaxDescriptionChars);
    }
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    if (auto bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
    entry["problem"] = workspace.display_path(file) + " is not valid JSON: " + sanitize_text(what);
  }
  return entry;
}

std::string summarize(const json& page, std::size_t total) {
  if (total == 0) {
    return "No tenants in this workspace: add a directory tenants/<tenant_id>/ with a "
           "tenant.json (see the new_tenant prompt).";
  }
  std::vector<std::string> ids;
  for (const json& tenant : page) ids.push_back(tenant["tenant_id"].get<std::string>());
  std::string summary = std::to_string(total) + (total == 1 ? " tenant" : " tenants");
  if (ids.size() < total) summary += " (this page: " + std::to_string(ids.size()) + ")";
  return summary + ": " + join(ids, ", ") + ".";
}

ToolResult list_tenants(const json& arguments, ToolContext& context) {
  auto workspace = Workspace::open(context.server.workspace);
  if (!workspace.ok()) return ToolResult::failure(workspace.error());
  const std::vector<std::string> ids = workspace->list_tenants();

  std::optional<std::string> cursor;
  if (arguments.contains("cursor")) cursor = arguments["cursor"].get<std::string>();
  const std::size_t limit = arguments.value("limit", kDefaultLimit);
  auto page = page_bounds(cursor, kCursorScope, ids.size(), limit);
  if (!page.ok()) return ToolResult::failure(page.error());

  json tenants = json::array();
  for (std::size_t i = page->begin; i < page->end; ++i) {
    if (context.cancel.is_cancelled()) return ToolResult::failure("cancelled");
    tenants.push_back(describe_tenant_entry(*workspace, ids[i]));
  }
  json result{{"workspace", sanitize_text(workspace->root().string())},
              {"tenants", tenants},
              {"total", ids.size()}};
  if (page->next_cursor) result["next_cursor"] = *page->next_cursor;
  return ToolResult::success(std::move(result), summarize(tenants, ids.size()));
}

}  // namespace

ToolSpec make_list_tenants_tool() {
  ToolSpec spec;
  spec.name = "list_tenants";
  spec.title = "List tenants";
  spec.description = std::string(kDescription);
  spec.hints =
      ToolHints{.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  spec.handler = list_tenants;
  return spec;
}

}  // namespace fapo::mcp
