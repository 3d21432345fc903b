// review_variant: runs the deterministic review checks on a stored variant and journals the
// verdict. A variant must pass (or only warn) before it can be evaluated on validation,
// compared there, accepted, or take the final test.

#include <nlohmann/json.hpp>
#include <string>

#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kDescription =
    "Reviews a stored variant with deterministic checks and records the verdict: pass, warn or "
    "fail, with findings (id, severity block or warn, message, step). Checks: the chain and "
    "every template variable resolve; placeholders of edited prompts are unchanged; the level "
    "and edited steps are in the tenant's scope; frozen settings and parameter ranges hold; no "
    "text from validation or test cases (reported without quoting it); no verbatim training "
    "cases or case-specific rules; not a duplicate of an earlier variant; prompt growth within "
    "bounds. Call it after propose_variant and before compare: a variant that fails cannot be "
    "evaluated on validation or accepted — fix the findings in a new proposal. Reviewing again "
    "is allowed (the latest verdict counts). Cost: no model calls, no budget.";

std::string next_step(const VariantRecord& record, const ReviewReport& report) {
  if (report.verdict == "fail") {
    return "Fix the blocking findings in a new proposal (propose_variant); " + record.name +
           " cannot be evaluated on validation or accepted.";
  }
  return "Call compare with candidate '" + record.name +
         "' to evaluate it on validation against the best variant and decide.";
}

std::string summary_of(const VariantRecord& record, const ReviewReport& report) {
  std::size_t blocking = 0;
  for (const ReviewFinding& finding : report.findings) {
    blocking += finding.severity == Severity::kBlock;
  }
  std::string text = "Review of " + record.name + ": " + report.verdict;
  if (report.findings.empty()) return text + " (no findings). " + next_step(record, report);
  text += " (" + std::to_string(report.findings.size()) + " finding(s), " +
          std::to_string(blocking) + " blocking; first: " + report.findings.front().id + ": " +
          report.findings.front().message + ")";
  return text + ". " + next_step(record, report);
}

ToolResult review_variant(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto record = variant_argument(**lab, arguments);
  if (!record.ok()) return failure_with_hint(record.error(), "history lists the variants.");
  auto report = (*lab)->review(record->variant_id);
  if (!report.ok()) return ToolResult::failure(report.error());
  json result{{"variant_id", record->variant_id},
              {"name", record->name},
              {"verdict", report->verdict},
              {"findings", to_json(*report)["findings"]},
              {"next_step", next_step(*record, *report)}};
  return ToolResult::success(std::move(result), summary_of(*record, *report));
}

}  // namespace

ToolSpec make_review_variant_tool() {
  ToolSpec spec;
  spec.name = "review_variant";
  spec.title = "Review a variant";
  spec.description = std::string(kDescription);
  spec.hints =
      ToolHints{.read_only = false, .destructive = false, .idempotent = true, .open_world = false};
  spec.handler = review_variant;
  return spec;
}

}  // namespace fapo::mcp
