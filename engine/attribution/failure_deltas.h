// Failure counts of two sides of a comparison, side by side: how many failed cases each class,
// and each class at each step, had in the candidate's runs and in the incumbent's, and the
// difference. It tells a comparison report where a candidate fixed failures and where it broke
// new ones, without naming a case, so it may be shown for validation runs. On splits other than
// train, (class, step) rows where neither side reaches kMinGroupCases failures are folded into
// one "other" row per class, the rule every aggregate of those splits follows.
//
// Free function; reads the run store and the tenant's files, so it is safe to call from several
// threads.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/run/workspace.h"

namespace fapo {

// Attributes every run (default threshold: the scorer's maximum) and returns
//   {"split", "candidate": {"runs", "cases", "failed_cases"}, "incumbent": {...},
//    "classes": [{"class", "candidate", "incumbent", "delta"}],
//    "steps": [{"class", "step", "candidate", "incumbent", "delta"}]}
// where a side's "cases" and "failed_cases" are totals over its runs, the rows' numbers are
// failed cases per run (totals divided by the side's runs, so sides with different numbers of
// runs compare), and delta = candidate - incumbent (negative: the candidate fails less). Rows
// with no failure on either side are left out.
// kInvalidInput when a side has no run, the runs are not all on one split, or a run is on the
// test split; kNotFound for an unknown run.
Result<nlohmann::json> failure_count_deltas(const Workspace& workspace,
                                            const std::string& tenant_id,
                                            const std::vector<std::string>& candidate_run_ids,
                                            const std::vector<std::string>& incumbent_run_ids);

}  // namespace fapo
