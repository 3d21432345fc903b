// The rules of the simulated model, decoded from a tenant's `sim` section (docs/sim_model.md).
// A rule says when it applies (conditions over the prompt text, the evidence for an expected
// value, the case's metadata and task type, the tool results so far), how often it fires, and
// what the reply is: text, and optionally a call of an offered tool. Needles
// are lowercased and templates parsed here, once, so answering a call does no parsing and no
// regex work unless a rule asks for a regex. The decoded values are immutable and may be shared
// between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/sim_template.h"

namespace fapo {

// A lowercased search string with its Boyer-Moore-Horspool shift table, built once with the
// rules. A rule set holds dozens of needles, many repeated across rules; each distinct needle is
// stored once and searched at most once per call.
class SimNeedle {
 public:
  explicit SimNeedle(std::string text);  // lowercased here
  // Whether the needle occurs in `lowered_text` (already lowercased with ascii_lower).
  bool found_in(std::string_view lowered_text) const;
  const std::string& text() const { return text_; }

  // ASCII lowercase; prompts and needles use the same folding.
  static std::string ascii_lower(std::string_view text);

 private:
  std::string text_;
  std::array<std::uint32_t, 256> shift_{};
};

using SimNeedleId = std::uint32_t;  // index into SimConfig::needles

// Every listed condition must hold for a rule to apply.
struct SimConditions {
  std::vector<SimNeedleId> prompt_contains;      // all present
  std::vector<SimNeedleId> prompt_contains_any;  // at least one present
  std::vector<SimNeedleId> prompt_lacks_all;     // none present
  std::vector<SimNeedleId> prompt_lacks_any;     // at least one absent
  std::shared_ptr<const std::regex> prompt_matches;  // null unless the rule asks for a regex
  std::vector<std::string> evidence_present;     // expected fields whose value is in the prompt
  std::vector<std::string> evidence_absent;      // expected fields whose value is not
  std::vector<std::string> evidence_in_last_message;  // expected fields in the last message
  std::vector<std::pair<std::string, nlohmann::json>> metadata;  // key path -> required value
  std::vector<std::string> task_types;           // any of these
  std::vector<SimNeedleId> tool_result_contains;  // all present in the last tool result
  std::optional<bool> tool_result_present;        // whether any tool result is in the request
};

// A tool call a rule makes. `arguments` is the object as written; each of its string values
// (at any depth) is a reply template, rendered into the copy sent with the call.
struct SimToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
  std::vector<std::pair<nlohmann::json::json_pointer, SimTemplate>> templates;
};

// Whether a rule's draws change with the request's sample index (trials, vote samples) or
// only with the case and the prompt (a systematic habit of the model on that input).
enum class SimDraw { kPerSample, kPerCase };

enum class SimNoiseMode { kDistractor, kVerbose };

struct SimRule {
  std::string name;
  SimConditions when;
  std::optional<double> probability;  // absent: fires whenever its conditions hold
  SimDraw draw = SimDraw::kPerSample;
  SimTemplate reply;                     // empty when a tool call stands alone
  std::optional<SimToolCall> tool_call;  // applies only when the request allows this tool
  std::vector<std::string> distractors;  // overrides expected.distractors for ${distractor}
  bool noise = true;                     // temperature noise may perturb this rule's replies
};

struct SimNoise {
  double per_temperature = 0;  // perturbation probability per unit of temperature
  double max = 0.5;            // cap on that probability
  std::vector<SimNoiseMode> modes = {SimNoiseMode::kDistractor, SimNoiseMode::kVerbose};
  std::string verbose_prefix = "Let me think about this carefully. ";
  std::string verbose_suffix = " I hope this helps; let me know if you need more detail.";
};

struct SimConfig {
  std::uint64_t seed = 0;
  std::vector<SimNeedle> needles;  // distinct, referenced by the rules' conditions
  SimNoise noise;
  std::vector<SimRule> rules;
  SimTemplate default_reply;
};

// Decodes and checks a `sim` section (null or an absent section gives an empty rule set).
// kInvalidInput lists every problem, one a line, each naming its path:
// "sim.rules[2].when.prompt_contains: must be an array of strings".
Result<SimConfig> parse_sim_config(const nlohmann::json& sim);

}  // namespace fapo
