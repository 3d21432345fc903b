#include "engine/run/case_access.h"

#include <unordered_set>

#include "engine/base/diagnostic.h"
#include "engine/data/dataset.h"

namespace fapo {

namespace {

constexpr std::string_view kTrain = "train";
constexpr std::string_view kValidation = "validation";

std::string test_refusal(std::string_view what) {
  return std::string(what) +
         " of test runs are not available: the test split is evaluated once, at the end, "
         "through final_test, so that its score stays an unbiased estimate of the chosen "
         "pipeline. Optimise on train and compare on validation.";
}

}  // namespace

CaseAccess case_access_for(std::string_view split) {
  if (split == kTrain) return CaseAccess::kFull;
  if (split == kValidation) return CaseAccess::kAggregatesOnly;
  return CaseAccess::kNone;
}

std::string aggregates_only_reason() {
  return "Validation runs decide whether a change is kept, so their cases stay unseen: only "
         "means and counts are shown (groups under " +
         std::to_string(kMinGroupCases) +
         " cases are not broken out). Inspect individual cases on a train run.";
}

Status check_case_access(std::string_view split, std::string_view what) {
  switch (case_access_for(split)) {
    case CaseAccess::kFull:
      return ok_status();
    case CaseAccess::kAggregatesOnly:
      return make_error(ErrorCode::kInvalidInput,
                        std::string(what) + " of validation runs are not available. " +
                            aggregates_only_reason());
    case CaseAccess::kNone:
      break;
  }
  if (split != "test") {
    return make_error(ErrorCode::kInvalidInput,
                      "run has unknown split '" + std::string(split) + "'; nothing is shown");
  }
  return make_error(ErrorCode::kInvalidInput, test_refusal(what));
}

Status check_aggregate_access(std::string_view split, std::string_view what) {
  if (case_access_for(split) != CaseAccess::kNone) return ok_status();
  return check_case_access(split, what);
}

RunAggregates aggregate_outcomes(const std::vector<CaseOutcome>& outcomes,
                                 const std::map<std::string, std::string>& group_of) {
  RunAggregates aggregates;
  double sum = 0;
  std::size_t with_score = 0;
  struct Group {
    std::size_t cases = 0, failed = 0, scored = 0;
    double sum = 0;
  };
  std::map<std::string, Group> groups;
  for (const CaseOutcome& outcome : outcomes) {
    ++aggregates.cases;
    aggregates.results += outcome.results;
    aggregates.scored += outcome.scored;
    aggregates.failed_cases += outcome.failed ? 1 : 0;
    aggregates.full_marks_cases += outcome.failed ? 0 : 1;
    aggregates.infrastructure_failures += outcome.infrastructure_failure ? 1 : 0;
    aggregates.scorer_failures += outcome.scorer_failure ? 1 : 0;
    auto name = group_of.find(outcome.case_id);
    Group& group = groups[name != group_of.end() ? name->second : "unknown"];
    ++group.cases;
    group.failed += outcome.failed ? 1 : 0;
    if (outcome.scored > 0) {
      sum += outcome.mean;
      ++with_score;
      group.sum += outcome.mean;
      ++group.scored;
    }
  }
  aggregates.mean = with_score ? sum / static_cast<double>(with_score) : 0;
  for (const auto& [name, group] : groups) {
    if (group.cases < kMinGroupCases) {
      ++aggregates.unlisted_groups;
      aggregates.unlisted_cases += group.cases;
      continue;
    }
    aggregates.groups.push_back(GroupAggregate{
        name, group.cases, group.failed,
        group.scored ? group.sum / static_cast<double>(group.scored) : 0});
  }
  return aggregates;
}

Result<std::map<std::string, std::string>> task_types_of(
    const Workspace& workspace, const std::string& tenant_id,
    const std::vector<std::string>& case_ids) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  const std::unordered_set<std::string> wanted(case_ids.begin(), case_ids.end());
  std::map<std::string, std::string> types;
  const std::string shown = "tenants/" + tenant_id + "/dataset.jsonl";
  Diagnostics problems =
      read_dataset(workspace.tenant_dir(tenant_id) / "dataset.jsonl", shown, [&](Case&& item) {
        if (wanted.count(item.case_id)) types[item.case_id] = item.task_type;
      });
  if (!problems.empty()) return diagnostics_error(problems);
  return types;
}

}  // namespace fapo
