#include "engine/attribution/failure_deltas.h"

#include <cmath>
#include <map>
#include <utility>

#include "engine/attribution/run_attribution.h"
#include "engine/run/case_access.h"

namespace fapo {
namespace {

using nlohmann::json;

// Rows on non-train splits whose steps are folded together.
constexpr char kFoldedStep[] = "*";

struct SideCounts {
  std::size_t runs = 0;
  std::size_t cases = 0;
  std::size_t failed = 0;
  std::map<FailureClass, std::size_t> classes;
  std::map<std::pair<FailureClass, std::string>, std::size_t> steps;

  double per_run(std::size_t total) const {
    return std::round(static_cast<double>(total) / static_cast<double>(runs) * 100.0) / 100.0;
  }
};

Status count_side(const Workspace& workspace, const std::string& tenant_id,
                  const std::vector<std::string>& run_ids, const std::string& side,
                  std::string& split, SideCounts& counts) {
  if (run_ids.empty()) {
    return make_error(ErrorCode::kInvalidInput, "the " + side + " side has no run to count");
  }
  for (const std::string& run_id : run_ids) {
    FAPO_ASSIGN_OR_RETURN(RunAttribution report, attribute_run(workspace, tenant_id, run_id));
    if (split.empty()) split = report.split;
    if (report.split != split) {
      return make_error(ErrorCode::kInvalidInput,
                        "run " + run_id + " (" + side + ") is on split '" + report.split +
                            "', the others on '" + split + "': failure counts compare runs of "
                            "one split");
    }
    counts.runs += 1;
    counts.cases += report.cases;
    counts.failed += report.attributions.size();
    for (const Attribution& attribution : report.attributions) {
      counts.classes[attribution.failure_class] += 1;
      counts.steps[{attribution.failure_class, attribution.step_id}] += 1;
    }
  }
  return ok_status();
}

std::size_t count_of(const auto& counts, const auto& key) {
  auto found = counts.find(key);
  return found == counts.end() ? 0 : found->second;
}

json row(const SideCounts& candidate, const SideCounts& incumbent, std::size_t in_candidate,
         std::size_t in_incumbent) {
  const double a = candidate.per_run(in_candidate);
  const double b = incumbent.per_run(in_incumbent);
  return {{"candidate", a}, {"incumbent", b}, {"delta", std::round((a - b) * 100.0) / 100.0}};
}

json step_rows(const SideCounts& candidate, const SideCounts& incumbent, bool fold_small) {
  std::map<std::pair<FailureClass, std::string>, std::pair<std::size_t, std::size_t>> rows;
  for (const auto& [key, count] : candidate.steps) rows[key].first += count;
  for (const auto& [key, count] : incumbent.steps) rows[key].second += count;
  if (fold_small) {
    std::map<std::pair<FailureClass, std::string>, std::pair<std::size_t, std::size_t>> kept;
    for (const auto& [key, pair] : rows) {
      const bool small = candidate.per_run(pair.first) < kMinGroupCases &&
                         incumbent.per_run(pair.second) < kMinGroupCases;
      auto& target = kept[small ? std::make_pair(key.first, std::string(kFoldedStep)) : key];
      target.first += pair.first;
      target.second += pair.second;
    }
    rows = std::move(kept);
  }
  json out = json::array();
  for (const auto& [key, pair] : rows) {
    json item = {{"class", failure_class_name(key.first)}, {"step", key.second}};
    item.update(row(candidate, incumbent, pair.first, pair.second));
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

Result<json> failure_count_deltas(const Workspace& workspace, const std::string& tenant_id,
                                  const std::vector<std::string>& candidate_run_ids,
                                  const std::vector<std::string>& incumbent_run_ids) {
  std::string split;
  SideCounts candidate;
  SideCounts incumbent;
  FAPO_RETURN_IF_ERROR(
      count_side(workspace, tenant_id, candidate_run_ids, "candidate", split, candidate));
  FAPO_RETURN_IF_ERROR(
      count_side(workspace, tenant_id, incumbent_run_ids, "incumbent", split, incumbent));
  auto side_json = [](const SideCounts& side) {
    return json{{"runs", side.runs}, {"cases", side.cases}, {"failed_cases", side.failed}};
  };
  json classes = json::array();
  for (FailureClass value : kAllFailureClasses) {
    const std::size_t a = count_of(candidate.classes, value);
    const std::size_t b = count_of(incumbent.classes, value);
    if (a == 0 && b == 0) continue;
    json item = {{"class", failure_class_name(value)}};
    item.update(row(candidate, incumbent, a, b));
    classes.push_back(std::move(item));
  }
  return json{{"split", split},
              {"candidate", side_json(candidate)},
              {"incumbent", side_json(incumbent)},
              {"classes", std::move(classes)},
              {"steps", step_rows(candidate, incumbent, split != "train")}};
}

}  // namespace fapo
