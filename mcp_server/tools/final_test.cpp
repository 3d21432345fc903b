// final_test: the one evaluation of the test split. Runs the chosen variant (default: the best)
// on test once, seals the result and returns it; every later call returns the sealed result and
// spends nothing, and the optimisation is finished (no more proposals or comparisons).
// Waiting is bounded (wait_seconds, at most 50); while the test run goes on the result says
// "running" (with progress, never a partial score) and the next call seals it.

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Runs the final test: evaluates the chosen variant (default \"best\") once on the held-out "
    "test split with the tenant's acceptance trials and seals the result (mean, standard "
    "error, cases, trials), an unbiased estimate of how the variant does on new cases. Call it "
    "once, at the end, when no further change is worth its budget: after sealing, proposals "
    "and comparisons are refused and the optimisation is finished. Later calls return the "
    "sealed result and spend nothing (already_sealed true). The variant needs a review of pass "
    "or warn (the baseline needs none). Cost: one pass of the chain per test case and trial, "
    "paid from the budget's final-test reserve. Waits up to wait_seconds (0-50, default 50) "
    "with progress notifications; if the run is still going it returns status \"running\": "
    "call final_test again to finish and seal (the test runs only once).";

constexpr std::chrono::seconds kDefaultWait{50};

std::chrono::milliseconds wait_of(const json& arguments) {
  if (!arguments.contains("wait_seconds")) return kDefaultWait;
  return wait_argument(arguments);
}

json result_json(const FinalTestOutcome& outcome) {
  if (outcome.status == "running") {
    const PendingEvaluation& test = *outcome.evaluation;
    // Progress only: a running mean of the test split would be a look at it before the seal.
    return json{{"status", "running"},
                {"already_sealed", false},
                {"variant_id", test.variant_id},
                {"name", test.name},
                {"run_id", test.run_id},
                {"trials", test.trials},
                {"done", test.run.done},
                {"total", test.run.total},
                {"estimate",
                 {{"calls", outcome.estimate.calls},
                  {"tokens", outcome.estimate.tokens},
                  {"money", outcome.estimate.money}}},
                {"next_step", "Call final_test again (same variant) to finish and seal it."}};
  }
  json result = outcome.result;
  result["status"] = "sealed";
  result["already_sealed"] = outcome.already_sealed;
  result["next_step"] =
      "The optimisation is finished. Report the sealed test result together "
      "with the validation results (history).";
  return result;
}

std::string summary_of(const FinalTestOutcome& outcome) {
  if (outcome.status == "running") {
    const PendingEvaluation& test = *outcome.evaluation;
    return fmt::format(
        "The final test of {} is running ({}/{} results, run {}); call final_test "
        "again to seal it.",
        test.name, test.run.done, test.run.total, test.run_id);
  }
  const json& sealed = outcome.result;
  std::string text = fmt::format(
      "Final test of {}: mean {:.1f} ± {:.1f} (s.e.) over {} cases x {} trials, sealed at {}.",
      sealed.value("name", "?"), sealed.value("mean", 0.0), sealed.value("standard_error", 0.0),
      sealed.value("cases", 0), sealed.value("trials", 0), sealed.value("sealed_at", "?"));
  if (outcome.already_sealed) text += " It was sealed earlier; this call spent nothing.";
  return text + " The optimisation is finished.";
}

ToolResult final_test_tool(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto manager = run_manager(context.server);
  if (!manager.ok()) return ToolResult::failure(manager.error());
  WaitOptions wait;
  wait.timeout = wait_of(arguments);
  wait.on_progress = [&](std::size_t done, std::size_t total, const std::string&) {
    context.progress.report(static_cast<double>(done), static_cast<double>(total),
                            fmt::format("final test: {}/{} results", done, total));
  };
  wait.should_stop = [&] { return context.cancel.is_cancelled(); };
  auto outcome = (*lab)->final_test(**manager, arguments.value("variant", "best"), wait);
  if (!outcome.ok()) {
    const bool budget = outcome.error().message.find("budget") != std::string::npos;
    return failure_with_hint(outcome.error(), budget ? "The budget tool shows what is left." : "");
  }
  return ToolResult::success(result_json(*outcome), summary_of(*outcome));
}

}  // namespace

ToolSpec make_final_test_tool() {
  ToolSpec spec;
  spec.name = "final_test";
  spec.title = "Run and seal the final test";
  spec.description = std::string(kDescription);
  spec.hints =
      ToolHints{.read_only = false, .destructive = false, .idempotent = true, .open_world = false};
  spec.handler = final_test_tool;
  return spec;
}

}  // namespace fapo::mcp
