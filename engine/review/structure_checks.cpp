// Checks of the variant's shape: it compiles, its variables resolve, edited prompts keep their
// placeholders, and it stays within the tenant's scope, parameter ranges and frozen settings.
#include <algorithm>
#include <set>
#include <sstream>

#include "engine/base/strings.h"
#include "engine/review/review_checks.h"

namespace fapo {
namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string placeholder_list(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::vector<std::string> written;
  for (const std::string& name : names) written.push_back("${" + name + "}");
  return join(written, ", ");
}

// "step 'answer'.temperature" -> "answer".
std::string step_of_field(const std::string& field) {
  std::size_t open = field.find('\'');
  std::size_t close = open == std::string::npos ? open : field.find('\'', open + 1);
  if (close == std::string::npos) return "";
  return field.substr(open + 1, close - open - 1);
}

// The step a diagnostic of the variant's templates is about, from its file name.
std::string step_of_diagnostic(const PipelineConfig& pipeline, const Diagnostic& diagnostic) {
  const std::string prefix = std::string(kVariantDisplayDir) + "/prompts/";
  if (starts_with(diagnostic.file, prefix)) {
    return step_of_prompt(pipeline, diagnostic.file.substr(prefix.size()));
  }
  std::size_t step = diagnostic.file.find("step '");
  return step == std::string::npos ? "" : step_of_field(diagnostic.file.substr(step));
}

std::vector<std::string> sorted_difference(const std::vector<std::string>& a,
                                           const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

void check_chain(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  auto compiled = CompiledChain::compile(*input.candidate, kVariantDisplayDir);
  if (!compiled.ok()) {
    out.push_back({"chain_invalid", Severity::kBlock,
                   "The variant does not compile: " + compiled.error().message +
                       "\nFix the prompt or chain field named above and propose again.",
                   ""});
    return;
  }
  const std::vector<std::string>& keys = context.context_keys();
  for (const Diagnostic& diagnostic : compiled->check_variables(keys)) {
    out.push_back({"unknown_variable", Severity::kBlock,
                   diagnostic.to_string() + ". Templates may read the case context (" +
                       placeholder_list(keys) +
                       ") and ${steps.<id>.output} of steps that run earlier.",
                   step_of_diagnostic(*input.candidate, diagnostic)});
  }
}

void check_placeholders(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  if (input.level == "structural") return;
  const PipelineConfig& parent = parent_of(context, input);
  for (const auto& [file, text] : input.candidate->prompts) {
    auto before = parent.prompts.find(file);
    if (before == parent.prompts.end() || before->second == text) continue;
    auto old_prompt = PromptTemplate::parse(before->second, "prompts/" + file);
    auto new_prompt = PromptTemplate::parse(text, "prompts/" + file);
    if (!old_prompt.ok() || !new_prompt.ok()) continue;  // check_chain reports syntax errors
    std::vector<std::string> old_names = old_prompt->placeholder_names();
    std::vector<std::string> new_names = new_prompt->placeholder_names();
    if (old_names == new_names) continue;
    out.push_back(
        {"placeholders_changed", Severity::kBlock,
         "prompts/" + file + ": the edit changes the prompt's placeholders (removed: " +
             placeholder_list(sorted_difference(old_names, new_names)) +
             "; added: " + placeholder_list(sorted_difference(new_names, old_names)) +
             "). A " + input.level + "-level edit must keep exactly " +
             placeholder_list(old_names) +
             "; changing what a step reads changes the chain's data flow, so propose it with a "
             "chain (a structural variant) if that is the hypothesis.",
         step_of_prompt(*input.candidate, file)});
  }
}

void check_scope(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  const ScopeConfig& scope = context.tenant().config.scope;
  if (input.level != "baseline" &&
      std::find(scope.levels.begin(), scope.levels.end(), input.level) == scope.levels.end()) {
    out.push_back({"level_out_of_scope", Severity::kBlock,
                   "This is a " + input.level + "-level variant, but tenant.json scope.levels "
                   "allows only: " + join(scope.levels, ", ") +
                   ". Express the hypothesis as an edit of an allowed level.",
                   ""});
  }
  const auto& editable = scope.editable_steps;
  if (std::find(editable.begin(), editable.end(), "*") != editable.end()) return;
  for (const std::string& step : input.edited_steps) {
    if (std::find(editable.begin(), editable.end(), step) != editable.end()) continue;
    out.push_back({"step_out_of_scope", Severity::kBlock,
                   "step '" + step + "' is edited, but tenant.json scope.editable_steps allows "
                   "editing only: " + join(editable, ", ") +
                   ". Leave this step as the parent has it.",
                   step});
  }
}

void check_parameters(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  std::map<std::string, const StepDef*> parent_steps;
  for (const StepDef* step : all_steps(parent_of(context, input).chain)) {
    parent_steps[step->id] = step;
  }
  for (const StepDef* step : all_steps(input.candidate->chain)) {
    auto parent = parent_steps.find(step->id);
    std::vector<std::pair<std::string, double>> before;
    if (parent != parent_steps.end()) before = parameter_values(*parent->second);
    for (const auto& [field, value] : parameter_values(*step)) {
      // Only values the variant sets differently are its responsibility.
      if (std::find(before.begin(), before.end(), std::make_pair(field, value)) != before.end()) {
        continue;
      }
      const std::string where = "step '" + step->id + "': " + field + " = " + number_text(value);
      ParameterRange sane = sane_range(field);
      if (!sane.allows(value)) {
        out.push_back({"parameter_invalid", Severity::kBlock,
                       where + " is not a usable value (" + field + " must be " +
                           sane.describe() + "); choose a value within those bounds.",
                       step->id});
        continue;
      }
      const ParameterRange* range = context.parameter_ranges().find(step->id, field);
      if (range && !range->allows(value)) {
        out.push_back({"parameter_out_of_range", Severity::kBlock,
                       where + " is outside the tenant's range (" + range->describe() +
                           ", tenant.json scope.parameter_ranges \"" + range->key +
                           "\"); choose a value within it.",
                       step->id});
      }
    }
  }
}

void check_frozen_settings(const ReviewContext& context, const ReviewInput& input,
                           Findings& out) {
  const std::string chain_file = std::string(kVariantDisplayDir) + "/chain.json";
  for (const Diagnostic& diagnostic : check_frozen(context.tenant(), *input.candidate, chain_file)) {
    out.push_back({"frozen_setting", Severity::kBlock,
                   diagnostic.to_string() +
                       ". Frozen settings are the experiment's constants: a variant that changes "
                       "one is not comparable with the others.",
                   step_of_field(diagnostic.field)});
  }
}

}  // namespace fapo
