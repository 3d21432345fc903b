// `fapo attribute TENANT RUN [--threshold X] [--examples N] [--cases] [--confirm [--max-cases N]]
// [--json]`: attributes the failed cases of a run to steps and prints the clusters, ceilings and
// recommended level. Train runs also list each failed case with its evidence; validation runs
// show counts and shares only, the same rule the MCP tools apply. --confirm (train runs only)
// replays failed cases by counterfactual (engine/attribution/confirmation.h): it prints the
// estimate first, refuses when the tenant's budget cannot pay, and journals what it spent,
// exactly as the MCP tool does.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "engine/attribution/confirmation.h"
#include "engine/attribution/run_attribution.h"
#include "engine/budget/budget.h"
#include "engine/protocol/laboratory.h"
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
  bool confirm = false;
  std::size_t max_cases = 20;
};

std::string confirmation_cell(const json& cluster) {
  if (!cluster.contains("confirmation")) return "";
  const json& result = cluster["confirmation"];
  if (result["replays"].get<int>() == 0) return "not replayed";
  return fmt::format("{}/{} fixed ({})", result["fixed"].get<int>(),
                     result["replays"].get<int>(), result["method"].get<std::string>());
}

void print_clusters(const json& report) {
  std::cout << fmt::format("\n  {:<17} {:<12} {:<26} {:>5} {:>7}  {:<10} {}\n", "class",
                           "step", "pattern", "count", "share", "level",
                           report["access"] == "full" ? "examples" : "");
  for (const json& cluster : report["clusters"]) {
    std::string examples;
    if (cluster.contains("example_case_ids")) {
      examples = join(cluster["example_case_ids"].get<std::vector<std::string>>(), ", ");
    }
    if (cluster.contains("confirmation")) examples = confirmation_cell(cluster) + "  " + examples;
    // Tool clusters read "timeout get-sum": the pattern, then the tool concerned.
    std::string pattern = cluster["pattern"].get<std::string>();
    if (cluster.contains("tool")) pattern += " " + cluster["tool"].get<std::string>();
    std::cout << fmt::format("  {:<17} {:<12} {:<26} {:>5} {:>6.1f}%  {:<10} {}\n",
                             cluster["class"].get<std::string>(),
                             cluster["step"].get<std::string>(), pattern,
                             cluster["count"].get<int>(),
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
  if (report.contains("confirmation")) {
    const json& confirmation = report["confirmation"];
    std::cout << fmt::format("\n  confirmation by replay: {} of {} replays fixed the case (rate "
                             "{:.2f}); {} model calls spent{}\n",
                             confirmation["fixed"].get<int>(), confirmation["replays"].get<int>(),
                             confirmation["rate"].get<double>(),
                             confirmation["calls_spent"].get<long long>(),
                             confirmation.value("cancelled", false) ? " (cancelled)" : "");
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

// Plans, checks against the budget, runs and journals a confirmation, as the MCP tool does.
Status confirm(const Workspace& workspace, const RunAttribution& report, std::size_t max_cases,
               bool quiet, json& out) {
  FAPO_ASSIGN_OR_RETURN(std::unique_ptr<Laboratory> lab,
                        Laboratory::open(workspace, report.tenant_id));
  FAPO_ASSIGN_OR_RETURN(Tenant tenant, load_tenant(workspace, report.tenant_id,
                                                   ModelOptions{CacheMode::kNormal, nullptr}));
  ConfirmationOptions options;
  options.max_cases = max_cases;
  FAPO_ASSIGN_OR_RETURN(ConfirmationPlan plan,
                        plan_confirmation(workspace, tenant, report, options));
  if (!quiet) {
    std::cerr << fmt::format("confirming {} failed cases: up to {} model calls\n",
                             plan.replays.size(), plan.estimated_calls);
  }
  FAPO_ASSIGN_OR_RETURN(BudgetState budget, lab->budget_state());
  FAPO_RETURN_IF_ERROR(check_fits(
      budget, EvaluationEstimate{plan.estimated_calls, plan.estimated_tokens,
                                 plan.estimated_money},
      Purpose::kTrain));
  FAPO_ASSIGN_OR_RETURN(ConfirmationReport confirmation,
                        run_confirmation(tenant, report, plan, options));
  add_confirmation(out, report, confirmation);
  auto journaled = lab->journal().append(
      "budget", "cli", report.variant_id, "counterfactual confirmation of an attribution",
      {{"purpose", "attribution_confirmation"},
       {"run_id", report.run_id},
       {"calls", confirmation.calls_spent},
       {"tokens", confirmation.tokens_in + confirmation.tokens_out}});
  if (!journaled.ok()) return journaled.error();
  return ok_status();
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
  command->add_flag("--confirm", args->confirm,
                    "Train runs: confirm by counterfactual replay (spends task-model calls)");
  command->add_option("--max-cases", args->max_cases,
                      "With --confirm: failed cases replayed at most (default 20)")
      ->check(CLI::Range(1, 1000));
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
    if (args->confirm) {
      Status confirmed = confirm(*workspace, *report, args->max_cases, options.json, out);
      if (!confirmed.ok()) {
        exit_code = report_error(options, confirmed.error());
        return;
      }
    }
    if (options.json) {
      std::cout << out.dump(2) << "\n";
    } else {
      print_report(out, args->cases);
    }
    exit_code = kExitOk;
  });
}

}  // namespace fapo::cli
