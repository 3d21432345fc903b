// Comparison of two variants of a tenant on one split, from the runs already on disk: the
// referee that decides whether a candidate replaces the incumbent (DESIGN.md §10).
//
// Every complete run of each variant on the split is used, all of its trials (no picking the
// lucky re-run). Each case's score is averaged over all trials of a variant, and the analysis
// works on the per-case differences over the cases both variants share (statistics.h). The
// comparison is refused (kConflict, naming the dimension) unless it is controlled: the same
// cases, scorer, model settings, dataset, split fingerprint and simulated-model rules in every
// run of both variants (everything the run plan records in "settings" except the pipeline
// hash), and at least acceptance.trials trials of each variant.
//
// A case with an infrastructure failure (a model call that failed after retries) in any trial
// of either variant is left out of the comparison, as is a case the scorer could not score;
// both are counted and named in the report, never scored as 0.
//
// Acceptance: the mean difference is at least acceptance.min_effect, and it is significant at
// acceptance.confidence: the one-sided sign-flip p-value is below 1 - confidence and the
// bootstrap interval's lower bound is above 0.
//
// Free functions; they only read the run store, so they are safe to call from several threads
// and while other runs are being written (runs that are not complete are ignored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/data/tenant_config.h"
#include "engine/run/workspace.h"

namespace fapo {

struct CompareRequest {
  std::string tenant_id;
  std::string candidate_id;  // variant ids (pipeline content hashes)
  std::string incumbent_id;
  std::string split;  // "train", "validation" or "test"
  AcceptanceConfig acceptance;
  std::uint64_t seed = 0;  // of the bootstrap and the sign-flip test
};

// What one side of a comparison used.
struct ComparedVariant {
  std::string variant_id;
  std::vector<std::string> run_ids;  // oldest first
  int trials = 0;                    // summed over the runs
  double mean = 0;                   // over the compared cases, all trials
  std::vector<double> trial_means;   // one per (run, trial), over the compared cases
};

struct Comparison {
  std::string tenant_id;
  std::string split;
  ComparedVariant candidate;
  ComparedVariant incumbent;
  bool accepted = false;
  std::string reason;  // one readable sentence (two when cases were left out)
  double mean_difference = 0;  // candidate - incumbent, composite points
  double ci_low = 0;
  double ci_high = 0;
  double p_value = 1;
  double noise_floor = 0;  // statistics.h: pooled spread of per-trial means
  double min_effect = 0;
  double confidence = 0;
  std::size_t cases = 0;  // compared (shared, scored in every trial by both)
  std::size_t improved = 0;
  std::size_t regressed = 0;
  std::size_t unchanged = 0;
  std::size_t excluded_infrastructure = 0;  // cases left out for infrastructure failures
  std::size_t excluded_unscored = 0;        // cases left out for scorer failures
  std::map<std::string, double> breakdown_deltas;  // per breakdown key: mean difference
  std::uint64_t seed = 0;
};

Result<Comparison> compare_variants(const Workspace& workspace, const CompareRequest& request);

// Trials of `variant_id` on `split` in complete runs (0 when none). Lets a caller see how many
// more trials a comparison needs before asking for it.
Result<int> trials_available(const Workspace& workspace, const std::string& tenant_id,
                             const std::string& variant_id, const std::string& split);

// {"accepted", "decision": "accept"|"reject", "reason", "mean_difference", "interval": [l, h],
//  "p_value", "noise_floor", "min_effect", "confidence", "cases", "trials": {candidate,
//  incumbent}, "means": {...}, "trial_means": {...}, "improved", "regressed", "unchanged",
//  "excluded": {"infrastructure", "unscored"}, "breakdown_deltas", "run_ids": {candidate,
//  incumbent}, "candidate", "incumbent", "split", "seed", "test"}
nlohmann::json to_json(const Comparison& comparison);

}  // namespace fapo
