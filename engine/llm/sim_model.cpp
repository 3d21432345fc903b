#include "engine/llm/sim_model.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/strings.h"
#include "engine/llm/sim_rules.h"

namespace fapo {
namespace {

constexpr const char* kDefaultRuleName = "(default)";

// One call's prompt in the forms the rules read, built once per call and shared by every rule
// tried. The normalised form is only computed when an evidence condition asks for it.
class PromptView {
 public:
  PromptView(const ModelRequest& request, const SimConfig& config)
      : needles_(config.needles), found_(config.needles.size(), kUnknown) {
    std::string roles;
    for (std::size_t i = 0; i < request.messages.size(); ++i) {
      const ChatMessage& message = request.messages[i];
      if (i > 0) text_ += '\n';
      text_ += message.content;
      roles += message.role;
      roles += '\x1f';
      // Tool fields are mixed in only when present, so plain prompts keep their draws.
      for (const ToolCall& call : message.tool_calls) {
        roles.append(call.id).append(1, '\x1f').append(call.name).append(1, '\x1f');
        roles.append(call.arguments).append(1, '\x1f');
        ++tool_calls_so_far_;
      }
      if (!message.tool_call_id.empty()) roles.append(message.tool_call_id).append(1, '\x1f');
      if (message.role == "tool") last_tool_result_ = SimNeedle::ascii_lower(message.content);
    }
    if (!request.messages.empty()) last_message_ = &request.messages.back().content;
    lower_ = SimNeedle::ascii_lower(text_);
    // Roles are mixed in so moving text between the system and user messages is a new prompt.
    hash_ = stable_hash(roles, stable_hash(text_, config.seed));
  }

  const std::string& text() const { return text_; }
  // Whether needle `id` occurs (case-insensitively); each needle is searched once per call.
  bool contains(SimNeedleId id) const {
    if (found_[id] == kUnknown) found_[id] = needles_[id].found_in(lower_) ? kYes : kNo;
    return found_[id] == kYes;
  }
  std::uint64_t hash() const { return hash_; }
  bool has_tool_result() const { return last_tool_result_.has_value(); }
  // Whether needle `id` occurs in the content of the last "tool" message (false without one).
  bool tool_result_contains(SimNeedleId id) const {
    return last_tool_result_ && needles_[id].found_in(*last_tool_result_);
  }
  int tool_calls_so_far() const { return tool_calls_so_far_; }

  // Whether `normalized_value` occurs as whole words in the normalised prompt, or only in its
  // last message (where a judge's prompt puts the response it grades).
  bool has_words(const std::string& normalized_value, bool last_message_only = false) const {
    if (normalized_value.empty()) return false;  // an empty value is evidence of nothing
    std::optional<std::string>& normalized = last_message_only ? last_normalized_ : normalized_;
    if (!normalized) {
      const std::string& text =
          last_message_only ? (last_message_ != nullptr ? *last_message_ : kNoText) : text_;
      normalized = " " + normalize_answer_spacing_typography(text) + " ";
    }
    return normalized->find(" " + normalized_value + " ") != std::string::npos;
  }

 private:
  static constexpr signed char kUnknown = -1, kNo = 0, kYes = 1;

  const std::vector<SimNeedle>& needles_;
  std::string text_;
  std::string lower_;
  std::uint64_t hash_ = 0;
  std::optional<std::string> last_tool_result_;  // lowercased
  const std::string* last_message_ = nullptr;    // content of the request's last message
  inline static const std::string kNoText;
  int tool_calls_so_far_ = 0;
  // Per call caches: a PromptView is never shared between threads.
  mutable std::vector<signed char> found_;
  mutable std::optional<std::string> normalized_;
  mutable std::optional<std::string> last_normalized_;
};

Error permanent(const std::string& message) {  // a call that no retry can fix
  return make_error(ErrorCode::kModelPermanent, message);
}

// An expected value as evidence text: strings as they are, numbers in JSON spelling.
std::optional<std::string> evidence_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// Whether the expected value `field` (a string or number, or an array of them: any element)
// appears in the prompt (or in its last message only) after normalisation.
Result<bool> evidence_in_prompt(const Case& case_data, const std::string& field,
                                const PromptView& prompt, bool last_message_only = false) {
  const nlohmann::json* value = find_json_path(case_data.expected, field);
  if (value == nullptr) {
    return permanent("evidence condition names expected." + field + ", which case '" +
                     case_data.case_id + "' lacks");
  }
  auto found = [&](const nlohmann::json& item) {
    std::optional<std::string> text = evidence_text(item);
    return text && prompt.has_words(normalize_answer_spacing_typography(*text), last_message_only);
  };
  if (value->is_array()) return std::any_of(value->begin(), value->end(), found);
  if (evidence_text(*value)) return found(*value);
  return permanent("evidence condition: expected." + field + " of case '" + case_data.case_id +
                   "' must be a string or a number, or an array of them");
}

bool all_present(const std::vector<SimNeedleId>& needles, const PromptView& prompt) {
  return std::all_of(needles.begin(), needles.end(),
                     [&](SimNeedleId needle) { return prompt.contains(needle); });
}

bool any_present(const std::vector<SimNeedleId>& needles, const PromptView& prompt) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](SimNeedleId needle) { return prompt.contains(needle); });
}

bool case_conditions_hold(const SimConditions& when, const Case& case_data) {
  if (!when.task_types.empty() &&
      std::find(when.task_types.begin(), when.task_types.end(), case_data.task_type) ==
          when.task_types.end()) {
    return false;
  }
  for (const auto& [key, required] : when.metadata) {
    const nlohmann::json* value = find_json_path(case_data.metadata, key);
    if (value == nullptr || *value != required) return false;
  }
  return true;
}

bool needs_case(const SimConditions& when) {
  return !when.task_types.empty() || !when.metadata.empty() || !when.evidence_present.empty() ||
         !when.evidence_absent.empty() || !when.evidence_in_last_message.empty();
}

// Cheap conditions first; evidence (normalisation) and regexes only when the rest hold.
Result<bool> conditions_hold(const SimConditions& when, const Case* case_data,
                             const PromptView& prompt) {
  if (needs_case(when) && case_data == nullptr) {
    return permanent("the rule reads the case (task_type, metadata or evidence), but the call "
                     "carried none");
  }
  if (case_data != nullptr && !case_conditions_hold(when, *case_data)) return false;
  if (!all_present(when.prompt_contains, prompt)) return false;
  if (!when.prompt_contains_any.empty() && !any_present(when.prompt_contains_any, prompt)) {
    return false;
  }
  if (any_present(when.prompt_lacks_all, prompt)) return false;
  if (!when.prompt_lacks_any.empty() && all_present(when.prompt_lacks_any, prompt)) return false;
  if (when.tool_result_present && *when.tool_result_present != prompt.has_tool_result()) {
    return false;
  }
  for (SimNeedleId needle : when.tool_result_contains) {
    if (!prompt.tool_result_contains(needle)) return false;
  }
  for (const std::string& field : when.evidence_present) {
    FAPO_ASSIGN_OR_RETURN(bool present, evidence_in_prompt(*case_data, field, prompt));
    if (!present) return false;
  }
  for (const std::string& field : when.evidence_absent) {
    FAPO_ASSIGN_OR_RETURN(bool present, evidence_in_prompt(*case_data, field, prompt));
    if (present) return false;
  }
  for (const std::string& field : when.evidence_in_last_message) {
    FAPO_ASSIGN_OR_RETURN(bool present, evidence_in_prompt(*case_data, field, prompt, true));
    if (!present) return false;
  }
  if (when.prompt_matches && !std::regex_search(prompt.text(), *when.prompt_matches)) {
    return false;
  }
  return true;
}

class SimModel final : public ModelClient {
 public:
  SimModel(SimConfig config, std::string model_name)
      : config_(std::move(config)), model_name_(std::move(model_name)) {}

  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override;
  std::string provider() const override { return "sim"; }

 private:
  // What one call needs to derive its draws.
  struct DrawKey {
    const PromptView& prompt;
    std::string_view case_id;
    int sample_index = 0;
  };

  std::uint64_t draw_bits(const DrawKey& key, std::string_view rule, std::string_view purpose,
                          SimDraw mode) const;
  double draw_unit(const DrawKey& key, std::string_view rule, std::string_view purpose,
                   SimDraw mode) const {
    return hash_to_unit(draw_bits(key, rule, purpose, mode));
  }
  Result<const SimRule*> choose_rule(const DrawKey& key, const Case* case_data,
                                     const ToolRequest& tools) const;
  SimRenderInputs render_inputs(const SimRule* rule, const DrawKey& key,
                                const Case* case_data) const;
  Result<std::string> render_reply(const SimRule* rule, const DrawKey& key,
                                   const Case* case_data) const;
  Result<ToolCall> render_tool_call(const SimRule& rule, const DrawKey& key,
                                    const Case* case_data) const;
  std::string perturb(std::string reply, const DrawKey& key, const SimRule* rule,
                      const Case* case_data) const;
  double noise_rate(double temperature) const {
    return std::clamp(config_.noise.per_temperature * temperature, 0.0, config_.noise.max);
  }
  Error rule_error(std::string_view rule, const Error& error) const {
    return make_error(ErrorCode::kModelPermanent, "simulated model '" + model_name_ +
                                                      "', rule '" + std::string(rule) +
                                                      "': " + error.message);
  }

  const SimConfig config_;
  const std::string model_name_;
};

std::uint64_t SimModel::draw_bits(const DrawKey& key, std::string_view rule,
                                  std::string_view purpose, SimDraw mode) const {
  std::string material;
  material.reserve(key.case_id.size() + rule.size() + purpose.size() + 16);
  material.append(key.case_id).append(1, '\x1f').append(rule).append(1, '\x1f');
  material.append(purpose).append(1, '\x1f');
  // A per-case draw ignores the sample index: the habit repeats on every trial of that input.
  material.append(mode == SimDraw::kPerSample ? std::to_string(key.sample_index) : "*");
  return stable_hash(material, key.prompt.hash());
}

Result<const SimRule*> SimModel::choose_rule(const DrawKey& key, const Case* case_data,
                                             const ToolRequest& tools) const {
  for (const SimRule& rule : config_.rules) {
    // A model only calls the tools it is offered.
    if (rule.tool_call && !tools.allows(rule.tool_call->name)) continue;
    Result<bool> holds = conditions_hold(rule.when, case_data, key.prompt);
    if (!holds.ok()) return rule_error(rule.name, holds.error());
    if (!*holds) continue;
    if (rule.probability &&
        draw_unit(key, rule.name, "fire", rule.draw) >= *rule.probability) {
      continue;
    }
    return &rule;
  }
  return nullptr;
}

// Temperature noise: the reply becomes a distractor or gets padded with filler. Falls back to
// padding when no distractor is available or the pick equals the reply.
std::string SimModel::perturb(std::string reply, const DrawKey& key, const SimRule* rule,
                              const Case* case_data) const {
  std::string_view name = rule != nullptr ? std::string_view(rule->name) : kDefaultRuleName;
  const auto& modes = config_.noise.modes;
  SimNoiseMode mode =
      modes[draw_bits(key, name, "noise_mode", SimDraw::kPerSample) % modes.size()];
  if (mode == SimNoiseMode::kDistractor) {
    Result<std::string> pick =
        pick_distractor(rule != nullptr ? &rule->distractors : nullptr, case_data,
                        draw_bits(key, name, "noise_distractor", SimDraw::kPerSample));
    if (pick.ok() && normalize_answer(*pick) != normalize_answer(reply)) return *pick;
  }
  return config_.noise.verbose_prefix + reply + config_.noise.verbose_suffix;
}

SimRenderInputs SimModel::render_inputs(const SimRule* rule, const DrawKey& key,
                                        const Case* case_data) const {
  std::string_view name = rule != nullptr ? std::string_view(rule->name) : kDefaultRuleName;
  SimRenderInputs inputs;
  inputs.case_data = case_data;
  inputs.prompt = key.prompt.text();
  inputs.rule_distractors = rule != nullptr ? &rule->distractors : nullptr;
  inputs.distractor_draw =
      draw_bits(key, name, "distractor", rule != nullptr ? rule->draw : SimDraw::kPerSample);
  return inputs;
}

Result<std::string> SimModel::render_reply(const SimRule* rule, const DrawKey& key,
                                           const Case* case_data) const {
  std::string_view name = rule != nullptr ? std::string_view(rule->name) : kDefaultRuleName;
  const SimTemplate& reply_template = rule != nullptr ? rule->reply : config_.default_reply;
  Result<std::string> rendered = reply_template.render(render_inputs(rule, key, case_data));
  if (!rendered.ok()) return rule_error(name, rendered.error());
  return rendered;
}

// A string argument that is one placeholder and renders a number is sent as a JSON number, so
// a rule can pass a case's numbers to a tool whose schema wants numbers ("${metadata.a}").
static nlohmann::json typed_argument(const std::string& source, std::string rendered) {
  const bool sole_placeholder = source.size() > 3 && source.rfind("${", 0) == 0 &&
                                source.back() == '}' && source.find('}') == source.size() - 1;
  if (sole_placeholder && !rendered.empty()) {
    auto number = nlohmann::json::parse(rendered, nullptr, /*allow_exceptions=*/false);
    if (number.is_number()) return number;
  }
  return rendered;
}

// Ids count the calls already in the conversation, so they are unique within it and the same
// on every run.
Result<ToolCall> SimModel::render_tool_call(const SimRule& rule, const DrawKey& key,
                                            const Case* case_data) const {
  const SimToolCall& call = *rule.tool_call;
  const SimRenderInputs inputs = render_inputs(&rule, key, case_data);
  nlohmann::json arguments = call.arguments;
  for (const auto& [at, value_template] : call.templates) {
    Result<std::string> rendered = value_template.render(inputs);
    if (!rendered.ok()) {
      return rule_error(rule.name, make_error(rendered.error().code,
                                              "tool_call.arguments" + at.to_string() + ": " +
                                                  rendered.error().message));
    }
    arguments[at] = typed_argument(call.arguments[at].get<std::string>(),
                                   std::move(rendered).value());
  }
  return ToolCall{"call_" + std::to_string(key.prompt.tool_calls_so_far() + 1), call.name,
                  arguments.dump()};
}

// Applies max_tokens (as max_tokens * 4 characters) and the token estimates: ceil(chars / 4).
void finish_reply(const ModelRequest& request, ModelReply& reply) {
  const int max_tokens = request.sampling.max_tokens;
  if (max_tokens > 0 && reply.text.size() > static_cast<std::size_t>(max_tokens) * 4) {
    reply.text = truncate_utf8(reply.text, static_cast<std::size_t>(max_tokens) * 4);
    reply.finish_reason = "length";
  }
  auto call_chars = [](const std::vector<ToolCall>& calls) {
    std::size_t chars = 0;
    for (const ToolCall& call : calls) chars += call.name.size() + call.arguments.size();
    return chars;
  };
  std::size_t chars_in = 0;
  for (const ChatMessage& message : request.messages) {
    chars_in += message.content.size() + call_chars(message.tool_calls);
  }
  reply.tokens_in = static_cast<int>((chars_in + 3) / 4);
  reply.tokens_out = static_cast<int>((reply.text.size() + call_chars(reply.tool_calls) + 3) / 4);
}

Result<ModelReply> SimModel::complete(const ModelRequest& request, const CallContext& context) {
  const Case* case_data = context.case_data;
  PromptView prompt(request, config_);
  DrawKey key{prompt, case_data != nullptr ? std::string_view(case_data->case_id) : "",
              request.sample_index};
  FAPO_ASSIGN_OR_RETURN(const SimRule* rule, choose_rule(key, case_data, request.tools));
  FAPO_ASSIGN_OR_RETURN(std::string text, render_reply(rule, key, case_data));

  ModelReply reply;
  if (rule != nullptr && rule->tool_call) {
    FAPO_ASSIGN_OR_RETURN(ToolCall call, render_tool_call(*rule, key, case_data));
    reply.tool_calls.push_back(std::move(call));
    reply.finish_reason = "tool_calls";
  }
  std::string_view name = rule != nullptr ? std::string_view(rule->name) : kDefaultRuleName;
  // Noise perturbs answers; a tool call is an action, and its text is not perturbed either.
  bool noisy = (rule == nullptr || rule->noise) && reply.tool_calls.empty() &&
               !config_.noise.modes.empty() &&
               draw_unit(key, name, "noise", SimDraw::kPerSample) <
                   noise_rate(request.sampling.temperature);
  if (noisy) text = perturb(std::move(text), key, rule, case_data);

  reply.text = std::move(text);
  finish_reply(request, reply);
  reply.sim_trace = {{"rule", std::string(name)}, {"noise", noisy}, {"simulated", true}};
  if (!reply.tool_calls.empty()) reply.sim_trace["tool_call"] = reply.tool_calls[0].name;
  return reply;
}

}  // namespace

Result<std::unique_ptr<ModelClient>> make_sim_model(const nlohmann::json& sim_config,
                                                    const std::string& model_name) {
  FAPO_ASSIGN_OR_RETURN(SimConfig config, parse_sim_config(sim_config));
  return std::unique_ptr<ModelClient>(std::make_unique<SimModel>(std::move(config), model_name));
}

}  // namespace fapo
