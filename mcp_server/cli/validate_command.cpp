// `fapo validate TENANT`: checks every file of a tenant and reports all problems at once.
// `--tools` also starts the tenant's tool servers, lists what each offers and stops them: the
// way to see that a server configuration works before a run depends on it.
#include <CLI/CLI.hpp>

#include <iostream>

#include "engine/base/strings.h"
#include "engine/run/tenant.h"
#include "engine/tools/tool_servers.h"
#include "mcp_server/cli/cli.h"

namespace fapo::cli {
namespace {

nlohmann::json report_json(const TenantReport& report) {
  nlohmann::json problems = nlohmann::json::array();
  for (const Diagnostic& diagnostic : report.diagnostics) {
    problems.push_back({{"file", diagnostic.file},
                        {"line", diagnostic.line},
                        {"field", diagnostic.field},
                        {"message", diagnostic.message}});
  }
  return {{"ok", report.diagnostics.empty()}, {"tenant_id", report.tenant_id},
          {"cases", report.cases},            {"splits", report.split_counts},
          {"corpus_passages", report.corpus_passages},
          {"steps", report.steps},            {"provider", report.provider},
          {"problems", problems}};
}

void print_report(const TenantReport& report) {
  if (!report.diagnostics.empty()) {
    std::cerr << report.tenant_id << ": " << report.diagnostics.size() << " problem"
              << (report.diagnostics.size() == 1 ? "" : "s") << "\n";
    for (const Diagnostic& diagnostic : report.diagnostics) {
      std::cerr << "  " << diagnostic.to_string() << "\n";
    }
    return;
  }
  std::cout << report.tenant_id << ": valid\n"
            << "  cases:   " << report.cases << " (";
  bool first = true;
  for (const auto& [split, count] : report.split_counts) {
    std::cout << (first ? "" : ", ") << split << " " << count;
    first = false;
  }
  std::cout << ")\n  steps:   ";
  for (std::size_t i = 0; i < report.steps.size(); ++i) {
    std::cout << (i ? " -> " : "") << report.steps[i];
  }
  std::cout << "\n  corpus:  " << report.corpus_passages << " passages\n"
            << "  model:   " << report.provider
            << (report.provider == "sim" ? " (simulated model, offline)" : "") << "\n";
}

// Starts the tools a run would start, reports each provider's tools or why it has none.
nlohmann::json check_tools(const Workspace& workspace, const std::string& tenant_id) {
  nlohmann::json out = nlohmann::json::array();
  auto tenant = load_tenant(workspace, tenant_id);
  if (!tenant.ok()) return out;
  ToolServerLaunch launch{tenant->dir, {}, 1};
  std::shared_ptr<ToolSet> tools = start_tools(tenant->config.tools, tenant->index, launch);
  for (const auto& provider : tools->providers()) {
    nlohmann::json entry{{"provider", provider->name()}};
    if (auto error = provider->start_error()) {
      entry["error"] = *error;
    } else {
      nlohmann::json names = nlohmann::json::array();
      for (const ToolDefinition& tool : provider->tools()) names.push_back(tool.name);
      entry["tools"] = names;
    }
    out.push_back(entry);
  }
  return out;  // the set stops its servers as it goes out of scope
}

void print_tools(const nlohmann::json& tools) {
  std::cout << "  tools:\n";
  if (tools.empty()) std::cout << "    none declared\n";
  for (const nlohmann::json& entry : tools) {
    std::string line = "    " + entry["provider"].get<std::string>() + ": ";
    if (entry.contains("error")) {
      line += "FAILED: " + entry["error"].get<std::string>();
    } else {
      std::vector<std::string> names = entry["tools"].get<std::vector<std::string>>();
      line += names.empty() ? "(no allowed tool listed)" : join(names, ", ");
    }
    std::cout << line << "\n";
  }
}

bool tools_failed(const nlohmann::json& tools) {
  for (const nlohmann::json& entry : tools) {
    if (entry.contains("error")) return true;
  }
  return false;
}

}  // namespace

void add_validate_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand("validate", "Check a tenant's files and report every problem");
  auto tenant = std::make_shared<std::string>();
  command->add_option("tenant", *tenant, "Tenant id (a directory under tenants/)")->required();
  command->add_flag("--json", options.json, "Print the report as JSON");
  auto start_servers = std::make_shared<bool>(false);
  command->add_flag("--tools", *start_servers,
                    "Also start the tenant's tool servers, list their tools and stop them");
  command->callback([&options, &exit_code, tenant, start_servers] {
    auto workspace = Workspace::open(options.workspace);
    if (!workspace.ok()) {
      exit_code = report_error(options, workspace.error());
      return;
    }
    TenantReport report = validate_tenant(*workspace, *tenant);
    nlohmann::json tools;
    if (*start_servers && report.diagnostics.empty()) tools = check_tools(*workspace, *tenant);
    if (options.json) {
      nlohmann::json out = report_json(report);
      if (!tools.is_null()) out["tools"] = tools;
      std::cout << out.dump(2) << "\n";
    } else {
      print_report(report);
      if (!tools.is_null()) print_tools(tools);
    }
    const bool valid = report.diagnostics.empty() && !tools_failed(tools);
    exit_code = valid ? kExitOk : kExitInvalid;
  });
}

}  // namespace fapo::cli
