// Planning a confirmation: which failed cases are replayed, from which step, with which outputs
// supplied, and what that costs at most. No model calls.

#include <cmath>
#include <set>

#include "engine/attribution/confirmation.h"
#include "engine/budget/budget.h"
#include "engine/data/dataset.h"
#include "engine/run/run_store.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr int kMaxReplaysPerCase = 5;
constexpr int kEvidenceSearchDepth = 20;
// Tokens per call assumed when the run recorded none.
constexpr double kGuessedTokensPerCall = 1500;

// A failing result as the plan needs it: the observed steps and the line's token counts.
struct FailingResult {
  ObservedCase observed;
  long long tokens_in = 0;
  long long tokens_out = 0;
  long long calls = 0;
};

Result<PipelineConfig> run_pipeline(const Workspace& workspace, const Tenant& tenant,
                                    const std::string& variant_id) {
  if (tenant.baseline.content_hash() == variant_id) return tenant.baseline;
  if (check_variant_id(variant_id).ok()) {
    const fs::path dir = workspace.variant_dir(tenant.id, variant_id);
    if (fs::is_directory(dir)) return load_pipeline(dir, workspace.display_path(dir));
  }
  return make_error(ErrorCode::kNotFound,
                    "the run's pipeline (" + variant_id + ") is neither tenant '" + tenant.id +
                        "''s baseline nor a stored variant, so its cases cannot be replayed; "
                        "confirm a run of the baseline or of a proposed variant");
}

Result<std::map<std::pair<std::string, int>, FailingResult>> read_failing(
    const Workspace& workspace, const RunAttribution& report) {
  std::set<std::pair<std::string, int>> wanted;
  for (const Attribution& attribution : report.attributions) {
    wanted.emplace(attribution.case_id, attribution.trial);
  }
  std::map<std::pair<std::string, int>, FailingResult> found;
  RunStore store(workspace, report.tenant_id);
  Status read = store.for_each_result(report.run_id, [&](const json& line) {
    if (!line.contains("case_id") || !line["case_id"].is_string()) return;
    std::pair<std::string, int> key{line["case_id"].get<std::string>(), line.value("trial", 0)};
    if (!wanted.count(key)) return;
    FailingResult& entry = found[key];
    entry.observed = observe_result_line(line);
    entry.tokens_in = line.value("tokens_in", 0LL);
    entry.tokens_out = line.value("tokens_out", 0LL);
    entry.calls = line.value("model_calls", 0LL);
  });
  if (!read.ok()) return read.error();
  return found;
}

Result<std::map<std::string, Case>> read_attributed_cases(const Workspace& workspace,
                                                          const RunAttribution& report) {
  std::set<std::string> wanted;
  for (const Attribution& attribution : report.attributions) wanted.insert(attribution.case_id);
  std::map<std::string, Case> cases;
  Diagnostics problems = read_dataset(
      workspace.tenant_dir(report.tenant_id) / "dataset.jsonl",
      "tenants/" + report.tenant_id + "/dataset.jsonl", [&](Case&& item) {
        if (wanted.count(item.case_id)) cases.emplace(item.case_id, std::move(item));
      });
  if (!problems.empty()) return diagnostics_error(problems);
  return cases;
}

// The position of the top-level step that is or holds `step_id`.
std::optional<std::size_t> top_level_index(const ChainDef& chain, const std::string& step_id) {
  for (std::size_t i = 0; i < chain.steps.size(); ++i) {
    const std::vector<StepDef> one{chain.steps[i]};  // all_steps borrows it
    for (const StepDef* step : all_steps(one)) {
      if (step->id == step_id) return i;
    }
  }
  return std::nullopt;
}

long long calls_from(const ChainDef& chain, std::size_t first) {
  ChainDef tail;
  tail.steps.assign(chain.steps.begin() + static_cast<long>(first), chain.steps.end());
  return max_calls_per_case(tail);
}

// What the steps before `first` gave: the last output each recorded (loops repeat ids).
std::map<std::string, std::string> outputs_before(const ChainDef& chain, std::size_t first,
                                                  const ObservedCase& observed) {
  std::set<std::string> before;
  const std::vector<StepDef> prefix(chain.steps.begin(),
                                    chain.steps.begin() + static_cast<long>(first));
  for (const StepDef* step : all_steps(prefix)) before.insert(step->id);
  std::map<std::string, std::string> outputs;
  for (const ObservedStep& step : observed.steps) {
    if (before.count(step.step_id)) outputs[step.step_id] = step.output;
  }
  return outputs;
}

std::string passage_line(int rank, const Passage& passage) {
  auto single_line = [](std::string text) {
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
  };
  std::string line = "[" + std::to_string(rank) + "] «";
  if (!passage.title.empty()) line += single_line(passage.title) + " | ";
  return line + single_line(passage.text) + "»";
}

bool holds_value(const Passage& passage, const EvidenceValue& value) {
  return EvidenceText(passage.title + " " + passage.text).holds(value);
}

// The passages that supply the evidence a search missed and did not already return: the case's
// gold passages when it names them, else the best-ranked passage holding the missing value.
std::vector<std::size_t> evidence_passages(const Bm25Index& index, const CaseEvidence& evidence,
                                           const ObservedStep& search, bool last_search) {
  std::set<std::string> retrieved(search.passage_ids.begin(), search.passage_ids.end());
  std::set<std::string> gold_titles;
  for (const std::string& title : evidence.gold_titles) {
    gold_titles.insert(normalize_evidence_text(title));
  }
  std::set<std::string> gold_ids(evidence.gold_passage_ids.begin(),
                                 evidence.gold_passage_ids.end());
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < index.size(); ++i) {
    const Passage& passage = index.passage(i);
    if (retrieved.count(passage.id)) continue;
    if (gold_ids.count(passage.id) || gold_titles.count(normalize_evidence_text(passage.title))) {
      chosen.push_back(i);
    }
  }
  if (!chosen.empty()) return chosen;
  // The last search had to find the answer; an earlier one the fact leading to it.
  const std::vector<EvidenceValue>& wanted =
      last_search || evidence.intermediate.empty() ? evidence.answers : evidence.intermediate;
  for (const EvidenceValue& value : wanted) {
    for (const RetrievalHit& hit : index.search(search.input + " " + value.text,
                                                kEvidenceSearchDepth)) {
      const Passage& passage = index.passage(hit.index);
      if (!retrieved.count(passage.id) && holds_value(passage, value)) return {hit.index};
    }
  }
  return {};
}

class Planner {
 public:
  Planner(const Tenant& tenant, const CompiledChain& chain,
          const std::map<std::string, Case>& cases)
      : tenant_(tenant), chain_(chain.def()), cases_(cases),
        fields_(answer_fields_of(tenant.config.scorer)) {}

  // The replay of one failed case, or the reason there is none.
  Result<PlannedReplay> plan(const Attribution& attribution, const ObservedCase& observed) {
    if (!cases_.count(attribution.case_id)) {
      return make_error(ErrorCode::kNotFound, "case '" + attribution.case_id +
                                                  "' is no longer in the dataset");
    }
    auto position = top_level_index(chain_, attribution.step_id);
    if (!position) {
      return make_error(ErrorCode::kNotFound,
                        "step '" + attribution.step_id + "' is not in the run's chain");
    }
    if (attribution.tool_use == ToolUsePattern::kToolNotOffered) {
      return make_error(ErrorCode::kInvalidInput,
                        "step '" + attribution.step_id + "' does not offer tool '" +
                            attribution.tool + "', so resampling it cannot help (offering the "
                            "tool is a structural change)");
    }
    PlannedReplay replay;
    replay.case_id = attribution.case_id;
    replay.trial = attribution.trial;
    if (attribution.failure_class == FailureClass::kRetrievalMiss) {
      FAPO_RETURN_IF_ERROR(plan_evidence(attribution, observed, *position, replay));
    } else {
      const StepDef& step = chain_.steps[*position];
      if (calls_from(chain_, *position) - calls_from(chain_, *position + 1) == 0) {
        return make_error(ErrorCode::kInvalidInput, "step '" + step.id +
                                                        "' makes no model call, so resampling "
                                                        "it cannot change its output");
      }
      replay.method = ReplayMethod::kResampled;
      replay.start.from_step = step.id;
      replay.start.outputs = outputs_before(chain_, *position, observed);
      replay.calls = calls_from(chain_, *position);
    }
    return replay;
  }

 private:
  Status plan_evidence(const Attribution& attribution, const ObservedCase& observed,
                       std::size_t position, PlannedReplay& replay) {
    const StepDef& step = chain_.steps[position];
    if (step.kind != StepKind::kRetrieve || position + 1 == chain_.steps.size()) {
      return make_error(ErrorCode::kInvalidInput,
                        "the search '" + attribution.step_id +
                            "' is not a top-level retrieve step followed by other steps");
    }
    if (!tenant_.index) {
      return make_error(ErrorCode::kInvalidInput, "the tenant has no corpus to supply from");
    }
    const ObservedStep* search = nullptr;
    for (const ObservedStep& observed_step : observed.steps) {
      if (observed_step.step_id == step.id) search = &observed_step;
    }
    if (search == nullptr) {
      return make_error(ErrorCode::kInvalidInput, "the search '" + step.id + "' did not run");
    }
    bool last_search = true;
    for (std::size_t i = position + 1; i < chain_.steps.size(); ++i) {
      last_search = last_search && chain_.steps[i].kind != StepKind::kRetrieve;
    }
    const CaseEvidence evidence = case_evidence(cases_.at(attribution.case_id), fields_);
    std::vector<std::size_t> passages =
        evidence_passages(*tenant_.index, evidence, *search, last_search);
    if (passages.empty()) {
      return make_error(ErrorCode::kNotFound,
                        "no corpus passage the search missed holds the evidence");
    }
    replay.method = ReplayMethod::kEvidenceSupplied;
    replay.start.from_step = chain_.steps[position + 1].id;
    replay.start.outputs = outputs_before(chain_, position + 1, observed);
    std::string& output = replay.start.outputs[step.id];
    int rank = static_cast<int>(parse_retrieved_passages(output).size());
    for (std::size_t index : passages) {
      const Passage& passage = tenant_.index->passage(index);
      if (!output.empty()) output += "\n";
      output += passage_line(++rank, passage);
      replay.supplied_ids.push_back(passage.id);
    }
    replay.calls = calls_from(chain_, position + 1);
    return ok_status();
  }

  const Tenant& tenant_;
  const ChainDef& chain_;
  const std::map<std::string, Case>& cases_;
  AnswerFields fields_;
};

// The failed cases of each cluster, handed out one at a time as replays.
class ClusterQueue {
 public:
  ClusterQueue(const RunAttribution& report,
               const std::map<std::pair<std::string, int>, FailingResult>& failing,
               Planner planner)
      : report_(report), failing_(failing), planner_(std::move(planner)),
        next_(report.analysis.clusters.size(), 0) {
    for (const Attribution& attribution : report.attributions) {
      by_case_[attribution.case_id] = &attribution;
    }
  }

  // The next replayable case of cluster `c` with its failing result; nullopt when none is left.
  // Cases that cannot be replayed are skipped, the reason kept in `notes`.
  std::optional<std::pair<PlannedReplay, const FailingResult*>> take(
      std::size_t c, std::map<std::size_t, std::string>& notes) {
    const Cluster& cluster = report_.analysis.clusters[c];
    if (!is_confirmable(cluster.failure_class)) return std::nullopt;
    while (next_[c] < cluster.case_ids.size()) {
      auto attribution = by_case_.find(cluster.case_ids[next_[c]++]);
      if (attribution == by_case_.end()) continue;
      auto result = failing_.find({attribution->first, attribution->second->trial});
      if (result == failing_.end()) continue;
      auto replay = planner_.plan(*attribution->second, result->second.observed);
      if (!replay.ok()) {
        notes[c] = replay.error().message;
        continue;
      }
      replay->cluster = c;
      return std::make_pair(std::move(*replay), &result->second);
    }
    return std::nullopt;
  }

 private:
  const RunAttribution& report_;
  const std::map<std::pair<std::string, int>, FailingResult>& failing_;
  Planner planner_;
  std::map<std::string, const Attribution*> by_case_;
  std::vector<std::size_t> next_;
};

Status check_options(const RunAttribution& report, const ConfirmationOptions& options) {
  if (report.split != "train") {
    return make_error(ErrorCode::kInvalidInput,
                      "counterfactual confirmation replays individual cases, so it is offered on "
                      "train runs only; run " + report.run_id + " is on " + report.split +
                          " (attribute a train run of the same variant to confirm)");
  }
  if (options.replays_per_case < 1 || options.replays_per_case > kMaxReplaysPerCase) {
    return make_error(ErrorCode::kInvalidInput, "replays per case must be between 1 and " +
                                                    std::to_string(kMaxReplaysPerCase));
  }
  return ok_status();
}

// Cost: the planned calls, with tokens per call as the failing results averaged.
void estimate(const Tenant& tenant, const std::vector<FailingResult>& seen,
              ConfirmationPlan& plan) {
  long long calls = 0, tokens_in = 0, tokens_out = 0;
  for (const FailingResult& result : seen) {
    calls += result.calls;
    tokens_in += result.tokens_in;
    tokens_out += result.tokens_out;
  }
  double in_per_call = calls ? static_cast<double>(tokens_in) / calls : kGuessedTokensPerCall;
  double out_per_call = calls ? static_cast<double>(tokens_out) / calls : 0;
  for (const PlannedReplay& replay : plan.replays) {
    plan.estimated_calls += replay.calls * plan.replays_per_case;
  }
  const auto total = static_cast<double>(plan.estimated_calls);
  plan.estimated_tokens = static_cast<long long>(std::ceil((in_per_call + out_per_call) * total));
  const TaskModelConfig& model = tenant.config.task_model;
  if (model.provider != "sim") {
    plan.estimated_money = (in_per_call * model.prices.input_per_mtok +
                            out_per_call * model.prices.output_per_mtok) * total / 1e6;
  }
}

}  // namespace

bool is_confirmable(FailureClass value) {
  switch (value) {
    case FailureClass::kRetrievalMiss:
    case FailureClass::kDroppedEvidence:
    case FailureClass::kFormat:
    case FailureClass::kReasoning:
    case FailureClass::kCascade:
    case FailureClass::kToolUse:  // the react step is resampled
      return true;
    default:
      return false;
  }
}

const char* replay_method_name(ReplayMethod method) {
  return method == ReplayMethod::kEvidenceSupplied ? "evidence_supplied" : "resampled";
}

Result<ConfirmationPlan> plan_confirmation(const Workspace& workspace, const Tenant& tenant,
                                           const RunAttribution& report,
                                           const ConfirmationOptions& options) {
  FAPO_RETURN_IF_ERROR(check_options(report, options));
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline,
                        run_pipeline(workspace, tenant, report.variant_id));
  FAPO_ASSIGN_OR_RETURN(CompiledChain chain,
                        CompiledChain::compile(std::move(pipeline), tenant.display_dir));
  ConfirmationPlan plan;
  plan.chain = std::make_shared<const CompiledChain>(std::move(chain));
  plan.replays_per_case = options.replays_per_case;
  FAPO_ASSIGN_OR_RETURN(auto failing, read_failing(workspace, report));
  FAPO_ASSIGN_OR_RETURN(plan.cases, read_attributed_cases(workspace, report));
  ClusterQueue queue(report, failing, Planner(tenant, *plan.chain, plan.cases));
  std::vector<FailingResult> seen;
  // Clusters take turns, largest first, so a small bound still samples every cluster.
  bool progressed = true;
  while (plan.replays.size() < options.max_cases && progressed) {
    progressed = false;
    for (std::size_t c = 0; c < report.analysis.clusters.size(); ++c) {
      if (plan.replays.size() == options.max_cases) break;
      auto taken = queue.take(c, plan.notes);
      if (!taken) continue;
      plan.replays.push_back(std::move(taken->first));
      seen.push_back(*taken->second);
      progressed = true;
    }
  }
  estimate(tenant, seen, plan);
  return plan;
}

}  // namespace fapo
