// The difference between two pipelines and the level it implies. A variant's level is computed
// here, from what changed, never declared by whoever proposed it:
//
//   prompt      only prompt texts of existing files changed
//   parameter   only parameter fields of existing steps changed (k, n, max_iterations,
//               temperature, top_p, max_tokens, max_words, max_chars, and a react step's
//               limits: max_calls_per_iteration, max_calls, tool_timeout_s,
//               max_result_chars, search_k), with the same step ids, kinds, order and
//               wiring; prompt texts may change too
//   structural  anything else: steps added, removed or reordered, a kind, a branch, a parse
//               rule, a query or transform template, the output step, a new prompt file,
//               a react step's tools or tool_choice
//
// The levels are ordered (prompt < parameter < structural); a diff's level is the highest
// change it contains. Pure functions on values; thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chain/pipeline.h"

namespace fapo {

enum class Level { kBaseline, kPrompt, kParameter, kStructural };

const char* level_name(Level level);  // "baseline", "prompt", "parameter", "structural"
std::optional<Level> level_from_name(std::string_view name);

// The step fields a parameter edit may change: numeric or enumerated settings of a step.
const std::set<std::string>& parameter_fields();
// The parameter fields a step of this kind ("llm", "retrieve", ...) has; empty for none.
std::vector<std::string> parameter_fields_of_kind(std::string_view kind);

// One change, as stored in variant.json "changes":
//   {"kind":"prompt","file","step"}  {"kind":"parameter","step","field","from","to"}
//   {"kind":"structure","detail"}
// "from"/"to" are null when the field was absent (the step used its default).
using VariantChange = nlohmann::json;

struct VariantDiff {
  Level level = Level::kPrompt;
  std::vector<std::string> edited_steps;  // ids, in the child's step order, then removed ones
  std::vector<VariantChange> changes;

  bool empty() const { return changes.empty(); }
};

// What changed from `parent` to `child`. An empty diff (identical content) has level kPrompt
// and no changes; callers refuse it before storing anything.
VariantDiff diff_pipelines(const PipelineConfig& parent, const PipelineConfig& child);

// Step JSON objects of a raw chain (chain.json), depth first in execution order: loop bodies
// ("steps") and a vote's inner step ("step") follow their parent. Pointers into `chain`.
std::vector<const nlohmann::json*> raw_steps(const nlohmann::json& chain);
std::vector<nlohmann::json*> raw_steps(nlohmann::json& chain);

// The string member `key` of a step object; "" when absent or not a string (raw chains come
// from users and may be malformed: this never throws).
std::string step_text(const nlohmann::json& step, const char* key);

}  // namespace fapo
