#include "engine/review/review.h"

#include "engine/base/strings.h"
#include "engine/review/review_checks.h"

namespace fapo {
namespace {

void collect_strings(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& item : value) collect_strings(item, out);
  }
}

Status check_input(const ReviewInput& input) {
  if (input.candidate == nullptr) {
    return make_error(ErrorCode::kInvalidInput, "review: no candidate pipeline to review");
  }
  for (const char* level : {"baseline", "prompt", "parameter", "structural"}) {
    if (input.level == level) return ok_status();
  }
  return make_error(ErrorCode::kInvalidInput,
                    "review: unknown level '" + input.level +
                        "' (expected prompt, parameter, structural or baseline)");
}

}  // namespace

const char* severity_name(Severity severity) {
  return severity == Severity::kBlock ? "block" : "warn";
}

nlohmann::json to_json(const ReviewReport& report) {
  nlohmann::json findings = nlohmann::json::array();
  for (const ReviewFinding& finding : report.findings) {
    nlohmann::json item = {{"id", finding.id},
                           {"severity", severity_name(finding.severity)},
                           {"message", finding.message}};
    if (!finding.step.empty()) item["step"] = finding.step;
    findings.push_back(std::move(item));
  }
  return {{"verdict", report.verdict}, {"findings", std::move(findings)}};
}

std::vector<std::pair<std::string, std::string>> pipeline_texts(const PipelineConfig& pipeline) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [file, text] : pipeline.prompts) out.emplace_back("prompts/" + file, text);
  std::vector<std::string> strings;
  collect_strings(pipeline.chain.raw, strings);
  out.emplace_back("chain.json", join(strings, "\n"));
  return out;
}

const PipelineConfig& parent_of(const ReviewContext& context, const ReviewInput& input) {
  return input.parent ? *input.parent : context.tenant().baseline;
}

std::string step_of_prompt(const PipelineConfig& pipeline, const std::string& file) {
  for (const StepDef* step : all_steps(pipeline.chain)) {
    if (has_prompt(*step) && step->prompt == file) return step->id;
  }
  return "";
}

Result<ReviewReport> review_variant(const ReviewContext& context, const ReviewInput& input) {
  FAPO_RETURN_IF_ERROR(check_input(input));
  ReviewReport report;
  Findings& out = report.findings;
  check_chain(context, input, out);
  check_placeholders(context, input, out);
  check_scope(context, input, out);
  check_parameters(context, input, out);
  check_frozen_settings(context, input, out);
  check_leakage(context, input, out);
  check_duplicates(context, input, out);
  check_growth(context, input, out);
  report.verdict = "pass";
  for (const ReviewFinding& finding : out) {
    if (finding.severity == Severity::kBlock) {
      report.verdict = "fail";
      break;
    }
    report.verdict = "warn";
  }
  return report;
}

}  // namespace fapo
