// Running a confirmation plan and reporting it.

#include "engine/attribution/confirmation.h"

#include <cmath>

#include "engine/run/run_tools.h"

namespace fapo {
namespace {

using nlohmann::json;

double rounded(double value) { return std::round(value * 1000.0) / 1000.0; }

ExecutionSettings execution_settings(const Tenant& tenant) {
  const TaskModelConfig& model = tenant.config.task_model;
  return ExecutionSettings{model.model,
                           {model.temperature, model.top_p, model.max_tokens, model.seed}};
}

// Whether the replayed trace fixed the case; nullopt when it could not be scored.
std::optional<bool> fixed_by(const Tenant& tenant, const Case& item, const CaseTrace& trace,
                             double threshold) {
  if (trace.infrastructure_failure) return std::nullopt;
  auto score = tenant.scorer->score(item, trace.final_output, trace);
  if (!score.ok()) return std::nullopt;
  return score->composite >= threshold;
}

std::vector<ClusterConfirmation> empty_clusters(const RunAttribution& report,
                                                const ConfirmationPlan& plan) {
  std::vector<ClusterConfirmation> clusters(report.analysis.clusters.size());
  for (std::size_t c = 0; c < clusters.size(); ++c) {
    clusters[c].method = "none";
    auto note = plan.notes.find(c);
    if (note != plan.notes.end()) clusters[c].note = note->second;
    const FailureClass failure_class = report.analysis.clusters[c].failure_class;
    if (failure_class == FailureClass::kToolFailure) {
      clusters[c].note = "not replayed: the tool failed, not the step (fix the tool or its "
                         "server, or raise tool_timeout_s for timeouts)";
    } else if (!is_confirmable(failure_class)) {
      clusters[c].note = "not replayed: this class is not a step's doing (rerun or inspect)";
    }
  }
  for (const PlannedReplay& replay : plan.replays) {
    clusters[replay.cluster].method = replay_method_name(replay.method);
  }
  return clusters;
}

json cluster_confirmation_json(const ClusterConfirmation& cluster) {
  json out = {{"method", cluster.method},
              {"cases", cluster.cases},
              {"replays", cluster.replays},
              {"fixed", cluster.fixed},
              {"failed", cluster.failed}};
  if (cluster.replays > 0) {
    out["rate"] = rounded(static_cast<double>(cluster.fixed) / cluster.replays);
  }
  if (!cluster.note.empty()) out["note"] = cluster.note;
  out["fixed_case_ids"] = cluster.fixed_case_ids;
  return out;
}

}  // namespace

Result<ConfirmationReport> run_confirmation(const Tenant& tenant, const RunAttribution& report,
                                            const ConfirmationPlan& plan,
                                            const ConfirmationOptions& options) {
  ConfirmationReport out;
  out.estimated_calls = plan.estimated_calls;
  out.estimated_tokens = plan.estimated_tokens;
  out.estimated_money = plan.estimated_money;
  out.max_cases = options.max_cases;
  out.replays_per_case = plan.replays_per_case;
  out.clusters = empty_clusters(report, plan);
  // Replays run one at a time: one worker's worth of tool servers.
  std::shared_ptr<ToolSet> tools = start_run_tools(tenant, *plan.chain, 1, {});
  ChainExecutor executor(*plan.chain, *tenant.model, tenant.index.get(),
                         execution_settings(tenant), tools.get());
  const std::size_t total = plan.replays.size() * static_cast<std::size_t>(plan.replays_per_case);
  for (const PlannedReplay& replay : plan.replays) {
    ClusterConfirmation& cluster = out.clusters[replay.cluster];
    const Case& item = plan.cases.at(replay.case_id);
    bool case_fixed = false;
    cluster.cases += 1;
    out.cases += 1;
    for (int r = 0; r < plan.replays_per_case; ++r) {
      if (options.cancelled && options.cancelled()) {
        out.cancelled = true;
        return out;
      }
      ReplayStart start = replay.start;
      // A resampled step draws afresh every time; supplied evidence first keeps the run's draws,
      // so the evidence is the only change.
      start.resample = replay.method == ReplayMethod::kResampled ? r + 1 : r;
      FAPO_ASSIGN_OR_RETURN(CaseTrace trace, executor.run_from(item, replay.trial, start));
      out.calls_spent += trace.model_calls;
      out.tokens_in += trace.tokens_in;
      out.tokens_out += trace.tokens_out;
      cluster.replays += 1;
      out.replays += 1;
      std::optional<bool> fixed = fixed_by(tenant, item, trace, report.failure_threshold);
      if (!fixed) {
        cluster.failed += 1;
        out.failed += 1;
      } else if (*fixed) {
        cluster.fixed += 1;
        out.fixed += 1;
        case_fixed = true;
      }
      if (options.progress) options.progress(out.replays, total);
    }
    if (case_fixed) cluster.fixed_case_ids.push_back(replay.case_id);
  }
  return out;
}

json confirmation_summary_json(const ConfirmationReport& confirmation) {
  json out = {{"estimated_calls", confirmation.estimated_calls},
              {"estimated_tokens", confirmation.estimated_tokens},
              {"estimated_money", rounded(confirmation.estimated_money)},
              {"calls_spent", confirmation.calls_spent},
              {"tokens_spent", confirmation.tokens_in + confirmation.tokens_out},
              {"max_cases", confirmation.max_cases},
              {"replays_per_case", confirmation.replays_per_case},
              {"cases", confirmation.cases},
              {"replays", confirmation.replays},
              {"fixed", confirmation.fixed},
              {"failed", confirmation.failed},
              {"rate", rounded(confirmation.rate())}};
  if (confirmation.cancelled) out["cancelled"] = true;
  return out;
}

void add_confirmation(json& report_json, const RunAttribution& report,
                      const ConfirmationReport& confirmation) {
  report_json["confirmation"] = confirmation_summary_json(confirmation);
  if (!report_json.contains("clusters")) return;
  for (std::size_t c = 0; c < report.analysis.clusters.size() && c < confirmation.clusters.size();
       ++c) {
    const Cluster& cluster = report.analysis.clusters[c];
    for (json& item : report_json["clusters"]) {
      if (item.value("class", "") == failure_class_name(cluster.failure_class) &&
          item.value("step", "") == cluster.step_id &&
          item.value("pattern", "") == cluster_pattern(cluster) &&
          item.value("tool", "") == cluster.tool) {
        item["confirmation"] = cluster_confirmation_json(confirmation.clusters[c]);
      }
    }
  }
}

}  // namespace fapo
