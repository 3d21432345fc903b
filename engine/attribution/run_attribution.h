// Attribution of a whole run: every failed case of the run attributed (case_attribution.h),
// grouped into clusters with a recommended level and ceilings (clusters.h). A case fails when
// one of its trials scored below the failure threshold (default: the scorer's maximum) or
// could not be scored; the first such trial is the one attributed.
//
// What a caller may see follows the run's split (case_access.h): train runs give everything,
// validation runs the same analysis as counts and shares only (no case ids, no text; clusters
// smaller than kMinGroupCases folded together), test runs nothing.
//
// Free functions; they read the run store and the tenant's files, so they are safe to call
// from several threads and while the run is being written (finished results only).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attribution/case_attribution.h"
#include "engine/attribution/clusters.h"
#include "engine/base/result.h"
#include "engine/run/case_access.h"
#include "engine/run/workspace.h"

namespace fapo {

struct AttributionOptions {
  std::optional<double> failure_threshold;  // default: the scorer's maximum
  std::size_t max_examples = 5;             // example case ids per cluster
};

struct RunAttribution {
  std::string tenant_id;
  std::string run_id;
  std::string split;
  std::string variant_id;
  int trials = 0;
  std::size_t cases = 0;         // with at least one result
  std::size_t scored_cases = 0;  // with a mean
  double mean = 0;               // over scored cases
  double max_score = 100;
  double failure_threshold = 100;
  bool simulated = false;  // the run's model is the simulated model
  std::vector<Attribution> attributions;  // one per failed case, in plan order
  FailureAnalysis analysis;
  std::map<std::string, double> case_means;  // scored cases, for ceilings
};

// kInvalidInput when the run is on the test split (nothing may be shown), or the dataset or
// tenant cannot be read; kNotFound for an unknown run.
Result<RunAttribution> attribute_run(const Workspace& workspace, const std::string& tenant_id,
                                     const std::string& run_id,
                                     const AttributionOptions& options = {});

// The report as `access` allows: kFull everything, kAggregatesOnly counts and shares only.
// kNone is a bug in the caller (check_aggregate_access first).
nlohmann::json to_json(const RunAttribution& report, CaseAccess access);

}  // namespace fapo
