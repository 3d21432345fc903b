#include "engine/variant/variant_edits.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/base/strings.h"
#include "engine/variant/variant_diff.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr double kMaxIntegral = 1e15;  // beyond every range; keeps the cast below defined
constexpr const char* kIntegerFields[] = {
    "k", "n", "max_iterations", "max_tokens", "max_words", "max_chars",
    "max_calls_per_iteration", "max_calls", "max_result_chars", "search_k"};

bool is_integer_field(const std::string& field) {
  return std::find(std::begin(kIntegerFields), std::end(kIntegerFields), field) !=
         std::end(kIntegerFields);
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates) {
  auto guess = closest_match(name, candidates);
  return guess ? " (did you mean '" + *guess + "'?)" : "";
}

// One parameter assignment; appends a problem instead of applying a bad one.
void set_parameter(json& step, const std::string& id, const std::string& field,
                   const json& value, const Tenant& tenant, std::vector<std::string>& problems) {
  const std::string kind = step_text(step, "kind");
  const std::vector<std::string> allowed = parameter_fields_of_kind(kind);
  const std::string where = "parameters." + id + "." + field;
  if (std::find(allowed.begin(), allowed.end(), field) == allowed.end()) {
    problems.push_back(where + ": '" + field + "' is not a parameter of " + kind + " step '" +
                       id + "'" + did_you_mean(field, allowed) + "; its parameters are: " +
                       (allowed.empty() ? "none" : join(allowed, ", ")) +
                       ". Other changes need a new chain (the chain argument).");
    return;
  }
  if (tenant.config.is_frozen(field)) {
    problems.push_back(where + ": '" + field + "' is frozen by the tenant (tenant.json \"frozen\": " +
                       join(tenant.config.frozen, ", ") +
                       "); frozen settings are the experiment's constants and no variant may "
                       "change them");
    return;
  }
  if (value.is_null()) {
    step.erase(field);
    return;
  }
  const bool integral =
      value.is_number_integer() ||
      (value.is_number_float() && std::trunc(value.get<double>()) == value.get<double>() &&
       std::abs(value.get<double>()) < kMaxIntegral);
  if (!value.is_number() || (is_integer_field(field) && !integral)) {
    problems.push_back(where + ": must be " +
                       (is_integer_field(field) ? std::string("an integer") : "a number") +
                       " (or null to use the default), got " + value.dump());
    return;
  }
  step[field] = is_integer_field(field) ? json(value.get<long long>()) : value;
}

void apply_parameters(json& chain, const json& parameters, const Tenant& tenant,
                      std::vector<std::string>& problems) {
  if (parameters.is_null()) return;
  if (!parameters.is_object()) {
    problems.push_back("parameters: must be an object {\"<step_id>\": {\"<field>\": value}}");
    return;
  }
  std::vector<json*> steps = raw_steps(chain);
  std::vector<std::string> ids;
  for (const json* step : steps) ids.push_back(step_text(*step, "id"));
  for (const auto& [id, fields] : parameters.items()) {
    auto found = std::find(ids.begin(), ids.end(), id);
    if (found == ids.end()) {
      problems.push_back("parameters." + id + ": the chain has no step '" + id + "'" +
                         did_you_mean(id, ids) + "; its steps are: " + join(ids, ", "));
      continue;
    }
    if (!fields.is_object() || fields.empty()) {
      problems.push_back("parameters." + id + ": must be a non-empty object {\"<field>\": value}");
      continue;
    }
    json& step = *steps[static_cast<std::size_t>(found - ids.begin())];
    for (const auto& [field, value] : fields.items()) {
      set_parameter(step, id, field, value, tenant, problems);
    }
  }
}

// Prompt files live directly in prompts/: a name must not reach anywhere else.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos &&
         name.front() != '.';
}

std::set<std::string> referenced_prompts(const ChainDef& chain) {
  std::set<std::string> files;
  for (const StepDef* step : all_steps(chain)) {
    if (has_prompt(*step)) {
      files.insert(step->prompt);
    }
  }
  return files;
}

// The prompt texts of the candidate: the parent's for files the chain still uses, replaced by
// the edits; each edited file must be used by the chain, and each used file must have a text.
std::map<std::string, std::string> candidate_prompts(const PipelineConfig& parent,
                                                     const ChainDef& chain,
                                                     const VariantEdits& edits,
                                                     std::vector<std::string>& problems) {
  const std::set<std::string> used = referenced_prompts(chain);
  const std::vector<std::string> used_list(used.begin(), used.end());
  std::map<std::string, std::string> prompts;
  for (const std::string& file : used) {
    if (!is_plain_file_name(file)) {
      problems.push_back("chain: prompt file '" + file +
                         "' must be a plain file name inside prompts/ (no '/', no leading '.')");
    }
  }
  if (!problems.empty()) return prompts;
  for (const auto& [file, text] : edits.prompts) {
    if (!used.count(file)) {
      problems.push_back("prompts." + file + ": no llm step of the chain uses '" + file + "'" +
                         did_you_mean(file, used_list) + "; files it uses: " +
                         (used.empty() ? "none" : join(used_list, ", ")) +
                         ". A new prompt file needs a chain whose step names it.");
      continue;
    }
    prompts[file] = text;
  }
  for (const std::string& file : used) {
    if (prompts.count(file)) continue;
    auto inherited = parent.prompts.find(file);
    if (inherited == parent.prompts.end()) {
      problems.push_back("prompts." + file + ": the chain uses prompt file '" + file +
                         "', which the parent does not have; give its text in prompts");
      continue;
    }
    prompts[file] = inherited->second;
  }
  return prompts;
}

}  // namespace

std::vector<std::string> check_pipeline(const PipelineConfig& pipeline,
                                        const BuildContext& context) {
  std::vector<std::string> problems;
  for (const Diagnostic& frozen :
       check_tenant_rules(*context.tenant, pipeline, context.display_dir + "/chain.json")) {
    problems.push_back(frozen.to_string());
  }
  auto compiled = CompiledChain::compile(pipeline, context.display_dir);
  if (!compiled.ok()) {
    problems.push_back(compiled.error().message);
    return problems;
  }
  for (const Diagnostic& unresolved : compiled->check_variables(context.context_keys)) {
    problems.push_back(unresolved.to_string());
  }
  return problems;
}

Result<PipelineConfig> build_pipeline(const PipelineConfig& parent, const VariantEdits& edits,
                                      const BuildContext& context) {
  if (edits.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "the proposal changes nothing: give new prompt texts (prompts), parameter "
                      "settings (parameters) or a new chain (chain)");
  }
  std::vector<std::string> problems;
  json raw = edits.chain ? *edits.chain : parent.chain.raw;
  apply_parameters(raw, edits.parameters, *context.tenant, problems);
  auto chain = parse_chain(raw, context.display_dir + "/chain.json");
  if (!chain.ok()) problems.push_back(chain.error().message);
  if (!problems.empty() || !chain.ok()) {
    return make_error(ErrorCode::kInvalidInput, join(problems, "\n"));
  }
  PipelineConfig candidate{std::move(chain).value(), {}};
  candidate.prompts = candidate_prompts(parent, candidate.chain, edits, problems);
  if (!problems.empty()) return make_error(ErrorCode::kInvalidInput, join(problems, "\n"));
  problems = check_pipeline(candidate, context);
  if (!problems.empty()) return make_error(ErrorCode::kInvalidInput, join(problems, "\n"));
  return candidate;
}

}  // namespace fapo
