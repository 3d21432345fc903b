// compare: decides whether a candidate variant beats the incumbent (default: the best) on
// validation — running the missing evaluations first — and, on an accept, makes it the best.
// Train comparisons inform only. Waiting is bounded (wait_seconds, at most 50); when the
// evaluations take longer the result says "evaluating" and the next call continues.

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
    "Compares a candidate variant with the incumbent (default \"best\") on a split (default "
    "validation) and decides. Both need the tenant's acceptance trials on the split; compare "
    "starts the missing evaluations itself when the budget allows — each one case x trial "
    "pass of the chain over the split (e.g. 88 validation cases x 3 trials x the chain's llm "
    "steps) — and reports its estimate of the model calls in estimate.calls (the budget tool "
    "shows how many comparisons are left). It waits up to wait_seconds (0-50, default 50) with "
    "progress notifications; if the evaluations are still running it returns status "
    "\"evaluating\": call compare again with the same arguments (running evaluations are picked "
    "up, never started twice). Decision: per-case paired differences over all trials, a "
    "bootstrap interval and a paired sign-flip test; accept only if the gain is at least the "
    "tenant's min_effect and significant. On validation against the best, an accept makes the "
    "candidate the new best (journaled). Train comparisons inform but never decide; the test "
    "split is refused (final_test). Needs review_variant first: on validation both variants "
    "need a review of pass or warn (the baseline needs none).";

constexpr std::chrono::seconds kDefaultWait{50};

std::chrono::milliseconds wait_of(const json& arguments) {
  if (!arguments.contains("wait_seconds")) return kDefaultWait;
  return wait_argument(arguments);
}

json variant_json(const VariantRecord& record) {
  return {{"variant_id", record.variant_id}, {"name", record.name}};
}

json evaluations_json(const std::vector<PendingEvaluation>& evaluations) {
  json out = json::array();
  for (const PendingEvaluation& evaluation : evaluations) {
    out.push_back({{"variant", evaluation.name},
                   {"run_id", evaluation.run_id},
                   {"trials", evaluation.trials},
                   {"started_now", evaluation.started_now},
                   {"state", run_state_name(evaluation.run.state)},
                   {"done", evaluation.run.done},
                   {"total", evaluation.run.total}});
  }
  return out;
}

// Run ids per side: those the comparison used once decided, those being awaited otherwise.
json run_ids_json(const CompareOutcome& outcome) {
  json ids{{"candidate", json::array()}, {"incumbent", json::array()}};
  if (outcome.comparison) {
    ids["candidate"] = outcome.comparison->candidate.run_ids;
    ids["incumbent"] = outcome.comparison->incumbent.run_ids;
    return ids;
  }
  for (const PendingEvaluation& evaluation : outcome.evaluations) {
    const bool is_candidate = evaluation.variant_id == outcome.candidate.variant_id;
    ids[is_candidate ? "candidate" : "incumbent"].push_back(evaluation.run_id);
  }
  return ids;
}

void add_statistics(json& result, const Comparison& comparison) {
  const json report = to_json(comparison);
  for (const char* key : {"decision", "reason", "mean_difference", "interval", "p_value",
                          "min_effect", "confidence", "noise_floor", "cases", "trials", "improved",
                          "regressed", "unchanged", "excluded", "breakdown_deltas", "means"}) {
    if (report.contains(key)) result[key] = report[key];
  }
}

std::string next_step(const CompareOutcome& outcome) {
  if (outcome.status == "evaluating") {
    return "Call compare again with candidate '" + outcome.candidate.name + "', incumbent '" +
           outcome.incumbent.name + "' and split '" + outcome.split + "' to continue.";
  }
  if (!outcome.decisive) return outcome.note + ".";
  if (outcome.comparison->accepted) {
    return outcome.candidate.name +
           " is the new best. Look for the remaining failures on train "
           "(evaluate, attribute) and propose the next change, or call final_test when done.";
  }
  return "The best stays " + outcome.best.name +
         ". record_note what you learned, then propose "
         "another change.";
}

json result_json(const CompareOutcome& outcome) {
  json result{{"status", outcome.status},
              {"split", outcome.split},
              {"candidate", variant_json(outcome.candidate)},
              {"incumbent", variant_json(outcome.incumbent)},
              {"decisive", outcome.decisive},
              {"reason", outcome.note},
              {"run_ids", run_ids_json(outcome)},
              {"evaluations", evaluations_json(outcome.evaluations)},
              {"estimate",
               {{"calls", outcome.estimate.calls},
                {"tokens", outcome.estimate.tokens},
                {"money", outcome.estimate.money}}},
              {"best", variant_json(outcome.best)},
              {"next_step", next_step(outcome)}};
  if (outcome.comparison) add_statistics(result, *outcome.comparison);
  if (outcome.failure_deltas.is_object()) result["failure_deltas"] = outcome.failure_deltas;
  if (!outcome.note.empty()) result["note"] = outcome.note;
  return result;
}

std::string summary_of(const CompareOutcome& outcome) {
  if (outcome.status == "evaluating") {
    return "Evaluating (about " + std::to_string(outcome.estimate.calls) +
           " model calls started by this call): " + outcome.note + ".";
  }
  const Comparison& comparison = *outcome.comparison;
  std::string text = outcome.candidate.name + " vs " + outcome.incumbent.name + " on " +
                     outcome.split + ": " + (comparison.accepted ? "accept" : "reject") + ". " +
                     comparison.reason;
  if (outcome.decisive) {
    return text + (comparison.accepted ? " " + outcome.candidate.name + " is the new best."
                                       : " The best stays " + outcome.best.name + ".");
  }
  return text + " Not a decision: " + outcome.note + ".";
}

std::string hint_for(const Error& error) {
  if (error.code == ErrorCode::kNotFound) return "history lists the variants.";
  if (error.message.find("not been reviewed") != std::string::npos) {
    return "Call review_variant first.";
  }
  if (error.message.find("budget") != std::string::npos)
    return "The budget tool shows what is left.";
  return "";
}

ToolResult compare_tool(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto manager = run_manager(context.server);
  if (!manager.ok()) return ToolResult::failure(manager.error());
  WaitOptions wait;
  wait.timeout = wait_of(arguments);
  wait.on_progress = [&](std::size_t done, std::size_t total, const std::string& message) {
    context.progress.report(static_cast<double>(done), static_cast<double>(total), message);
  };
  wait.should_stop = [&] { return context.cancel.is_cancelled(); };
  auto outcome = (*lab)->compare(**manager, arguments["candidate"].get<std::string>(),
                                 arguments.value("incumbent", "best"),
                                 arguments.value("split", "validation"), wait);
  if (!outcome.ok()) return failure_with_hint(outcome.error(), hint_for(outcome.error()));
  return ToolResult::success(result_json(*outcome), summary_of(*outcome));
}

}  // namespace

ToolSpec make_compare_tool() {
  ToolSpec spec;
  spec.name = "compare";
  spec.title = "Compare a variant with the best";
  spec.description = std::string(kDescription);
  spec.hints =
      ToolHints{.read_only = false, .destructive = false, .idempotent = false, .open_world = false};
  spec.handler = compare_tool;
  return spec;
}

}  // namespace fapo::mcp
