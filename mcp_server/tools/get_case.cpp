// get_case: one case of a train run in full — the dataset record joined with its result and the
// step trace (rendered prompts, replies, outputs, retrieval details) — with every text field cut
// at max_chars and marked where cut. Validation and test runs are refused (case_access.h).
// The simulated model's record of which rule produced a reply is removed from the trace: it is
// the simulator's ground truth, for fapo's own tests, and would tell the optimiser the answer
// key of the simulation rather than anything a real model shows.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/run/case_access.h"
#include "engine/run/case_outcomes.h"
#include "engine/run/run_manager.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultMaxChars = 1500;

constexpr std::string_view kDescription =
    "Shows one case of a train run in full: the dataset record (context the chain reads, "
    "expected values the scorer reads, task type, metadata), the result (score, breakdown, "
    "failed flag, final output, errors) and the step trace in execution order — for each step "
    "its kind, rendered prompt messages, raw reply, output, tokens, latency and kind-specific "
    "detail such as the retrieval query and passage ids. Use it on failed cases from "
    "list_cases to find the step where the answer was lost (a retrieval that missed the "
    "evidence, a step that dropped it, a final answer in the wrong form). Text fields longer "
    "than max_chars (default 1500) are cut and marked. Train runs only: validation and test "
    "cases are never shown. Cheap: reads the run's results and the dataset, no model calls.";

// The dataset record of `case_id`, or null when the dataset no longer has it.
Result<json> case_record(const Workspace& workspace, const std::string& tenant_id,
                         const std::string& case_id) {
  json record;
  Diagnostics problems = read_dataset(
      workspace.tenant_dir(tenant_id) / "dataset.jsonl", "tenants/" + tenant_id + "/dataset.jsonl",
      [&](Case&& item) {
        if (item.case_id != case_id || !record.is_null()) return;
        record = json{{"task_type", item.task_type},
                      {"context", item.context},
                      {"expected", item.expected},
                      {"metadata", item.metadata}};
      });
  if (!problems.empty()) return diagnostics_error(problems);
  return record;
}

bool is_failed(const json& line) {
  auto score = line.find("score");
  return score == line.end() || !score->is_number() || score->get<double>() < kFullMarks;
}

json result_json(const json& line) {
  json result{{"score", line.contains("score") ? line["score"] : json(nullptr)},
              {"failed", is_failed(line)},
              {"final_output", line.value("final_output", "")}};
  for (const char* key : {"breakdown", "error", "scorer_error", "infrastructure_failure",
                          "tokens_in", "tokens_out", "model_calls", "latency_ms"}) {
    if (line.contains(key)) result[key] = line[key];
  }
  return result;
}

// The trace's steps without the simulator's ground truth; `simulated` is set when some step
// had it.
json steps_json(const json& line, bool& simulated) {
  json steps = json::array();
  if (!line.contains("trace") || !line["trace"].contains("steps")) return steps;
  for (json step : line["trace"]["steps"]) {
    if (auto detail = step.find("detail"); detail != step.end() && detail->is_object()) {
      simulated |= detail->erase("sim") > 0;
      if (detail->empty()) step.erase("detail");
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::string summarize(const json& result) {
  std::vector<std::string> steps;
  for (const json& step : result["steps"]) {
    steps.push_back(step.value("step_id", "?") + " (" + step.value("kind", "?") + ")");
  }
  const json& outcome = result["result"];
  const std::string score = outcome["score"].is_number()
                                ? fmt::format("{:.1f}", outcome["score"].get<double>())
                                : std::string("not scored");
  return fmt::format("Case {} (trial {}) of run {}: score {}{}; final output \"{}\"; steps: {}.",
                     result["case_id"].get<std::string>(), result["trial"].get<int>(),
                     result["run_id"].get<std::string>(), score,
                     outcome["failed"].get<bool>() ? ", failed" : "",
                     truncate_text(outcome["final_output"].get<std::string>(), 120),
                     join(steps, " -> "));
}

ToolResult get_case(const json& arguments, ToolContext& context) {
  auto target =
      open_run(context.server, arguments, RunDetail::kIndividualCases, "Individual cases");
  if (!target.ok()) return ToolResult::failure(target.error());
  const Workspace* workspace = &target->workspace;
  const std::string& tenant_id = target->tenant_id;
  const std::string case_id = arguments["case_id"];
  const int trial = arguments.value("trial", 0);
  const RunSnapshot* run = &target->run;
  RunStore store(*workspace, tenant_id);
  auto plan = store.load_plan(run->run_id);
  if (!plan.ok()) return ToolResult::failure(plan.error());
  auto line = read_case_result(store, *plan, case_id, trial);
  if (!line.ok()) return failure_with_hint(line.error(), "list_cases shows the run's cases.");
  auto record = case_record(*workspace, tenant_id, case_id);
  if (!record.ok()) return ToolResult::failure(record.error());

  const std::size_t max_chars = arguments.value("max_chars", kDefaultMaxChars);
  bool simulated = false;
  json result{{"run_id", run->run_id},     {"split", run->split},
              {"case_id", case_id},        {"trial", trial},
              {"trials", plan->trials},    {"case", std::move(*record)},
              {"result", result_json(*line)}, {"steps", steps_json(*line, simulated)},
              {"max_chars", max_chars}};
  if (simulated) result["simulated"] = true;
  // Dataset and model text is data: invisible and control characters go before the lengths
  // that decide truncation are measured.
  sanitize_json_strings(result);
  truncate_json_strings(result, max_chars);
  std::string summary = summarize(result);
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_get_case_tool() {
  ToolSpec spec;
  spec.name = "get_case";
  spec.title = "Get a case with its trace";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = get_case;
  return spec;
}

}  // namespace fapo::mcp
