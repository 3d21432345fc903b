// attribute: names, for each failed case of a run, the step that broke and why, groups the
// failures into clusters, recommends the level of the next change and estimates the ceiling of
// each level (engine/attribution/run_attribution.h). Train runs give everything; validation
// runs the same analysis as counts and shares only; test runs are refused (case_access.h).
//
// With `confirm: true` (train runs only) it also replays up to `max_cases` failed cases with the
// suspect step changed (engine/attribution/confirmation.h). That spends task-model calls, so the
// plan's estimate must fit the tenant's budget (the same check an evaluation passes) before any
// replay runs, and the calls spent are journaled as a budget entry.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/attribution/confirmation.h"
#include "engine/attribution/run_attribution.h"
#include "engine/budget/budget.h"
#include "engine/run/case_access.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultMaxAttributions = 40;
constexpr std::size_t kDefaultConfirmCases = 20;

constexpr std::string_view kDescription =
    "Finds, for each failed case of a run, the step that broke and why, from the case's "
    "expected values and the step trace: infrastructure, tool_failure (a tool call of an agent "
    "step failed: timeout, unknown_tool, invalid_arguments, permission, other, unavailable; "
    "clustered by kind and tool), tool_use (the agent called the wrong tool, missed a needed "
    "one, repeated a call, ran out of iterations or calls, or was not offered the tool), "
    "cascade (an empty step "
    "emptied what followed), retrieval_miss (no retrieved passage holds the evidence), "
    "dropped_evidence (a step had the evidence in its input and lost it), format (the answer "
    "is in the output but the scorer cannot read it), reasoning (the evidence reached the "
    "answering step and the answer is still wrong). Returns clusters by class, step and output "
    "pattern (empty, refusal_or_hedge, too_long, wrong_shape, wrong_content) with counts, "
    "shares and example case ids, the level each suggests (prompt, parameter, structural), "
    "the ceiling score each level could reach, and a recommended level for the next variant. "
    "Train runs: per-case attributions with their evidence (inspect them with get_case). "
    "Validation runs: counts and shares only. Test runs: refused. Cheap: reads the run, no "
    "model calls. Optional confirm: true (train runs only) checks the diagnosis by "
    "counterfactual replay of up to max_cases failed cases: retrieval misses rerun with the "
    "evidence supplied, other classes with the suspect step resampled; each cluster then "
    "reports replays tried, cases fixed and a confirmation rate (a low rate on a resampled "
    "step means the failure repeats on every draw: the step's prompt, not chance). "
    "Confirmation spends task-model calls (estimate in the result; refused when it does not "
    "fit the budget).";

std::string summarize(const json& report) {
  std::string top;
  if (!report["clusters"].empty()) {
    const json& cluster = report["clusters"][0];
    const std::string tool =
        cluster.contains("tool") ? ", tool " + cluster["tool"].get<std::string>() : "";
    top = fmt::format(" Largest cluster: {} at step '{}' ({}{}, {} cases).",
                      cluster["class"].get<std::string>(), cluster["step"].get<std::string>(),
                      cluster["pattern"].get<std::string>(), tool, cluster["count"].get<int>());
  }
  return fmt::format("Run {} ({}): {} of {} cases failed.{} Recommended level: {}.",
                     report["run_id"].get<std::string>(), report["split"].get<std::string>(),
                     report["failed_cases"].get<int>(), report["cases"].get<int>(), top,
                     report["recommended_level"].get<std::string>());
}

// Plans, budget-checks, runs and journals a confirmation; adds it to `result`. Returns a sentence
// for the summary, or an error that refuses the whole call before anything was spent.
Result<std::string> confirm(const json& arguments, ToolContext& context,
                            const RunAttribution& report, json& result) {
  FAPO_ASSIGN_OR_RETURN(std::shared_ptr<Laboratory> lab,
                        open_laboratory(context.server, arguments));
  // Its own load so the model sits behind the response cache, as an evaluation's does.
  FAPO_ASSIGN_OR_RETURN(Tenant tenant, load_tenant(lab->workspace(), report.tenant_id,
                                                   ModelOptions{CacheMode::kNormal, nullptr}));
  ConfirmationOptions options;
  options.max_cases = arguments.value("max_cases", kDefaultConfirmCases);
  options.cancelled = [&context] { return context.cancel.is_cancelled(); };
  options.progress = [&context](std::size_t done, std::size_t total) {
    context.progress.report(static_cast<double>(done), static_cast<double>(total),
                            fmt::format("replayed {} of {}", done, total));
  };
  FAPO_ASSIGN_OR_RETURN(ConfirmationPlan plan,
                        plan_confirmation(lab->workspace(), tenant, report, options));
  FAPO_ASSIGN_OR_RETURN(BudgetState budget, lab->budget_state());
  const EvaluationEstimate estimate{plan.estimated_calls, plan.estimated_tokens,
                                    plan.estimated_money};
  Status fits = check_fits(budget, estimate, Purpose::kTrain);
  if (!fits.ok()) {
    return make_error(fits.error().code,
                      fmt::format("Confirmation refused: replaying {} cases would make up to {} "
                                  "model calls, more than the budget allows ({}). Lower "
                                  "max_cases, or attribute without confirm.",
                                  plan.replays.size(), plan.estimated_calls,
                                  fits.error().message));
  }
  FAPO_ASSIGN_OR_RETURN(ConfirmationReport confirmation,
                        run_confirmation(tenant, report, plan, options));
  add_confirmation(result, report, confirmation);
  std::string sentence = fmt::format(
      " Confirmation: {} of {} replays fixed the case (rate {:.2f}), {} model calls spent{}.",
      confirmation.fixed, confirmation.replays, confirmation.rate(), confirmation.calls_spent,
      confirmation.cancelled ? " before cancellation" : "");
  auto journaled = lab->journal().append(
      "budget", "agent", report.variant_id, "counterfactual confirmation of an attribution",
      {{"purpose", "attribution_confirmation"},
       {"run_id", report.run_id},
       {"calls", confirmation.calls_spent},
       {"tokens", confirmation.tokens_in + confirmation.tokens_out}});
  if (!journaled.ok()) {
    sentence += " The spending could not be journaled: " + journaled.error().message;
  }
  return sentence;
}

ToolResult attribute(const json& arguments, ToolContext& context) {
  auto target = open_run(context.server, arguments, RunDetail::kAggregates, "Attribution");
  if (!target.ok()) return ToolResult::failure(target.error());
  AttributionOptions options;
  if (arguments.contains("failure_threshold")) {
    options.failure_threshold = arguments["failure_threshold"].get<double>();
  }
  options.max_examples = arguments.value("max_examples", std::size_t{5});
  auto report = attribute_run(target->workspace, target->tenant_id, target->run.run_id, options);
  if (!report.ok()) return ToolResult::failure(report.error());
  json result = to_json(*report, case_access_for(report->split));
  std::string confirmation;
  if (arguments.value("confirm", false)) {
    auto confirmed = confirm(arguments, context, *report, result);
    if (!confirmed.ok()) return ToolResult::failure(confirmed.error());
    confirmation = *confirmed;
  }
  const std::size_t limit = arguments.value("max_attributions", kDefaultMaxAttributions);
  if (result.contains("attributions") && result["attributions"].size() > limit) {
    const std::size_t omitted = result["attributions"].size() - limit;
    result["attributions"].erase(result["attributions"].begin() + static_cast<long>(limit),
                                 result["attributions"].end());
    result["attributions_omitted"] = omitted;
  }
  // Evidence quotes dataset and model text: data, stripped of control characters.
  sanitize_json_strings(result);
  std::string summary = summarize(result) + confirmation;
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_attribute_tool() {
  ToolSpec spec;
  spec.name = "attribute";
  spec.title = "Attribute a run's failures to steps";
  spec.description = std::string(kDescription);
  // Not read-only: confirm spends task-model budget and journals it.
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = attribute;
  return spec;
}

}  // namespace fapo::mcp
