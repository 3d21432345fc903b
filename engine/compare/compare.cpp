#include "engine/compare/compare.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/compare/statistics.h"
#include "engine/data/splits.h"
#include "engine/run/run_store.h"

namespace fapo {
namespace {

using nlohmann::json;

// One case of one variant, over all its trials.
struct CaseScores {
  double sum = 0;
  int scored = 0;
  int results = 0;
  bool infrastructure = false;
  bool unscored = false;
  std::map<std::string, std::pair<double, int>> breakdown;  // key -> (sum, count)

  double mean() const { return scored ? sum / scored : 0; }
};

// Everything read for one side of the comparison.
struct VariantData {
  std::vector<RunPlan> plans;  // complete runs on the split, oldest first
  int trials = 0;
  std::unordered_map<std::string, CaseScores> cases;
  std::vector<std::unordered_map<std::string, double>> trial_scores;  // per (run, trial)
};

// The complete runs of `variant_id`, any split, oldest first.
std::vector<RunPlan> complete_runs(const RunStore& store, const std::string& variant_id) {
  std::vector<RunPlan> plans;
  for (const std::string& run_id : store.list_runs()) {
    auto plan = store.load_plan(run_id);
    if (!plan.ok() || plan->variant_id != variant_id) continue;
    auto status = store.status(run_id);
    if (status.ok() && status->state == RunState::kComplete) plans.push_back(std::move(*plan));
  }
  return plans;
}

std::vector<RunPlan> on_split(std::vector<RunPlan> plans, const std::string& split) {
  std::erase_if(plans, [&](const RunPlan& plan) { return plan.split != split; });
  return plans;
}

int trial_sum(const std::vector<RunPlan>& plans) {
  int trials = 0;
  for (const RunPlan& plan : plans) trials += plan.trials;
  return trials;
}

std::string short_id(const std::string& variant_id) { return variant_id.substr(0, 12); }

// "too few trials" with what exists and what to do; names other splits that do have runs.
Error too_few_trials(const char* role, const std::string& variant_id,
                     const std::vector<RunPlan>& all_plans, const CompareRequest& request) {
  const int have = trial_sum(on_split(all_plans, request.split));
  std::set<std::string> other_splits;
  for (const RunPlan& plan : all_plans) {
    if (plan.split != request.split) other_splits.insert(plan.split);
  }
  std::string message = fmt::format(
      "not enough trials to compare: the {} ({}) has {} trial(s) in complete runs on split "
      "'{}', acceptance needs {}; evaluate it on '{}' with {} more trial(s)",
      role, short_id(variant_id), have, request.split, request.acceptance.trials, request.split,
      request.acceptance.trials - have);
  if (have == 0 && !other_splits.empty()) {
    std::string names;
    for (const auto& name : other_splits) names += (names.empty() ? "" : ", ") + name;
    message += fmt::format(" (its runs are on another split: {}; runs on different splits "
                           "are never compared)",
                           names);
  }
  return make_error(ErrorCode::kConflict, message);
}

std::string describe_setting(const std::string& key) {
  if (key == "model") return "model settings";
  if (key == "scorer") return "scorer";
  if (key == "split_fingerprint") return "split fingerprint (the split's cases changed)";
  if (key == "dataset_sha256") return "dataset (dataset.jsonl changed)";
  if (key == "sim_sha256") return "simulated-model rules (tenant.json sim section)";
  return "setting '" + key + "'";
}

std::string shown(const json& value) {
  std::string text = value.is_null() ? "(absent)" : value.dump();
  return text.size() > 120 ? text.substr(0, 117) + "..." : text;
}

// Everything a run's meaning depends on, except which pipeline ran, must be equal.
Status check_same_settings(const RunPlan& reference, const char* reference_role,
                           const RunPlan& other, const char* other_role) {
  std::set<std::string> keys;
  for (const auto& item : reference.settings.items()) keys.insert(item.key());
  for (const auto& item : other.settings.items()) keys.insert(item.key());
  keys.erase("pipeline_hash");
  for (const std::string& key : keys) {
    const json mine = reference.settings.value(key, json());
    const json theirs = other.settings.value(key, json());
    if (mine == theirs) continue;
    return make_error(ErrorCode::kConflict,
                      fmt::format("not a controlled comparison: the {} differs between run {} "
                                  "({}: {}) and run {} ({}: {}); evaluate both variants under "
                                  "the tenant's current settings and compare those runs",
                                  describe_setting(key), reference.run_id, reference_role,
                                  shown(mine), other.run_id, other_role, shown(theirs)));
  }
  std::vector<std::string> mine = reference.case_ids;
  std::vector<std::string> theirs = other.case_ids;
  std::sort(mine.begin(), mine.end());
  std::sort(theirs.begin(), theirs.end());
  if (mine != theirs) {
    return make_error(ErrorCode::kConflict,
                      fmt::format("not a controlled comparison: the case set differs between "
                                  "run {} ({}, {} cases) and run {} ({}, {} cases)",
                                  reference.run_id, reference_role, mine.size(), other.run_id,
                                  other_role, theirs.size()));
  }
  return ok_status();
}

void add_line(VariantData& data, const json& line, std::size_t trial_base) {
  auto id = line.find("case_id");
  auto trial = line.find("trial");
  if (id == line.end() || !id->is_string() || trial == line.end() ||
      !trial->is_number_integer()) {
    return;
  }
  const std::size_t slot = trial_base + trial->get<std::size_t>();
  if (slot >= data.trial_scores.size()) return;
  CaseScores& scores = data.cases[id->get<std::string>()];
  ++scores.results;
  if (line.value("infrastructure_failure", false)) scores.infrastructure = true;
  auto score = line.find("score");
  if (score == line.end() || !score->is_number()) {
    scores.unscored = true;
    return;
  }
  scores.sum += score->get<double>();
  ++scores.scored;
  data.trial_scores[slot][id->get<std::string>()] = score->get<double>();
  auto breakdown = line.find("breakdown");
  if (breakdown == line.end() || !breakdown->is_object()) return;
  for (const auto& [key, value] : breakdown->items()) {
    if (!value.is_number()) continue;
    auto& [sum, count] = scores.breakdown[key];
    sum += value.get<double>();
    ++count;
  }
}

Result<VariantData> read_variant(const RunStore& store, std::vector<RunPlan> plans) {
  VariantData data;
  data.trials = trial_sum(plans);
  data.trial_scores.resize(static_cast<std::size_t>(data.trials));
  std::size_t base = 0;
  for (const RunPlan& plan : plans) {
    FAPO_RETURN_IF_ERROR(store.for_each_result(
        plan.run_id, [&](const json& line) { add_line(data, line, base); }));
    base += static_cast<std::size_t>(plan.trials);
  }
  data.plans = std::move(plans);
  return data;
}

// Why a case is left out, if it is: every trial of both variants must have a score.
enum class Exclusion { kNone, kInfrastructure, kUnscored };

Exclusion exclusion_of(const std::string& case_id, const VariantData& a, const VariantData& b) {
  auto found_a = a.cases.find(case_id);
  auto found_b = b.cases.find(case_id);
  const bool infra = (found_a != a.cases.end() && found_a->second.infrastructure) ||
                     (found_b != b.cases.end() && found_b->second.infrastructure);
  if (infra) return Exclusion::kInfrastructure;
  if (found_a == a.cases.end() || found_b == b.cases.end() ||
      found_a->second.scored != a.trials || found_b->second.scored != b.trials) {
    return Exclusion::kUnscored;
  }
  return Exclusion::kNone;
}

std::vector<double> trial_means(const VariantData& data, const std::vector<std::string>& cases) {
  std::vector<double> means;
  for (const auto& scores : data.trial_scores) {
    double sum = 0;
    for (const std::string& id : cases) sum += scores.at(id);
    means.push_back(cases.empty() ? 0 : sum / static_cast<double>(cases.size()));
  }
  return means;
}

std::map<std::string, double> breakdown_deltas(const VariantData& candidate,
                                               const VariantData& incumbent,
                                               const std::vector<std::string>& cases) {
  std::map<std::string, std::pair<double, int>> sums;
  for (const std::string& id : cases) {
    const auto& mine = candidate.cases.at(id).breakdown;
    const auto& theirs = incumbent.cases.at(id).breakdown;
    for (const auto& [key, value] : mine) {
      auto other = theirs.find(key);
      if (other == theirs.end()) continue;
      auto& [sum, count] = sums[key];
      sum += value.first / value.second - other->second.first / other->second.second;
      ++count;
    }
  }
  std::map<std::string, double> deltas;
  for (const auto& [key, value] : sums) deltas[key] = value.first / value.second;
  return deltas;
}

ComparedVariant describe_side(const std::string& variant_id, const VariantData& data,
                              const std::vector<std::string>& cases) {
  ComparedVariant side;
  side.variant_id = variant_id;
  for (const RunPlan& plan : data.plans) side.run_ids.push_back(plan.run_id);
  side.trials = data.trials;
  side.trial_means = trial_means(data, cases);
  side.mean = mean_of(side.trial_means);
  return side;
}

std::string decide(Comparison& comparison) {
  const double alpha = 1.0 - comparison.confidence;
  const std::string numbers = fmt::format(
      "{:+.2f} points on {} {} cases ({:g}% interval {:+.2f} to {:+.2f}, p = {:.4f}, noise "
      "floor {:.2f})",
      comparison.mean_difference, comparison.cases, comparison.split,
      comparison.confidence * 100, comparison.ci_low, comparison.ci_high, comparison.p_value,
      comparison.noise_floor);
  if (comparison.mean_difference < comparison.min_effect) {
    return fmt::format("rejected: the candidate's gain of {} is below the minimum effect of "
                       "{:g} points",
                       numbers, comparison.min_effect);
  }
  if (comparison.p_value >= alpha || comparison.ci_low <= 0) {
    return fmt::format("rejected: the candidate's gain of {} is not significant at {:g}% "
                       "(needs p < {:g} and an interval above 0)",
                       numbers, comparison.confidence * 100, alpha);
  }
  comparison.accepted = true;
  return fmt::format("accepted: the candidate gains {}, at least the minimum effect of {:g} "
                     "points and significant at {:g}%",
                     numbers, comparison.min_effect, comparison.confidence * 100);
}

std::string exclusion_note(const Comparison& comparison) {
  if (comparison.excluded_infrastructure + comparison.excluded_unscored == 0) return "";
  return fmt::format(" {} case(s) with an infrastructure failure and {} the scorer could not "
                     "score (in either variant) were left out of the comparison.",
                     comparison.excluded_infrastructure, comparison.excluded_unscored);
}

Status check_request(const CompareRequest& request) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(request.tenant_id));
  FAPO_RETURN_IF_ERROR(check_variant_id(request.candidate_id));
  FAPO_RETURN_IF_ERROR(check_variant_id(request.incumbent_id));
  if (!split_from_string(request.split)) {
    return make_error(ErrorCode::kInvalidInput, "unknown split '" + request.split +
                                                    "' (valid: train, validation, test)");
  }
  if (request.acceptance.trials < 1 || request.acceptance.confidence <= 0 ||
      request.acceptance.confidence >= 1) {
    return make_error(ErrorCode::kInvalidInput,
                      "acceptance needs trials >= 1 and a confidence between 0 and 1");
  }
  return ok_status();
}

// Reads both sides and checks that every run of both agrees with the incumbent's first run.
Result<std::pair<VariantData, VariantData>> read_controlled(const RunStore& store,
                                                            const CompareRequest& request) {
  std::vector<RunPlan> all_candidate = complete_runs(store, request.candidate_id);
  std::vector<RunPlan> all_incumbent = complete_runs(store, request.incumbent_id);
  std::vector<RunPlan> candidate = on_split(all_candidate, request.split);
  std::vector<RunPlan> incumbent = on_split(all_incumbent, request.split);
  if (trial_sum(candidate) < request.acceptance.trials) {
    return too_few_trials("candidate", request.candidate_id, all_candidate, request);
  }
  if (trial_sum(incumbent) < request.acceptance.trials) {
    return too_few_trials("incumbent", request.incumbent_id, all_incumbent, request);
  }
  const RunPlan& reference = incumbent.front();
  for (const RunPlan& plan : incumbent) {
    FAPO_RETURN_IF_ERROR(check_same_settings(reference, "incumbent", plan, "incumbent"));
  }
  for (const RunPlan& plan : candidate) {
    FAPO_RETURN_IF_ERROR(check_same_settings(reference, "incumbent", plan, "candidate"));
  }
  FAPO_ASSIGN_OR_RETURN(VariantData candidate_data, read_variant(store, std::move(candidate)));
  FAPO_ASSIGN_OR_RETURN(VariantData incumbent_data, read_variant(store, std::move(incumbent)));
  return std::make_pair(std::move(candidate_data), std::move(incumbent_data));
}

void fill_analysis(Comparison& comparison, const PairedAnalysis& analysis) {
  comparison.cases = analysis.cases;
  comparison.mean_difference = analysis.mean_difference;
  comparison.ci_low = analysis.interval.low;
  comparison.ci_high = analysis.interval.high;
  comparison.p_value = analysis.p_value;
  comparison.improved = analysis.improved;
  comparison.regressed = analysis.regressed;
  comparison.unchanged = analysis.unchanged;
}

}  // namespace

Result<Comparison> compare_variants(const Workspace& workspace, const CompareRequest& request) {
  FAPO_RETURN_IF_ERROR(check_request(request));
  RunStore store(workspace, request.tenant_id);
  FAPO_ASSIGN_OR_RETURN(auto sides, read_controlled(store, request));
  const auto& [candidate, incumbent] = sides;

  Comparison comparison;
  comparison.tenant_id = request.tenant_id;
  comparison.split = request.split;
  comparison.min_effect = request.acceptance.min_effect;
  comparison.confidence = request.acceptance.confidence;
  comparison.seed = request.seed;
  std::vector<std::string> cases;
  std::vector<double> differences;
  for (const std::string& id : incumbent.plans.front().case_ids) {
    switch (exclusion_of(id, candidate, incumbent)) {
      case Exclusion::kInfrastructure: ++comparison.excluded_infrastructure; continue;
      case Exclusion::kUnscored: ++comparison.excluded_unscored; continue;
      case Exclusion::kNone: break;
    }
    cases.push_back(id);
    differences.push_back(candidate.cases.at(id).mean() - incumbent.cases.at(id).mean());
  }
  if (cases.empty()) {
    return make_error(ErrorCode::kConflict,
                      fmt::format("no case of split '{}' was scored in every trial of both "
                                  "variants ({} infrastructure failures, {} unscored); fix the "
                                  "cause and evaluate again",
                                  request.split, comparison.excluded_infrastructure,
                                  comparison.excluded_unscored));
  }
  PairedOptions options;
  options.confidence = request.acceptance.confidence;
  options.seed = request.seed;
  fill_analysis(comparison, analyze_paired(differences, options));
  comparison.candidate = describe_side(request.candidate_id, candidate, cases);
  comparison.incumbent = describe_side(request.incumbent_id, incumbent, cases);
  comparison.noise_floor =
      noise_floor({comparison.candidate.trial_means, comparison.incumbent.trial_means});
  comparison.breakdown_deltas = breakdown_deltas(candidate, incumbent, cases);
  comparison.reason = decide(comparison) + "." + exclusion_note(comparison);
  return comparison;
}

Result<int> trials_available(const Workspace& workspace, const std::string& tenant_id,
                             const std::string& variant_id, const std::string& split) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  FAPO_RETURN_IF_ERROR(check_variant_id(variant_id));
  RunStore store(workspace, tenant_id);
  return trial_sum(on_split(complete_runs(store, variant_id), split));
}

json to_json(const Comparison& comparison) {
  return {{"accepted", comparison.accepted},
          {"decision", comparison.accepted ? "accept" : "reject"},
          {"reason", comparison.reason},
          {"candidate", comparison.candidate.variant_id},
          {"incumbent", comparison.incumbent.variant_id},
          {"split", comparison.split},
          {"mean_difference", comparison.mean_difference},
          {"interval", {comparison.ci_low, comparison.ci_high}},
          {"p_value", comparison.p_value},
          {"test", "one-sided paired sign-flip permutation test"},
          {"noise_floor", comparison.noise_floor},
          {"min_effect", comparison.min_effect},
          {"confidence", comparison.confidence},
          {"cases", comparison.cases},
          {"trials",
           {{"candidate", comparison.candidate.trials},
            {"incumbent", comparison.incumbent.trials}}},
          {"means",
           {{"candidate", comparison.candidate.mean}, {"incumbent", comparison.incumbent.mean}}},
          {"trial_means",
           {{"candidate", comparison.candidate.trial_means},
            {"incumbent", comparison.incumbent.trial_means}}},
          {"improved", comparison.improved},
          {"regressed", comparison.regressed},
          {"unchanged", comparison.unchanged},
          {"excluded",
           {{"infrastructure", comparison.excluded_infrastructure},
            {"unscored", comparison.excluded_unscored}}},
          {"breakdown_deltas", comparison.breakdown_deltas},
          {"run_ids",
           {{"candidate", comparison.candidate.run_ids},
            {"incumbent", comparison.incumbent.run_ids}}},
          {"seed", comparison.seed}};
}

}  // namespace fapo
