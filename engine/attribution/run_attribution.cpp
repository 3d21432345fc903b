#include "engine/attribution/run_attribution.h"

#include <set>

#include "engine/attribution/tool_attribution.h"
#include "engine/chain/pipeline.h"
#include "engine/data/dataset.h"
#include "engine/run/run_store.h"
#include "engine/score/scorer.h"

namespace fapo {
namespace {

using nlohmann::json;

// What the run left for one case: its scores, and the first failing result line.
struct CaseResults {
  std::vector<double> scores;
  bool unscored = false;
  std::optional<json> failing_line;
  int failing_trial = -1;
};

bool fails(const json& line, double threshold) {
  if (line.value("infrastructure_failure", false)) return true;
  auto score = line.find("score");
  return score == line.end() || !score->is_number() || score->get<double>() < threshold;
}

Result<std::map<std::string, CaseResults>> read_results(const RunStore& store,
                                                        const std::string& run_id,
                                                        double threshold) {
  std::map<std::string, CaseResults> results;
  Status read = store.for_each_result(run_id, [&](const json& line) {
    if (!line.contains("case_id") || !line["case_id"].is_string()) return;
    CaseResults& entry = results[line["case_id"].get<std::string>()];
    const int trial = line.value("trial", 0);
    if (line.contains("score") && line["score"].is_number()) {
      entry.scores.push_back(line["score"].get<double>());
    } else {
      entry.unscored = true;
    }
    // The lowest failing trial is attributed, whatever order the trials finished in.
    if (fails(line, threshold) && (entry.failing_trial < 0 || trial < entry.failing_trial)) {
      entry.failing_line = line;
      entry.failing_trial = trial;
    }
  });
  if (!read.ok()) return read.error();
  return results;
}

Result<std::map<std::string, Case>> read_cases(const Workspace& workspace,
                                               const std::string& tenant_id,
                                               const std::set<std::string>& wanted) {
  std::map<std::string, Case> cases;
  Diagnostics problems = read_dataset(workspace.tenant_dir(tenant_id) / "dataset.jsonl",
                                      "tenants/" + tenant_id + "/dataset.jsonl", [&](Case&& item) {
                                        if (wanted.count(item.case_id)) {
                                          cases.emplace(item.case_id, std::move(item));
                                        }
                                      });
  if (!problems.empty()) return diagnostics_error(problems);
  return cases;
}

// The tools each react step of the run's pipeline offers (the tenant's baseline or a stored
// variant); empty when neither is the run's, e.g. a variant since deleted: then no failure is
// put down to a tool its step does not offer.
std::map<std::string, std::vector<std::string>> run_offered_tools(const Workspace& workspace,
                                                                  const std::string& tenant_id,
                                                                  const std::string& variant_id) {
  auto baseline = load_pipeline(workspace.tenant_dir(tenant_id), "tenants/" + tenant_id);
  if (baseline.ok() && baseline->content_hash() == variant_id) {
    return offered_tools_of(baseline->chain);
  }
  if (!check_variant_id(variant_id).ok()) return {};
  const fs::path dir = workspace.variant_dir(tenant_id, variant_id);
  if (!fs::is_directory(dir)) return {};
  auto variant = load_pipeline(dir, workspace.display_path(dir));
  if (!variant.ok()) return {};
  return offered_tools_of(variant->chain);
}

bool has_agent(const ObservedCase& observed) {
  for (const ObservedStep& step : observed.steps) {
    if (step.agent) return true;
  }
  return false;
}

double scorer_maximum(const json& scorer, const fs::path& tenant_dir) {
  auto made = make_scorer(scorer, tenant_dir);
  return made.ok() ? (*made)->max_score() : 100.0;
}

}  // namespace

Result<RunAttribution> attribute_run(const Workspace& workspace, const std::string& tenant_id,
                                     const std::string& run_id,
                                     const AttributionOptions& options) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  RunStore store(workspace, tenant_id);
  FAPO_ASSIGN_OR_RETURN(RunPlan plan, store.load_plan(run_id));
  FAPO_RETURN_IF_ERROR(check_aggregate_access(plan.split, "Attribution"));
  RunAttribution report;
  report.tenant_id = tenant_id;
  report.run_id = run_id;
  report.split = plan.split;
  report.variant_id = plan.variant_id;
  report.trials = plan.trials;
  const json scorer = plan.settings.value("scorer", json::object());
  report.simulated = plan.settings.contains("model") && plan.settings["model"].is_object() &&
                     plan.settings["model"].value("provider", "") == "sim";
  report.max_score = scorer_maximum(scorer, workspace.tenant_dir(tenant_id));
  report.failure_threshold = options.failure_threshold.value_or(report.max_score);

  FAPO_ASSIGN_OR_RETURN(auto results, read_results(store, run_id, report.failure_threshold));
  std::set<std::string> failed_ids;
  for (const auto& [id, entry] : results) {
    if (entry.failing_line) failed_ids.insert(id);
  }
  FAPO_ASSIGN_OR_RETURN(auto cases, read_cases(workspace, tenant_id, failed_ids));
  const AnswerFields fields = answer_fields_of(scorer);
  std::optional<std::map<std::string, std::vector<std::string>>> offered;  // read when needed
  double total = 0;
  for (const std::string& id : plan.case_ids) {
    auto found = results.find(id);
    if (found == results.end()) continue;
    const CaseResults& entry = found->second;
    report.cases += 1;
    if (!entry.scores.empty()) {
      double sum = 0;
      for (double score : entry.scores) sum += score;
      report.case_means[id] = sum / static_cast<double>(entry.scores.size());
      total += report.case_means[id];
    }
    if (!entry.failing_line) continue;
    ObservedCase observed = observe_result_line(*entry.failing_line);
    if (has_agent(observed)) {
      if (!offered) offered = run_offered_tools(workspace, tenant_id, plan.variant_id);
      set_offered_tools(observed, *offered);
    }
    auto case_data = cases.find(id);
    if (case_data == cases.end()) {
      // The dataset no longer holds the case: nothing to trace against.
      Attribution unknown;
      unknown.case_id = id;
      unknown.trial = observed.trial;
      unknown.score = observed.score;
      unknown.evidence = {"the case is no longer in the dataset"};
      report.attributions.push_back(std::move(unknown));
      continue;
    }
    report.attributions.push_back(attribute_case(
        case_data->second, case_evidence(case_data->second, fields), observed));
  }
  report.scored_cases = report.case_means.size();
  report.mean = report.scored_cases ? total / static_cast<double>(report.scored_cases) : 0;
  report.analysis = analyse_failures(report.attributions, report.case_means, report.max_score,
                                     options.max_examples);
  return report;
}

}  // namespace fapo
