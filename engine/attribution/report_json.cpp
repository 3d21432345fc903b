// The JSON form of a run's attribution, with the split access policy applied: validation runs
// get counts and shares only, and clusters too small to keep their cases anonymous are folded.

#include <cmath>
#include <map>

#include "engine/attribution/run_attribution.h"

namespace fapo {
namespace {

using nlohmann::json;

double rounded(double value) { return std::round(value * 1000.0) / 1000.0; }

json cluster_json(const Cluster& cluster, CaseAccess access) {
  json out = {{"class", failure_class_name(cluster.failure_class)},
              {"step", cluster.step_id},
              {"step_kind", cluster.step_kind},
              {"pattern", cluster_pattern(cluster)},
              {"count", cluster.count},
              {"share", rounded(cluster.share)},
              {"level", change_level_name(cluster.level)},
              {"mean_confidence", rounded(cluster.mean_confidence)}};
  // React clusters name their tool and, for a tool failure, its kind: labels of the chain,
  // not case text, so validation reports keep them.
  if (!cluster.tool.empty()) out["tool"] = cluster.tool;
  if (!cluster.tool_error.empty()) out["kind"] = cluster.tool_error;
  if (access == CaseAccess::kFull) out["example_case_ids"] = cluster.example_case_ids;
  return out;
}

json class_counts(const RunAttribution& report) {
  std::map<FailureClass, std::size_t> counts;
  for (const Attribution& attribution : report.attributions) counts[attribution.failure_class]++;
  json out = json::array();
  const double total = static_cast<double>(report.attributions.size());
  for (FailureClass value : kAllFailureClasses) {
    auto found = counts.find(value);
    if (found == counts.end()) continue;
    out.push_back({{"class", failure_class_name(value)},
                   {"count", found->second},
                   {"share", rounded(static_cast<double>(found->second) / total)},
                   {"level", change_level_name(suggested_level(value))}});
  }
  return out;
}

}  // namespace

json to_json(const RunAttribution& report, CaseAccess access) {
  json out = {{"tenant_id", report.tenant_id},
              {"run_id", report.run_id},
              {"split", report.split},
              {"variant_id", report.variant_id},
              {"trials", report.trials},
              {"cases", report.cases},
              {"scored_cases", report.scored_cases},
              {"failed_cases", report.attributions.size()},
              {"mean", rounded(report.mean)},
              {"max_score", report.max_score},
              {"failure_threshold", report.failure_threshold},
              {"access", access == CaseAccess::kFull ? "full" : "aggregates_only"},
              {"classes", class_counts(report)},
              {"recommended_level", change_level_name(report.analysis.recommended)},
              {"recommendation", report.analysis.recommendation}};
  if (report.simulated) out["simulated"] = true;
  json clusters = json::array();
  std::size_t unlisted_clusters = 0;
  std::size_t unlisted_failures = 0;
  for (const Cluster& cluster : report.analysis.clusters) {
    if (access != CaseAccess::kFull && cluster.count < kMinGroupCases) {
      unlisted_clusters += 1;
      unlisted_failures += cluster.count;
      continue;
    }
    clusters.push_back(cluster_json(cluster, access));
  }
  out["clusters"] = std::move(clusters);
  if (access != CaseAccess::kFull) {
    out["unlisted_clusters"] = unlisted_clusters;
    out["unlisted_failures"] = unlisted_failures;
  }
  json ceilings = json::array();
  for (const LevelCeiling& ceiling : report.analysis.ceilings) {
    ceilings.push_back({{"level", change_level_name(ceiling.level)},
                        {"addressable", ceiling.addressable},
                        {"ceiling", rounded(ceiling.ceiling)},
                        {"cumulative_ceiling", rounded(ceiling.cumulative)}});
  }
  out["ceilings"] = std::move(ceilings);
  if (access == CaseAccess::kFull) {
    json attributions = json::array();
    for (const Attribution& attribution : report.attributions) {
      attributions.push_back(to_json(attribution));
    }
    out["attributions"] = std::move(attributions);
  }
  return out;
}

}  // namespace fapo
