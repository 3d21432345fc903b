// budget: the tenant's budget caps next to what its runs have spent (engine/run/spending.h),
// what remains after the final-test reserve, and a rough count of validation runs that still
// fit. Read-only: the caps are reported, not enforced, until variants and the journal exist.

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/data/splits.h"
#include "engine/data/tenant_config.h"
#include "engine/run/spending.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr char kNote[] =
    "Spending is tallied from the runs on disk. The caps are not enforced yet: evaluate does "
    "not refuse a run for budget reasons. Enforcement (estimates before each run, refusals, "
    "variant counts) comes with variants and the journal; until then, keep within the caps "
    "yourself.";

constexpr std::string_view kDescription =
    "Shows a tenant's budget: the caps from tenant.json (task-model calls, tokens, money, "
    "variants, validation evaluations, the reserve kept for the final test), what the tenant's "
    "runs have spent so far (model calls, tokens, money, runs per split), what remains, and "
    "about how many more validation runs fit. Use it before starting validation runs or many "
    "trials. Read-only; caps are reported but not yet enforced. Cheap: reads run manifests, no "
    "model calls.";

// Cap minus spending, after keeping `reserve` of the cap for the final test; never below 0.
std::int64_t remaining(std::int64_t cap, std::int64_t spent, double reserve) {
  const double usable = static_cast<double>(cap) * (1.0 - reserve);
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(usable)) - spent);
}

// Validation runs at the acceptance trials that fit in the remaining calls and evaluations.
json estimate_json(const Workspace& workspace, const TenantConfig& config, const Spending& spent,
                   std::int64_t calls_left, std::int64_t evaluations_left) {
  json estimate{{"validation_runs_left", nullptr}, {"basis", ""}};
  const fs::path dir = workspace.tenant_dir(config.tenant_id);
  auto manifest = build_split_manifest(dir / "dataset.jsonl",
                                       "tenants/" + config.tenant_id + "/dataset.jsonl",
                                       config.splits, dir);
  if (spent.results == 0 || spent.model_calls == 0 || !manifest.ok()) {
    estimate["basis"] = "no run has measured the model calls per case yet";
    return estimate;
  }
  const double calls_per_result =
      static_cast<double>(spent.model_calls) / static_cast<double>(spent.results);
  const double calls_per_run = calls_per_result *
                               static_cast<double>(manifest->validation.size()) *
                               static_cast<double>(config.acceptance.trials);
  const auto by_calls = static_cast<std::int64_t>(static_cast<double>(calls_left) / calls_per_run);
  estimate["validation_runs_left"] = std::min(by_calls, evaluations_left);
  estimate["basis"] = fmt::format(
      "{:.2f} model calls per case so far x {} validation cases x {} trials = about {:.0f} calls "
      "per validation run",
      calls_per_result, manifest->validation.size(), config.acceptance.trials, calls_per_run);
  return estimate;
}

ToolResult budget(const json& arguments, ToolContext& context) {
  auto workspace = open_tenant(context.server, arguments);
  if (!workspace.ok()) return ToolResult::failure(workspace.error());
  const std::string tenant_id = arguments["tenant_id"];
  const std::string display = "tenants/" + tenant_id + "/tenant.json";
  auto config = load_tenant_config(workspace->tenant_dir(tenant_id) / "tenant.json", display);
  if (!config.ok()) {
    return failure_with_hint(config.error(), "validate_tenant lists every problem at once.");
  }
  const TaskModelConfig& model = config->task_model;
  auto spent = tally_spending(*workspace, tenant_id, model.prices);
  if (!spent.ok()) return ToolResult::failure(spent.error());

  const BudgetConfig& caps = config->budget;
  const double reserve = caps.final_test_reserve;
  const auto validation_runs = static_cast<std::int64_t>(spent->runs_by_split["validation"]);
  const std::int64_t tokens = spent->tokens_in + spent->tokens_out;
  const std::int64_t calls_left = remaining(caps.task_calls, spent->model_calls, reserve);
  const std::int64_t evaluations_left =
      std::max<std::int64_t>(0, caps.validation_evaluations - validation_runs);
  json money_left = nullptr;
  if (caps.task_money > 0) money_left = std::max(0.0, caps.task_money * (1 - reserve) - spent->cost);

  json result{
      {"tenant_id", tenant_id},
      {"enforced", false},
      {"note", kNote},
      {"limits", {{"task_calls", caps.task_calls}, {"task_tokens", caps.task_tokens},
                  {"task_money", caps.task_money}, {"variants", caps.variants},
                  {"validation_evaluations", caps.validation_evaluations},
                  {"final_test_reserve", reserve}}},
      {"spent", {{"model_calls", spent->model_calls}, {"tokens", tokens},
                 {"tokens_in", spent->tokens_in}, {"tokens_out", spent->tokens_out},
                 {"money", spent->cost}, {"runs", spent->runs},
                 {"runs_by_split", spent->runs_by_split},
                 {"validation_evaluations", validation_runs},
                 {"unreadable_runs", spent->unreadable_runs}}},
      {"remaining", {{"task_calls", calls_left},
                     {"task_tokens", remaining(caps.task_tokens, tokens, reserve)},
                     {"task_money", money_left},
                     {"validation_evaluations", evaluations_left}}},
      {"model", {{"provider", model.provider}, {"simulated", model.provider == "sim"},
                 {"input_per_mtok", model.prices.input_per_mtok},
                 {"output_per_mtok", model.prices.output_per_mtok}}},
      {"estimate", estimate_json(*workspace, *config, *spent, calls_left, evaluations_left)}};
  std::string summary = fmt::format(
      "Tenant {}: {} run{} spent {} model calls, {} tokens, {:.4f} money{}; {} calls and {} "
      "validation evaluations remain after the final-test reserve. Caps are not enforced yet.",
      tenant_id, spent->runs, spent->runs == 1 ? "" : "s", spent->model_calls, tokens, spent->cost,
      model.provider == "sim" ? " (simulated model: free)" : "", calls_left, evaluations_left);
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_budget_tool() {
  ToolSpec spec;
  spec.name = "budget";
  spec.title = "Show the budget";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = budget;
  return spec;
}

}  // namespace fapo::mcp
