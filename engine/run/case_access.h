// Split access: what a caller may learn about the cases of a run, decided by the run's split.
// This is the guardrail that keeps validation and test scores honest (DESIGN.md §11):
//
//   train       everything: case inputs, expected values, outputs, step traces;
//   validation  aggregates only: means and counts, with groups smaller than kMinGroupCases
//               folded together so that no small group identifies its cases;
//   test        nothing: the test split is evaluated once, through final_test.
//
// The server applies this policy to every surface that shows run contents (tools and
// resources); the engine owns it so that every front end applies the same rule. Free functions
// and plain values; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/run/case_outcomes.h"
#include "engine/run/workspace.h"

namespace fapo {

enum class CaseAccess { kFull, kAggregatesOnly, kNone };

// An unknown split name gets kNone: access is granted, never assumed.
CaseAccess case_access_for(std::string_view split);

// Groups (e.g. task types) with fewer cases than this are not broken out in aggregates.
inline constexpr std::size_t kMinGroupCases = 5;

// Why validation runs give aggregates only; one or two sentences for messages.
std::string aggregates_only_reason();

// Ok for train runs. Otherwise kInvalidInput saying that `what` (e.g. "per-case results") of a
// run on `split` is not available and why: validation gives aggregates only, test is reachable
// only through final_test.
Status check_case_access(std::string_view split, std::string_view what);

// Ok unless `split` is test: aggregates of validation runs may be shown, nothing of test runs.
Status check_aggregate_access(std::string_view split, std::string_view what);

struct GroupAggregate {
  std::string name;
  std::size_t cases = 0;
  std::size_t failed_cases = 0;
  double mean = 0;  // of the cases' means over scored trials
};

struct RunAggregates {
  std::size_t cases = 0;    // cases with at least one result
  std::size_t results = 0;  // (case, trial) results
  std::size_t scored = 0;
  std::size_t failed_cases = 0;
  std::size_t full_marks_cases = 0;
  std::size_t infrastructure_failures = 0;  // cases with one in some trial
  std::size_t scorer_failures = 0;          // cases with one in some trial
  double mean = 0;                          // over cases with a score
  std::vector<GroupAggregate> groups;  // each with at least kMinGroupCases cases, by name
  std::size_t unlisted_groups = 0;     // groups too small to break out...
  std::size_t unlisted_cases = 0;      // ...and their cases, counted together
};

// Aggregates of `outcomes`, grouped by `group_of` (case id -> group name; cases missing from
// it are grouped as "unknown").
RunAggregates aggregate_outcomes(const std::vector<CaseOutcome>& outcomes,
                                 const std::map<std::string, std::string>& group_of);

// case id -> task_type for the given cases, read from the tenant's dataset. Cases no longer in
// the dataset are left out. kInvalidInput when the dataset cannot be read.
Result<std::map<std::string, std::string>> task_types_of(const Workspace& workspace,
                                                         const std::string& tenant_id,
                                                         const std::vector<std::string>& case_ids);

}  // namespace fapo
