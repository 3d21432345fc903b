// `fapo attribute TENANT RUN [--threshold X] [--examples N] [--json]`: attributes the failed
// cases of a run to steps and prints the clusters, ceilings and recommended level. Train runs
// also list each failed case with its evidence; validation runs show counts and shares only,
// the same rule the MCP tools apply.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "engine/attribution/run_attribution.h"
#include "engine/base/strings.h"
#include "mcp_server/cli/cli.h"

namespace fapo::cli {
namespace {

using nlohmann::json;

struct AttributeArguments {
  std::string tenant_id;
  std::string run_id;
  double threshold = -1;  // < 0: the scorer's maximum
  std::size_t examples = 5;
  bool cases = false;
};

void print_clusters(const json& report) {
  std::cout << fmt::format("\n  {:<17} {:<12} {:<17} {:>5} {:>7}  {:<10} {}\n", "class",
                           "step", "pattern", "count", "share", "level",
                           report["access"] == "full" ? "examples" : "");
  for (const json& cluster : report["clusters"]) {
    std::string examples;
    if (cluster.contains("example_case_ids")) {
      examples = join(cluster["example_case_ids"].get<std::vector<std::string>>(), ", ");
    }
    std::cout << fmt::format("  {:<17} {:<12} {:<17} {:>5} {:>6.1f}%  {:<10} {}\n",
                             cluster["class"].get<std::string>(),
                             cluster["step"].get<std::string>(),
                             cluster["pattern"].get<std::string>(), cluster["count"].get<int>(),
                             100 * cluster["share"].get<double>(),
                             cluster["level"].get<std::string>(), examples);
  }
  if (report.value("unlisted_failures", 0) > 0) {
    std::cout << fmt::format("  ... {} more failures in {} clusters of fewer than 5 cases\n",
                             report["unlisted_failures"].get<int>(),
                             report["unlisted_clusters"].get<int>());
  }
}

void print_report(const json& report, bool cases) {
  std::cout << fmt::format("run {} of {} ({} split{}): {} cases, mean {:.1f}, {} failed\n",
                           report["run_id"].get<std::string>(),
                           report["tenant_id"].get<std::string>(),
                           report["split"].get<std::string>(),
                           report.value("simulated", false) ? ", simulated model" : "",
                           report["cases"].get<int>(), report["mean"].get<double>(),
                           report["failed_cases"].get<int>());
  print_clusters(report);
  std::cout << "\n  ceilings if every failure a level addresses were fixed:\n";
  for (const json& ceiling : report["ceilings"]) {
    std::cout << fmt::format("    {:<10} {:>3} failures  ceiling {:>5.1f}  with lower levels "
                             "{:>5.1f}\n",
                             ceiling["level"].get<std::string>(),
                             ceiling["addressable"].get<int>(), ceiling["ceiling"].get<double>(),
                             ceiling["cumulative_ceiling"].get<double>());
  }
  std::cout << "\n  recommended level: " << report["recommended_level"].get<std::string>()
            << "\n  " << report["recommendation"].get<std::string>() << "\n";
  if (!cases || !report.contains("attributions")) return;
  std::cout << "\n  failed cases:\n";
  for (const json& item : report["attributions"]) {
    std::cout << fmt::format("    {} (trial {}): {} at '{}', {}, confidence {:.2f}\n",
                             item["case_id"].get<std::string>(), item["trial"].get<int>(),
                             item["class"].get<std::string>(), item["step"].get<std::string>(),
                             item["pattern"].get<std::string>(),
                             item["confidence"].get<double>());
    for (const json& line : item["evidence"]) {
      std::cout << "      - " << line.get<std::string>() << "\n";
    }
  }
}

}  // namespace

void add_attribute_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand(
      "attribute", "Attribute a run's failed cases to the steps that broke, with clusters, "
                   "ceilings and a recommended level of change");
  auto args = std::make_shared<AttributeArguments>();
  command->add_option("tenant", args->tenant_id, "Tenant id")->required();
  command->add_option("run", args->run_id, "Run id (a train or validation run)")->required();
  command->add_option("--threshold", args->threshold,
                      "A case fails below this score (default: the scorer's maximum)")
      ->check(CLI::Range(0.0, 100.0));
  command->add_option("--examples", args->examples, "Example case ids per cluster (default 5)")
      ->check(CLI::Range(0, 50));
  command->add_flag("--cases", args->cases, "Also list every failed case with its evidence");
  command->add_flag("--json", options.json, "Print the report as JSON");
  command->callback([&options, &exit_code, args] {
    auto workspace = Workspace::open(options.workspace);
    if (!workspace.ok()) {
      exit_code = report_error(options, workspace.error());
      return;
    }
    AttributionOptions settings;
    if (args->threshold >= 0) settings.failure_threshold = args->threshold;
    settings.max_examples = args->examples;
    auto report = attribute_run(*workspace, args->tenant_id, args->run_id, settings);
    if (!report.ok()) {
      exit_code = report_error(options, report.error());
      return;
    }
    json out = to_json(*report, case_access_for(report->split));
    if (options.json) {
      std::cout << out.dump(2) << "\n";
    } else {
      print_report(out, args->cases);
    }
    exit_code = kExitOk;
  });
}

}  // namespace fapo::cli
