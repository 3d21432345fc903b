// list_cases: the cases of a run, under the split access policy (engine/run/case_access.h).
// Train runs: a page of cases (id, score, failed flag, shortened final output), optionally only
// the failed ones. Validation runs: aggregates only (counts and means, by task type for groups
// of at least 5 cases), with the reason. Test runs: refused.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/run/case_access.h"
#include "engine/run/case_outcomes.h"
#include "engine/run/run_manager.h"
#include "mcp_server/output/cursor.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultLimit = 20;
constexpr std::size_t kMaxOutputChars = 200;

constexpr std::string_view kDescription =
    "Lists the cases of a run. For train runs: one page of cases, each with case_id, score "
    "(0-100, mean over trials), a failed flag (some trial below 100 or not scored) and the "
    "chain's final output, shortened; set failed_only to see only failures, and pass "
    "next_cursor back as cursor for the next page. For validation runs: aggregates only "
    "(counts and means overall and per task type; groups under 5 cases are not broken out), "
    "because validation decides whether a change is kept and its cases must stay unseen. Test "
    "runs are refused. Use it after a train run completes, then get_case on failed cases to see "
    "their step traces. Cheap: reads the run's results, no model calls.";

json case_json(const CaseOutcome& outcome, int trials) {
  json entry{{"case_id", outcome.case_id},
             {"score", outcome.scored > 0 ? json(outcome.mean) : json(nullptr)},
             {"failed", outcome.failed},
             {"final_output", truncate_text(sanitize_text(outcome.final_output), kMaxOutputChars)}};
  if (trials > 1) {
    json scores = json::array();
    for (const auto& score : outcome.trial_scores) scores.push_back(score ? json(*score) : json());
    entry["trial_scores"] = std::move(scores);
  }
  if (!outcome.error.empty()) entry["error"] = truncate_text(sanitize_text(outcome.error), 300);
  if (outcome.infrastructure_failure) entry["infrastructure_failure"] = true;
  return entry;
}

json aggregates_json(const RunAggregates& aggregates) {
  json groups = json::array();
  for (const GroupAggregate& group : aggregates.groups) {
    groups.push_back({{"task_type", group.name},
                      {"cases", group.cases},
                      {"failed_cases", group.failed_cases},
                      {"mean", group.mean}});
  }
  return json{{"cases", aggregates.cases},
              {"results", aggregates.results},
              {"scored", aggregates.scored},
              {"mean", aggregates.mean},
              {"failed_cases", aggregates.failed_cases},
              {"full_marks_cases", aggregates.full_marks_cases},
              {"infrastructure_failures", aggregates.infrastructure_failures},
              {"scorer_failures", aggregates.scorer_failures},
              {"by_task_type", std::move(groups)},
              {"unlisted_groups", aggregates.unlisted_groups},
              {"unlisted_cases", aggregates.unlisted_cases}};
}

ToolResult validation_aggregates(const Workspace& workspace, const RunPlan& plan,
                                 const std::vector<CaseOutcome>& outcomes, json result) {
  auto types = task_types_of(workspace, plan.tenant_id, plan.case_ids);
  if (!types.ok()) return ToolResult::failure(types.error());
  const RunAggregates aggregates = aggregate_outcomes(outcomes, *types);
  result["access"] = "aggregates_only";
  result["aggregates"] = aggregates_json(aggregates);
  result["reason"] = aggregates_only_reason();
  const std::string summary =
      fmt::format("Validation run {}: aggregates only. {} cases, mean {:.1f}, {} below full "
                  "marks. ",
                  plan.run_id, aggregates.cases, aggregates.mean, aggregates.failed_cases) +
      aggregates_only_reason();
  return ToolResult::success(std::move(result), summary);
}

ToolResult train_page(const json& arguments, const RunPlan& plan,
                      const std::vector<CaseOutcome>& outcomes, json result) {
  const bool failed_only = arguments.value("failed_only", false);
  std::vector<const CaseOutcome*> selected;
  std::size_t failed_total = 0;
  for (const CaseOutcome& outcome : outcomes) {
    failed_total += outcome.failed ? 1 : 0;
    if (!failed_only || outcome.failed) selected.push_back(&outcome);
  }
  std::optional<std::string> cursor;
  if (arguments.contains("cursor")) cursor = arguments["cursor"].get<std::string>();
  const std::string scope = "cases:" + plan.run_id + (failed_only ? ":failed" : ":all");
  auto page = page_bounds(cursor, scope, selected.size(), arguments.value("limit", kDefaultLimit));
  if (!page.ok()) return ToolResult::failure(page.error());
  json cases = json::array();
  for (std::size_t i = page->begin; i < page->end; ++i) {
    cases.push_back(case_json(*selected[i], plan.trials));
  }
  result["access"] = "full";
  result["cases"] = std::move(cases);
  result["total"] = selected.size();
  result["failed_total"] = failed_total;
  result["recorded_cases"] = outcomes.size();
  result["plan_cases"] = plan.case_ids.size();
  if (page->next_cursor) result["next_cursor"] = *page->next_cursor;
  std::string summary = std::to_string(failed_total) + " of " + std::to_string(outcomes.size()) +
                        " cases failed in run " + plan.run_id + "; showing " +
                        std::to_string(page->end - page->begin) + " of " +
                        std::to_string(selected.size()) + (failed_only ? " failed" : "") +
                        " cases" + (page->next_cursor ? " (more with next_cursor)." : ".");
  if (outcomes.size() < plan.case_ids.size()) {
    summary += " The run has results for " + std::to_string(outcomes.size()) + " of " +
               std::to_string(plan.case_ids.size()) + " cases so far.";
  }
  return ToolResult::success(std::move(result), summary);
}

ToolResult list_cases(const json& arguments, ToolContext& context) {
  auto target = open_run(context.server, arguments, RunDetail::kAggregates, "Cases");
  if (!target.ok()) return ToolResult::failure(target.error());
  const Workspace* workspace = &target->workspace;
  const std::string& tenant_id = target->tenant_id;
  const RunSnapshot* run = &target->run;
  RunStore store(*workspace, tenant_id);
  auto plan = store.load_plan(run->run_id);
  if (!plan.ok()) return ToolResult::failure(plan.error());
  auto outcomes = read_case_outcomes(store, *plan);
  if (!outcomes.ok()) return ToolResult::failure(outcomes.error());
  json result{{"run_id", run->run_id}, {"split", run->split}, {"state", run_state_name(run->state)}};
  if (case_access_for(run->split) == CaseAccess::kAggregatesOnly) {
    return validation_aggregates(*workspace, *plan, *outcomes, std::move(result));
  }
  return train_page(arguments, *plan, *outcomes, std::move(result));
}

}  // namespace

ToolSpec make_list_cases_tool() {
  ToolSpec spec;
  spec.name = "list_cases";
  spec.title = "List a run's cases";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = list_cases;
  return spec;
}

}  // namespace fapo::mcp
