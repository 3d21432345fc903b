#include "mcp_server/resources/run_report.h"

#include <fmt/format.h>

#include "engine/base/strings.h"
#include "engine/run/case_access.h"
#include "engine/run/case_outcomes.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"

namespace fapo::mcp {
namespace {

constexpr std::size_t kMaxFailedCasesListed = 25;
constexpr std::size_t kMaxOutputChars = 100;

// Table cells hold model output: keep them on one line and free of the table's delimiter.
std::string cell(const std::string& text) {
  std::string out = truncate_text(sanitize_text(text), kMaxOutputChars);
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == '|') c = '/';
  }
  return out;
}

std::string overview(const RunSnapshot& run) {
  const int trials = std::max(run.trials, 1);
  std::string text = fmt::format(
      "# Run {} of tenant {}\n\n| | |\n|---|---|\n| split | {} |\n| state | {} |\n"
      "| variant | {} |\n| cases x trials | {} x {} |\n| results | {} of {} |\n",
      run.run_id, run.tenant_id, run.split, run_state_name(run.state),
      run.variant_id.substr(0, 16), run.total / static_cast<std::size_t>(trials), trials,
      run.done, run.total);
  if (!run.summary) {
    return text + fmt::format("| running mean | {:.2f} |\n", run.mean);
  }
  const RunSummary& s = *run.summary;
  std::vector<std::string> trial_means;
  for (double mean : s.trial_means) trial_means.push_back(fmt::format("{:.2f}", mean));
  text += fmt::format(
      "| mean | {:.2f} +/- {:.2f} (s.e.) |\n| trial means | {} |\n| infrastructure failures | "
      "{} (excluded from the mean) |\n| scorer failures | {} |\n| model | {} |\n"
      "| model calls / tokens in / out | {} / {} / {} |\n| cost | {:.4f} |\n| wall time | {:.1f} s |\n",
      s.mean, s.standard_error, join(trial_means, ", "),
      s.infrastructure_failures, s.scorer_failures,
      s.model_provider == "sim" ? "sim (SIMULATED model)" : s.model_provider, s.model_calls,
      s.tokens_in, s.tokens_out, s.cost, s.wall_seconds);
  if (!s.breakdown_means.empty()) {
    text += "\n## Score breakdown (means)\n\n";
    for (const auto& [name, mean] : s.breakdown_means) {
      text += fmt::format("- {}: {:.3f}\n", name, mean);
    }
  }
  return text;
}

std::string failed_cases(const std::vector<CaseOutcome>& outcomes) {
  std::size_t failed = 0;
  std::string rows;
  for (const CaseOutcome& outcome : outcomes) {
    if (!outcome.failed) continue;
    if (++failed > kMaxFailedCasesListed) continue;
    rows += fmt::format("| {} | {} | {} |\n", cell(outcome.case_id),
                        outcome.scored ? fmt::format("{:.1f}", outcome.mean) : "not scored",
                        cell(outcome.final_output));
  }
  std::string text = fmt::format("\n## Failed cases ({} of {})\n\n", failed, outcomes.size());
  if (failed == 0) return text + "None.\n";
  text += "| case | score | final output |\n|---|---|---|\n" + rows;
  if (failed > kMaxFailedCasesListed) {
    text += fmt::format("\n{} more: list_cases with failed_only pages through all of them.\n",
                        failed - kMaxFailedCasesListed);
  }
  return text + "\nget_case shows a case's step trace.\n";
}

std::string aggregates(const RunAggregates& a) {
  std::string text = fmt::format(
      "\n## Aggregates (validation: no individual case is shown)\n\n{} cases, mean {:.2f}, {} "
      "below full marks, {} at full marks.\n",
      a.cases, a.mean, a.failed_cases, a.full_marks_cases);
  if (!a.groups.empty()) {
    text += "\n| task type | cases | below full marks | mean |\n|---|---|---|---|\n";
    for (const GroupAggregate& group : a.groups) {
      text += fmt::format("| {} | {} | {} | {:.2f} |\n", cell(group.name), group.cases,
                          group.failed_cases, group.mean);
    }
  }
  if (a.unlisted_groups > 0) {
    text += fmt::format("\n{} task types with fewer than {} cases ({} cases) are not broken out.\n",
                        a.unlisted_groups, kMinGroupCases, a.unlisted_cases);
  }
  return text + "\n" + aggregates_only_reason() + "\n";
}

}  // namespace

Result<std::string> run_report_markdown(const Workspace& workspace, RunManager& runs,
                                        const std::string& tenant_id, const std::string& run_id) {
  FAPO_ASSIGN_OR_RETURN(RunSnapshot run, runs.snapshot(tenant_id, run_id));
  FAPO_RETURN_IF_ERROR(check_aggregate_access(run.split, "Reports"));
  RunStore store(workspace, tenant_id);
  FAPO_ASSIGN_OR_RETURN(RunPlan plan, store.load_plan(run_id));
  FAPO_ASSIGN_OR_RETURN(std::vector<CaseOutcome> outcomes, read_case_outcomes(store, plan));
  std::string text = overview(run);
  if (!run.error.empty()) text += "\nError: " + cell(run.error) + "\n";
  if (case_access_for(run.split) == CaseAccess::kFull) {
    text += failed_cases(outcomes);
  } else {
    FAPO_ASSIGN_OR_RETURN(auto types, task_types_of(workspace, tenant_id, plan.case_ids));
    text += aggregates(aggregate_outcomes(outcomes, types));
  }
  return text;
}

}  // namespace fapo::mcp
