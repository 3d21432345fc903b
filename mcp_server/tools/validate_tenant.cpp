// validate_tenant: every check a run needs, reported at once (file, line, field, message), with
// the counts of a valid tenant. Writes nothing.

#include <string>

#include <nlohmann/json.hpp>

#include "engine/run/tenant.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxProblemsShown = 40;

constexpr std::string_view kDescription =
    "Checks a tenant the way a run would before spending anything: tenant.json against its "
    "schema and rules, every dataset line, the chain and every template variable of its "
    "prompts, the corpus, the scorer's ability to read every case, and the split assignment. "
    "Returns valid or the list of problems, each naming the file, line and field, plus case, "
    "split and corpus counts. Use it after creating or editing a tenant's files, or when "
    "another tool reports the tenant as broken. Costs no model calls; reads every file once "
    "(a second or so for large datasets). Writes nothing.";

json problem_json(const Diagnostic& diagnostic) {
  return json{{"file", diagnostic.file},
              {"line", diagnostic.line},
              {"field", diagnostic.field},
              {"message", diagnostic.message}};
}

std::string summarize(const TenantReport& report) {
  if (report.diagnostics.empty()) {
    std::string text = "Tenant " + report.tenant_id + " is valid: " +
                       std::to_string(report.cases) + " cases";
    if (!report.split_counts.empty()) {
      text += " (train " + std::to_string(report.split_counts.at("train")) + ", validation " +
              std::to_string(report.split_counts.at("validation")) + ", test " +
              std::to_string(report.split_counts.at("test")) + ")";
    }
    return text + ", " + std::to_string(report.steps.size()) + " steps, model " +
           (report.provider == "sim" ? "sim (simulated)" : report.provider) + ".";
  }
  const std::size_t count = report.diagnostics.size();
  return "Tenant " + report.tenant_id + " has " + std::to_string(count) +
         (count == 1 ? " problem" : " problems") + "; the first: " +
         report.diagnostics.front().to_string();
}

ToolResult validate_tenant_tool(const json& arguments, ToolContext& context) {
  auto workspace = open_tenant(context.server, arguments);
  if (!workspace.ok()) return ToolResult::failure(workspace.error());
  const TenantReport report = validate_tenant(*workspace, arguments["tenant_id"].get<std::string>());
  json problems = json::array();
  for (std::size_t i = 0; i < report.diagnostics.size() && i < kMaxProblemsShown; ++i) {
    problems.push_back(problem_json(report.diagnostics[i]));
  }
  json result{{"tenant_id", report.tenant_id},
              {"valid", report.diagnostics.empty()},
              {"problem_count", report.diagnostics.size()},
              {"problems", std::move(problems)},
              {"cases", report.cases},
              {"split_counts", report.split_counts},
              {"corpus_passages", report.corpus_passages},
              {"steps", report.steps},
              {"provider", report.provider},
              {"simulated", report.provider == "sim"}};
  return ToolResult::success(std::move(result), summarize(report));
}

}  // namespace

ToolSpec make_validate_tenant_tool() {
  ToolSpec spec;
  spec.name = "validate_tenant";
  spec.title = "Validate a tenant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = validate_tenant_tool;
  return spec;
}

}  // namespace fapo::mcp
