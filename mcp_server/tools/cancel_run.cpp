// cancel_run: stops a run this server is evaluating. The run stops before its next model call
// (calls in flight finish), is recorded as cancelled, and keeps every result it has. The call
// waits a few seconds for the run to stop so that its answer usually reports the final state.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/run/case_access.h"
#include "engine/run/run_manager.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr auto kStopWait = std::chrono::seconds(10);

constexpr std::string_view kDescription =
    "Cancels a run that this server is evaluating (one started by evaluate). The run stops "
    "before its next model call, is recorded as cancelled and keeps the results it has; no "
    "further model calls are spent on it. Use it to stop a run started by mistake or to free a "
    "slot (at most 2 runs go at once). Cancelling a finished run changes nothing. Cancelling "
    "the evaluate call itself while it waits also cancels its run. Waits up to 10 s for the run "
    "to stop.";

ToolResult cancel_run(const json& arguments, ToolContext& context) {
  auto target = open_run(context.server, arguments, RunDetail::kAggregates, "Runs");
  if (!target.ok()) return ToolResult::failure(target.error());
  RunManager* manager = target->manager;
  const std::string& tenant_id = target->tenant_id;
  const std::string run_id = target->run.run_id;
  const RunSnapshot* before = &target->run;
  const bool was_finished = before->is_finished() || before->state == RunState::kInterrupted;
  auto run = manager->cancel(tenant_id, run_id);
  if (!run.ok()) return ToolResult::failure(run.error());
  if (!was_finished) {
    WaitHooks hooks;
    hooks.should_stop = [&] { return context.cancel.is_cancelled(); };
    run = manager->wait(tenant_id, run_id, kStopWait, hooks);
    if (!run.ok()) return ToolResult::failure(run.error());
  }
  const bool stopped = run->state != RunState::kRunning;
  std::string summary = was_finished ? "Nothing to cancel: " + run_sentence(*run)
                        : stopped    ? run_sentence(*run)
                                     : "Cancellation requested; the run is still stopping. " +
                                           run_sentence(*run);
  json result{{"run", run_json(*run)},
              {"stopped", stopped},
              {"next_step", stopped ? "Start a new run with evaluate when ready."
                                    : "Call get_run with wait_seconds to see it stop."}};
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_cancel_run_tool() {
  ToolSpec spec;
  spec.name = "cancel_run";
  spec.title = "Cancel a run";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = cancel_run;
  return spec;
}

}  // namespace fapo::mcp
