// `fapo validate TENANT`: checks every file of a tenant and reports all problems at once.
#include <CLI/CLI.hpp>

#include <iostream>

#include "engine/run/tenant.h"
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

}  // namespace

void add_validate_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand("validate", "Check a tenant's files and report every problem");
  auto tenant = std::make_shared<std::string>();
  command->add_option("tenant", *tenant, "Tenant id (a directory under tenants/)")->required();
  command->add_flag("--json", options.json, "Print the report as JSON");
  command->callback([&options, &exit_code, tenant] {
    auto workspace = Workspace::open(options.workspace);
    if (!workspace.ok()) {
      exit_code = report_error(options, workspace.error());
      return;
    }
    TenantReport report = validate_tenant(*workspace, *tenant);
    if (options.json) {
      std::cout << report_json(report).dump(2) << "\n";
    } else {
      print_report(report);
    }
    exit_code = report.diagnostics.empty() ? kExitOk : kExitInvalid;
  });
}

}  // namespace fapo::cli
