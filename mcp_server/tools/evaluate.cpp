// evaluate: starts a run of a tenant's pipeline (or an exported variant) on train or validation
// in the background and returns its run id.
//
// Waiting is the caller's choice. With wait_seconds 0 (the default) the call returns as soon as
// the run exists. With wait_seconds > 0 it follows the run for up to that long (at most 50 s,
// under the 60 s after which Codex abandons a tool call), sending a progress notification as
// results arrive (the dispatcher forwards them only when the client sent a progress token),
// and returns when the run finishes or the time is up — with the run id either way, so the
// caller continues with get_run. If the client cancels the evaluate call while it waits
// (notifications/cancelled), the run it started is cancelled too: the caller withdrew the
// request that wanted it. Once evaluate has returned, cancel_run stops a run.
//
// The test split is refused: it is evaluated once, through final_test.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/run/run_manager.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDescription =
    "Starts an evaluation run of a tenant's pipeline on the train or validation split and "
    "returns its run_id at once; the run continues in the background. Use train to find "
    "failures (list_cases and get_case show every case, output and step trace of train runs) "
    "and validation only to measure a change (validation runs show aggregates only). The test "
    "split is refused: it is evaluated once, through final_test. Optional: trials (repeat each "
    "case; use the tenant's acceptance trials before comparing), variant_dir (a directory in "
    "the workspace with chain.json and prompts/ to evaluate instead of the baseline), "
    "wait_seconds (up to 50: wait for the run, with progress notifications, and return its "
    "summary if it finishes). Then call get_run (with wait_seconds) until the run is complete. "
    "Cost: one pass of the chain per case and trial — model calls, tokens and money counted in "
    "the tenant's budget (the simulated model costs nothing); repeated identical calls are "
    "answered from the response cache. At most 2 runs go at once; cancel_run stops one.";

Result<EvalRequest> eval_request(const json& arguments) {
  EvalRequest request;
  request.tenant_id = arguments["tenant_id"].get<std::string>();
  request.split = arguments.value("split", "train");
  if (request.split == "test") {
    return make_error(ErrorCode::kInvalidInput,
                      "evaluate does not run the test split: the test split is evaluated once, "
                      "at the end, through final_test, so that its score stays an unbiased "
                      "estimate. Use split 'train' to find failures and 'validation' to measure "
                      "a change.");
  }
  if (request.split != "train" && request.split != "validation") {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + request.split + "': use 'train' or 'validation'.");
  }
  request.trials = arguments.value("trials", 1);
  request.variant_dir = arguments.value("variant_dir", "");
  return request;
}

std::string next_step(const RunSnapshot& run) {
  if (!run.is_finished()) {
    return "Call get_run with tenant_id '" + run.tenant_id + "', run_id '" + run.run_id +
           "' and wait_seconds up to 50 until the state is complete.";
  }
  if (run.split == "train") {
    return "Call list_cases with failed_only true to see the failed cases, then get_case for "
           "their step traces.";
  }
  return "Validation runs give aggregates only; compare the mean with earlier validation runs "
         "of the same trials.";
}

ToolResult evaluate_tool(const json& arguments, ToolContext& context) {
  auto workspace = open_tenant(context.server, arguments);
  if (!workspace.ok()) return ToolResult::failure(workspace.error());
  auto manager = run_manager(context.server);
  if (!manager.ok()) return ToolResult::failure(manager.error());
  auto request = eval_request(arguments);
  if (!request.ok()) return ToolResult::failure(request.error());

  auto started = (*manager)->start(*request);
  if (!started.ok()) {
    const bool busy = started.error().code == ErrorCode::kConflict;
    return failure_with_hint(started.error(),
                             busy ? "Follow a running run with get_run or stop one with "
                                    "cancel_run, then call evaluate again."
                                  : "validate_tenant lists every problem of the tenant at once.");
  }
  RunSnapshot run = std::move(started).value();
  const auto wait = wait_argument(arguments);
  const auto began = Clock::now();
  if (wait.count() > 0 && !run.is_finished()) {
    context.progress.report(static_cast<double>(run.done), static_cast<double>(run.total),
                            "run " + run.run_id + " started: " + progress_message(run));
    WaitHooks hooks;
    hooks.on_progress = [&](const RunSnapshot& now) {
      context.progress.report(static_cast<double>(now.done), static_cast<double>(now.total),
                              progress_message(now));
    };
    hooks.should_stop = [&] { return context.cancel.is_cancelled(); };
    auto waited = (*manager)->wait(run.tenant_id, run.run_id, wait, hooks);
    if (waited.ok()) run = std::move(waited).value();
    if (context.cancel.is_cancelled() && !run.is_finished()) {
      auto cancelled = (*manager)->cancel(run.tenant_id, run.run_id);
      if (cancelled.ok()) run = std::move(cancelled).value();
      return ToolResult::failure("The evaluate call was cancelled, so run " + run.run_id +
                                 " was cancelled too.");
    }
  }
  const double waited_seconds = std::chrono::duration<double>(Clock::now() - began).count();
  json result{{"run", run_json(run)},
              {"waited_seconds", wait.count() > 0 ? waited_seconds : 0.0},
              {"next_step", next_step(run)}};
  return ToolResult::success(std::move(result), "Started. " + run_sentence(run));
}

}  // namespace

ToolSpec make_evaluate_tool() {
  ToolSpec spec;
  spec.name = "evaluate";
  spec.title = "Evaluate a pipeline";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = evaluate_tool;
  return spec;
}

}  // namespace fapo::mcp
