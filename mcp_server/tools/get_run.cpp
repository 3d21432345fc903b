// get_run: the state, progress and summary of a run, optionally after waiting (bounded) for it
// to finish, with progress notifications while waiting. Cancelling a get_run call only stops the
// wait, never the run. Runs on the test split are not shown (final_test reports those).

#include <string>

#include <nlohmann/json.hpp>

#include "engine/run/case_access.h"
#include "engine/run/run_manager.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Returns a run's state (running, complete, cancelled, failed, interrupted), its progress "
    "(results done of total, running mean) and, once finished, its summary: mean composite "
    "score 0-100 with standard error, per-trial means, score breakdown means, failure counts, "
    "model calls, tokens, cost and time. Use it after evaluate: pass wait_seconds (up to 50) to "
    "block until the run finishes or the time is up, with progress notifications meanwhile; "
    "call again while the state is running. Train and validation runs are shown; test runs are "
    "not. Cheap: reads the run's state, no model calls.";

std::string next_step(const RunSnapshot& run) {
  switch (run.state) {
    case RunState::kRunning:
      return "Call get_run again with wait_seconds up to 50.";
    case RunState::kComplete:
      return run.split == "train"
                 ? "Call list_cases with failed_only true, then get_case for step traces."
                 : "list_cases shows this validation run's aggregates by task type.";
    case RunState::kCancelled:
    case RunState::kFailed:
    case RunState::kInterrupted:
      return "Start a new run with evaluate when ready.";
  }
  return "";
}

ToolResult get_run(const json& arguments, ToolContext& context) {
  auto target = open_run(context.server, arguments, RunDetail::kAggregates, "Results");
  if (!target.ok()) return ToolResult::failure(target.error());
  RunManager* manager = target->manager;
  const std::string& tenant_id = target->tenant_id;
  const std::string run_id = target->run.run_id;
  Result<RunSnapshot> run = target->run;
  const auto wait = wait_argument(arguments);
  if (wait.count() > 0 && !run->is_finished()) {
    context.progress.report(static_cast<double>(run->done), static_cast<double>(run->total),
                            progress_message(*run));
    WaitHooks hooks;
    hooks.on_progress = [&](const RunSnapshot& now) {
      context.progress.report(static_cast<double>(now.done), static_cast<double>(now.total),
                              progress_message(now));
    };
    hooks.should_stop = [&] { return context.cancel.is_cancelled(); };
    run = manager->wait(tenant_id, run_id, wait, hooks);
    if (!run.ok()) return ToolResult::failure(run.error());
  }
  json result{{"run", run_json(*run)}, {"next_step", next_step(*run)}};
  return ToolResult::success(std::move(result), run_sentence(*run));
}

}  // namespace

ToolSpec make_get_run_tool() {
  ToolSpec spec;
  spec.name = "get_run";
  spec.title = "Get a run's status";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = get_run;
  return spec;
}

}  // namespace fapo::mcp
