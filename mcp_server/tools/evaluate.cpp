// evaluate: starts a run of one of a tenant's stored variants (the baseline by default) on
// train or validation in the background and returns its run id.
//
// The protocol's rules come from the tenant's Laboratory, before anything starts: the test
// split is refused (it is evaluated once, through final_test), validation needs a review that
// passed or warned (the baseline needs none), and the run's estimated cost must fit the budget
// outside the final-test reserve. A run that starts is journaled; validation runs count
// against the validation evaluation cap.
//
// Waiting is the caller's choice. With wait_seconds 0 (the default) the call returns as soon as
// the run exists. With wait_seconds > 0 it follows the run for up to that long (at most 50 s,
// under the 60 s after which Codex abandons a tool call), sending a progress notification as
// results arrive (the dispatcher forwards them only when the client sent a progress token),
// and returns when the run finishes or the time is up — with the run id either way, so the
// caller continues with get_run. If the client cancels the evaluate call while it waits
// (notifications/cancelled), the run it started is cancelled too: the caller withdrew the
// request that wanted it. Once evaluate has returned, cancel_run stops a run.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/protocol/evaluation_wait.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/run_manager.h"
#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDescription =
    "Starts an evaluation run of one of a tenant's variants on the train or validation split "
    "and returns its run_id at once; the run continues in the background. variant (default "
    "baseline) is a name such as v003, an id or id prefix, best, or baseline; propose_variant "
    "creates variants. Use train to find failures (list_cases and get_case show every case, "
    "output and step trace of train runs) and validation only to measure a change (validation "
    "runs show aggregates only). Validation needs a variant whose review_variant verdict is "
    "pass or warn (the baseline needs none), and each validation run counts against the "
    "tenant's validation evaluations; compare runs the validation evaluations it needs itself. "
    "The test split is refused: it is evaluated once, through final_test. Every run is "
    "estimated first and refused if it would not fit the budget (see budget). Optional: trials "
    "(repeat each case; the tenant's acceptance trials before comparing), cache_mode (use, off "
    "or replay-only: the response cache of a real model; the simulated model is never cached), "
    "wait_seconds (up to 50: wait for the run, with progress notifications, and return its "
    "summary if it finishes). Then call get_run (with wait_seconds) until the run is complete. "
    "Cost: one pass of the chain per case and trial — model calls, tokens and money counted in "
    "the tenant's budget (the simulated model costs nothing); repeated identical calls are "
    "answered from the response cache. At most 2 runs go at once; cancel_run stops one.";

struct EvaluateArguments {
  std::string split;
  int trials = 1;
  CacheMode cache_mode = CacheMode::kNormal;
};

Result<EvaluateArguments> evaluate_arguments(const json& arguments) {
  EvaluateArguments parsed;
  parsed.split = arguments.value("split", "train");
  if (parsed.split == "test") {
    return make_error(ErrorCode::kInvalidInput,
                      "the test split is reachable only through final_test, which evaluates the "
                      "chosen variant once at the end and seals the result, so that its score "
                      "stays an unbiased estimate. Use split 'train' to find failures and "
                      "'validation' to measure a change.");
  }
  if (parsed.split != "train" && parsed.split != "validation") {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + parsed.split + "': use 'train' or 'validation'.");
  }
  parsed.trials = arguments.value("trials", 1);
  const std::string cache = arguments.value("cache_mode", "use");
  if (cache == "off") parsed.cache_mode = CacheMode::kDisabled;
  if (cache == "replay-only") parsed.cache_mode = CacheMode::kReplayOnly;
  return parsed;
}

// `error` with `hint` appended as a sentence of its own.
Error with_hint(Error error, const std::string& hint) {
  if (!error.message.empty() && error.message.back() != '.') error.message += '.';
  error.message += " " + hint;
  return error;
}

Error gate_refusal(Error error) {
  if (error.message.rfind("budget:", 0) != 0) return error;
  return with_hint(std::move(error), "The budget tool shows what is left.");
}

Error start_failure(Error error) {
  if (error.code == ErrorCode::kConflict) {
    return with_hint(std::move(error), "Follow a running run with get_run or stop one with "
                                       "cancel_run, then call evaluate again.");
  }
  return with_hint(std::move(error), "validate_tenant lists every problem of the tenant at once.");
}

json variant_json(const VariantRecord& variant) {
  return json{{"variant_id", variant.variant_id},
              {"name", variant.name},
              {"level", level_name(variant.level)}};
}

// Passes the gate, starts the run and journals it; the run's first snapshot.
Result<RunSnapshot> start_gated_run(Laboratory& lab, RunManager& manager,
                                    const VariantRecord& variant, const EvaluateArguments& args,
                                    const std::string& tenant_id) {
  const Purpose purpose = args.split == "validation" ? Purpose::kValidation : Purpose::kTrain;
  // Checking, starting and journaling are one step under the tenant's protocol lock (shared
  // with compare and final_test, and with other processes): otherwise two calls at once could
  // both pass the gate for the last validation evaluation the budget allows.
  FAPO_ASSIGN_OR_RETURN(ProtocolLock lock, ProtocolLock::acquire(lab.protocol_lock_path()));
  Status allowed =
      lab.check_evaluation_allowed(variant.variant_id, args.split, purpose, args.trials);
  if (!allowed.ok()) return gate_refusal(allowed.error());
  EvalRequest request;
  request.tenant_id = tenant_id;
  request.split = args.split;
  request.trials = args.trials;
  request.variant_id = variant.variant_id;
  request.cache_mode = args.cache_mode;
  auto started = manager.start(std::move(request));
  if (!started.ok()) return start_failure(started.error());
  RunSnapshot run = std::move(started).value();
  auto journaled = lab.record_run(run.run_id, variant.variant_id, args.split, args.trials, purpose);
  if (!journaled.ok()) {
    // An evaluation the journal does not know of would escape the validation cap: stop it.
    (void)manager.cancel(tenant_id, run.run_id);
    return journaled.error().with_context("run " + run.run_id +
                                          " was cancelled because it could not be journaled");
  }
  return run;
}

std::string next_step(const RunSnapshot& run, const VariantRecord& variant) {
  if (!run.is_finished()) {
    return "Call get_run with tenant_id '" + run.tenant_id + "', run_id '" + run.run_id +
           "' and wait_seconds up to 50 until the state is complete.";
  }
  if (run.split == "train") {
    return "Call attribute with this run_id to see which step fails and why, or list_cases "
           "with failed_only true and get_case for single step traces.";
  }
  if (variant.level == Level::kBaseline) {
    return "Validation runs give aggregates only. Propose, review and compare a variant "
           "against this baseline with compare.";
  }
  return "Validation runs give aggregates only; call compare with candidate '" + variant.name +
         "' to decide it against the current best.";
}

// Follows `run` for up to the wait argument, with progress; false when the caller cancelled
// the call meanwhile (the run is then cancelled too).
bool follow_run(RunManager& manager, RunSnapshot& run, std::chrono::milliseconds wait,
                ToolContext& context) {
  if (wait.count() == 0 || run.is_finished()) return true;
  context.progress.report(static_cast<double>(run.done), static_cast<double>(run.total),
                          "run " + run.run_id + " started: " + progress_message(run));
  WaitHooks hooks;
  hooks.on_progress = [&](const RunSnapshot& now) {
    context.progress.report(static_cast<double>(now.done), static_cast<double>(now.total),
                            progress_message(now));
  };
  hooks.should_stop = [&] { return context.cancel.is_cancelled(); };
  auto waited = manager.wait(run.tenant_id, run.run_id, wait, hooks);
  if (waited.ok()) run = std::move(waited).value();
  if (!context.cancel.is_cancelled() || run.is_finished()) return true;
  auto cancelled = manager.cancel(run.tenant_id, run.run_id);
  if (cancelled.ok()) run = std::move(cancelled).value();
  return false;
}

ToolResult evaluate_tool(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto manager = run_manager(context.server);
  if (!manager.ok()) return ToolResult::failure(manager.error());
  auto parsed = evaluate_arguments(arguments);
  if (!parsed.ok()) return ToolResult::failure(parsed.error());
  auto variant = variant_argument(**lab, arguments, "baseline");
  if (!variant.ok()) {
    return failure_with_hint(variant.error(), "history lists the tenant's variants.");
  }
  auto started = start_gated_run(**lab, **manager, *variant, *parsed,
                                 arguments["tenant_id"].get<std::string>());
  if (!started.ok()) return ToolResult::failure(started.error());
  RunSnapshot run = std::move(started).value();
  const auto wait = wait_argument(arguments);
  const auto began = Clock::now();
  if (!follow_run(**manager, run, wait, context)) {
    return ToolResult::failure("The evaluate call was cancelled, so run " + run.run_id +
                               " was cancelled too.");
  }
  const double waited_seconds = std::chrono::duration<double>(Clock::now() - began).count();
  json result{{"run", run_json(run)},
              {"variant", variant_json(*variant)},
              {"waited_seconds", wait.count() > 0 ? waited_seconds : 0.0},
              {"next_step", next_step(run, *variant)}};
  return ToolResult::success(std::move(result), "Started " + variant->name + ". " +
                                                    run_sentence(run));
}

}  // namespace

ToolSpec make_evaluate_tool() {
  ToolSpec spec;
  spec.name = "evaluate";
  spec.title = "Evaluate a variant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = false, .destructive = false, .idempotent = false,
                         .open_world = false};
  spec.handler = evaluate_tool;
  return spec;
}

}  // namespace fapo::mcp
