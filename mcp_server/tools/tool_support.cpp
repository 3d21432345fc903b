#include "mcp_server/tools/tool_support.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "engine/base/strings.h"
#include "engine/run/case_access.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

json usage_json(const std::map<std::string, CostTotals>& usage) {
  json out = json::object();
  for (const auto& [role, totals] : usage) out[role] = totals.to_json();
  return out;
}

json summary_json(const RunSummary& summary, const std::string& split) {
  json out{{"mean", summary.mean},
           {"standard_error", summary.standard_error},
           {"trial_means", summary.trial_means},
           {"breakdown_means", summary.breakdown_means},
           {"cases", summary.cases},
           {"results", summary.results},
           {"scored", summary.scored},
           {"infrastructure_failures", summary.infrastructure_failures},
           {"scorer_failures", summary.scorer_failures},
           {"judge_fallbacks", summary.judge_fallbacks},
           {"model_provider", summary.model_provider},
           {"simulated", summary.model_provider == "sim"},
           {"model_calls", summary.model_calls},
           {"tokens_in", summary.tokens_in},
           {"tokens_out", summary.tokens_out},
           {"cost", summary.cost},
           {"cached_calls", summary.cached_calls},
           {"usage", usage_json(summary.usage)},
           {"cache_mode", summary.cache_mode},
           {"wall_seconds", summary.wall_seconds}};
  // Case ids are per-case information: shown for train runs only.
  if (case_access_for(split) == CaseAccess::kFull) {
    out["failed_case_examples"] = summary.failed_case_examples;
  }
  return out;
}

std::string shape(const RunSnapshot& run) {
  const std::size_t trials = static_cast<std::size_t>(std::max(run.trials, 1));
  const std::size_t cases = run.total / trials;
  return run.split + ", " + std::to_string(cases) + (cases == 1 ? " case" : " cases") + " x " +
         std::to_string(trials) + (trials == 1 ? " trial" : " trials");
}

}  // namespace

Result<Workspace> open_workspace(const ServerContext& context) {
  return Workspace::open(context.workspace);
}

Status check_tenant_exists(const Workspace& workspace, const std::string& tenant_id) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  const std::vector<std::string> tenants = workspace.list_tenants();
  if (std::find(tenants.begin(), tenants.end(), tenant_id) != tenants.end()) return ok_status();
  std::string message = "unknown tenant '" + tenant_id + "'";
  std::optional<std::string> guess = closest_match(tenant_id, tenants);
  for (auto it = tenants.begin(); !guess && it != tenants.end(); ++it) {
    // A shortened id ("multihop" for "multihop_qa") is too far for edit distance.
    if (it->find(tenant_id) != std::string::npos) guess = *it;
  }
  if (guess) message += " (did you mean '" + *guess + "'?)";
  message += tenants.empty() ? "; the workspace has no tenants"
                             : "; tenants in this workspace: " + join(tenants, ", ");
  return make_error(ErrorCode::kNotFound, message + ". list_tenants shows them all.");
}

Result<Workspace> open_tenant(const ServerContext& context, const json& arguments) {
  FAPO_ASSIGN_OR_RETURN(Workspace workspace, open_workspace(context));
  FAPO_RETURN_IF_ERROR(check_tenant_exists(workspace, arguments.value("tenant_id", "")));
  return workspace;
}

Result<RunManager*> run_manager(const ServerContext& context) {
  if (!context.runs) {
    return make_error(ErrorCode::kInternal, "this server was started without evaluation support");
  }
  return context.runs.get();
}

Result<RunTarget> open_run(const ServerContext& context, const nlohmann::json& arguments,
                           RunDetail detail, std::string_view what) {
  FAPO_ASSIGN_OR_RETURN(Workspace workspace, open_tenant(context, arguments));
  FAPO_ASSIGN_OR_RETURN(RunManager * manager, run_manager(context));
  const std::string tenant_id = arguments["tenant_id"];
  FAPO_ASSIGN_OR_RETURN(RunSnapshot run,
                        manager->snapshot(tenant_id, arguments["run_id"].get<std::string>()));
  FAPO_RETURN_IF_ERROR(detail == RunDetail::kIndividualCases
                           ? check_case_access(run.split, what)
                           : check_aggregate_access(run.split, what));
  return RunTarget{std::move(workspace), manager, tenant_id, std::move(run)};
}

std::chrono::milliseconds wait_argument(const json& arguments) {
  auto found = arguments.find("wait_seconds");
  if (found == arguments.end() || !found->is_number()) return std::chrono::milliseconds(0);
  const double seconds = std::clamp(found->get<double>(), 0.0, double{kMaxWaitSeconds});
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

json run_json(const RunSnapshot& run) {
  json out{{"run_id", run.run_id},
           {"tenant_id", run.tenant_id},
           {"split", run.split},
           {"trials", run.trials},
           {"variant_id", run.variant_id},
           {"state", run_state_name(run.state)},
           {"active", run.active},
           {"cancel_requested", run.cancel_requested},
           {"done", run.done},
           {"total", run.total},
           {"mean", run.mean}};
  if (run.summary) out["summary"] = summary_json(*run.summary, run.split);
  if (!run.error.empty()) out["error"] = run.error;
  return out;
}

std::string progress_message(const RunSnapshot& run) {
  return fmt::format("{}/{} results, running mean {:.1f}", run.done, run.total, run.mean);
}

std::string run_sentence(const RunSnapshot& run) {
  const std::string head = "Run " + run.run_id + " (" + shape(run) + ")";
  const std::string counted = fmt::format("{}/{} results", run.done, run.total);
  switch (run.state) {
    case RunState::kRunning:
      return head + " is running: " + progress_message(run) +
             (run.cancel_requested ? "; cancellation requested." : ".");
    case RunState::kComplete: {
      std::string text = fmt::format("{} is complete: mean {:.1f}", head, run.mean);
      if (run.summary) {
        text += fmt::format(" ± {:.1f} (s.e.) over {} scored results", run.summary->standard_error,
                            run.summary->scored);
        if (run.summary->infrastructure_failures > 0) {
          text += fmt::format(", {} infrastructure failures excluded",
                              run.summary->infrastructure_failures);
        }
        if (run.summary->model_provider == "sim") text += " (simulated model)";
      }
      return text + ".";
    }
    case RunState::kCancelled:
      return fmt::format("{} was cancelled after {} (mean so far {:.1f}).", head, counted,
                         run.mean);
    case RunState::kFailed:
      return head + " failed after " + counted +
             (run.error.empty() ? "." : ": " + truncate_utf8(run.error, 600));
    case RunState::kInterrupted:
      return head + " was interrupted after " + counted +
             " (the process evaluating it stopped); resume it with `fapo eval " + run.tenant_id +
             " --resume " + run.run_id + "`.";
  }
  return head + ".";
}

ToolResult failure_with_hint(const Error& error, const std::string& hint) {
  std::string text = error.message;
  if (!text.empty() && text.back() != '.') text += '.';
  if (!hint.empty()) text += " " + hint;
  return ToolResult::failure(text);
}

}  // namespace fapo::mcp
