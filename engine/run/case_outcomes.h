// Per-case outcomes of a run: its results file folded into one entry per case (a case has one
// result per trial), in the order of the run's plan, plus access to one case's full result
// line. These are the raw material of case listings and of split aggregates; which of them a
// caller may see is decided by case_access.h, not here.
//
// A case "failed" when any recorded trial scored below full marks (100) or could not be scored
// (an infrastructure or scorer failure): the question an optimiser asks of a case is whether it
// is already solved, and a scorer's composite score reaches 100 only when it is.
//
// Free functions over a RunStore; safe to call while the run is being written (only complete
// result lines are read) and from several threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/run/run_plan.h"
#include "engine/run/run_store.h"

namespace fapo {

inline constexpr double kFullMarks = 100.0;
// Final outputs kept per case; longer ones are cut (at a UTF-8 boundary).
inline constexpr std::size_t kMaxKeptOutputBytes = 4096;

struct CaseOutcome {
  std::string case_id;
  std::vector<std::optional<double>> trial_scores;  // by trial; nullopt: missing or unscored
  std::size_t results = 0;  // trials recorded
  std::size_t scored = 0;   // trials with a score
  double mean = 0;          // over scored trials
  bool failed = false;
  bool infrastructure_failure = false;  // in some trial
  bool scorer_failure = false;          // in some trial
  std::string final_output;  // of trial `output_trial`, at most kMaxKeptOutputBytes
  int output_trial = -1;     // the lowest trial recorded
  std::string error;         // the first error recorded for the case, if any
};

// One outcome per case of `plan` with at least one result, in plan order.
Result<std::vector<CaseOutcome>> read_case_outcomes(const RunStore& store, const RunPlan& plan);

// The result line of (case_id, trial). kNotFound when the case is not in the plan (the message
// suggests a close id), when the trial is out of range, or when it has no result yet.
Result<nlohmann::json> read_case_result(const RunStore& store, const RunPlan& plan,
                                        const std::string& case_id, int trial);

}  // namespace fapo
