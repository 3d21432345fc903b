// attribute: names, for each failed case of a run, the step that broke and why, groups the
// failures into clusters, recommends the level of the next change and estimates the ceiling of
// each level (engine/attribution/run_attribution.h). Train runs give everything; validation
// runs the same analysis as counts and shares only; test runs are refused (case_access.h).

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/attribution/run_attribution.h"
#include "engine/run/case_access.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultMaxAttributions = 40;

constexpr std::string_view kDescription =
    "Finds, for each failed case of a run, the step that broke and why, from the case's "
    "expected values and the step trace: infrastructure, tool_failure, cascade (an empty step "
    "emptied what followed), retrieval_miss (no retrieved passage holds the evidence), "
    "dropped_evidence (a step had the evidence in its input and lost it), format (the answer "
    "is in the output but the scorer cannot read it), reasoning (the evidence reached the "
    "answering step and the answer is still wrong). Returns clusters by class, step and output "
    "pattern (empty, refusal_or_hedge, too_long, wrong_shape, wrong_content) with counts, "
    "shares and example case ids, the level each suggests (prompt, parameter, structural), "
    "the ceiling score each level could reach, and a recommended level for the next variant. "
    "Train runs: per-case attributions with their evidence (inspect them with get_case). "
    "Validation runs: counts and shares only. Test runs: refused. Cheap: reads the run, no "
    "model calls.";

std::string summarize(const json& report) {
  std::string top;
  if (!report["clusters"].empty()) {
    const json& cluster = report["clusters"][0];
    top = fmt::format(" Largest cluster: {} at step '{}' ({}, {} cases).",
                      cluster["class"].get<std::string>(), cluster["step"].get<std::string>(),
                      cluster["pattern"].get<std::string>(), cluster["count"].get<int>());
  }
  return fmt::format("Run {} ({}): {} of {} cases failed.{} Recommended level: {}.",
                     report["run_id"].get<std::string>(), report["split"].get<std::string>(),
                     report["failed_cases"].get<int>(), report["cases"].get<int>(), top,
                     report["recommended_level"].get<std::string>());
}

ToolResult attribute(const json& arguments, ToolContext& context) {
  auto target = open_run(context.server, arguments, RunDetail::kAggregates, "Attribution");
  if (!target.ok()) return ToolResult::failure(target.error());
  AttributionOptions options;
  if (arguments.contains("failure_threshold")) {
    options.failure_threshold = arguments["failure_threshold"].get<double>();
  }
  options.max_examples = arguments.value("max_examples", std::size_t{5});
  auto report = attribute_run(target->workspace, target->tenant_id, target->run.run_id, options);
  if (!report.ok()) return ToolResult::failure(report.error());
  json result = to_json(*report, case_access_for(report->split));
  const std::size_t limit = arguments.value("max_attributions", kDefaultMaxAttributions);
  if (result.contains("attributions") && result["attributions"].size() > limit) {
    const std::size_t omitted = result["attributions"].size() - limit;
    result["attributions"].erase(result["attributions"].begin() + static_cast<long>(limit),
                                 result["attributions"].end());
    result["attributions_omitted"] = omitted;
  }
  // Evidence quotes dataset and model text: data, stripped of control characters.
  sanitize_json_strings(result);
  std::string summary = summarize(result);
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_attribute_tool() {
  ToolSpec spec;
  spec.name = "attribute";
  spec.title = "Attribute a run's failures to steps";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = attribute;
  return spec;
}

}  // namespace fapo::mcp
