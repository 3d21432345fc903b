// The chain definition: chain.json parsed into typed steps. A ChainDef is a plain value; it is
// checked structurally here (ids, kinds, ranges, jumps) and semantically, against prompts and
// the dataset, by chain/compiled_chain.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"

namespace fapo {

enum class StepKind { kLlm, kRetrieve, kTransform, kVote, kLoop, kReact };

const char* step_kind_name(StepKind kind);

// A test on an earlier step's output, used by `when` (branches) and `until` (loops).
struct Condition {
  std::string step;
  std::optional<std::string> matches;  // case-insensitive ECMAScript regex search
  bool empty = false;                  // true: holds when the output is empty
  bool negate = false;
};

// How an llm step turns its reply into its output.
struct ParseSpec {
  enum class Mode { kNone, kRegex, kJsonField, kDelimiter };
  Mode mode = Mode::kNone;
  std::string pattern;
  int group = 1;
  std::string field;
  std::string delimiter;
};

struct StepDef {
  std::string id;
  StepKind kind = StepKind::kLlm;
  std::optional<Condition> when;
  std::string next;  // forward jump target; empty = the following step

  // llm (also the inner step of vote and the model of react)
  std::string prompt;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> max_tokens;
  ParseSpec parse;

  // retrieve
  std::string query;
  int k = 5;

  // transform
  std::string op;
  std::string input;
  std::vector<std::string> inputs;
  std::string pattern;
  int group = 0;
  std::string separator = "\n";
  std::optional<int> max_words;
  std::optional<int> max_chars;

  // vote: `inner` holds exactly one llm step
  int n = 1;
  std::vector<StepDef> inner;

  // loop (react also bounds its model turns with max_iterations)
  std::vector<StepDef> steps;
  int max_iterations = 1;
  std::optional<Condition> until;

  // react: the tools offered (names from the tenant's tool providers) and the limits of the
  // model <-> tools loop; `parse` reads the final answer.
  std::vector<std::string> tools;
  std::string tool_choice;          // "" (provider default), "auto", "required", a tool name
  int max_calls_per_iteration = 3;  // tool calls executed per model turn
  int max_calls = 8;                // tool calls executed per case
  double tool_timeout_s = 10;       // per call
  int max_result_chars = 4000;      // longer tool results are cut before the model sees them
  int search_k = 3;                 // passages the built-in search returns unless asked
};

struct ChainDef {
  std::vector<StepDef> steps;
  std::string output;  // id of the step whose output is the answer
  nlohmann::json raw;  // as read, for hashing and display
};

// Parses and structurally checks chain.json. Every problem is reported (file, field path).
Result<ChainDef> parse_chain(const nlohmann::json& json, const std::string& file);

// llm and react steps render a prompt file (vote steps do through their inner llm step).
inline bool has_prompt(const StepDef& step) {
  return step.kind == StepKind::kLlm || step.kind == StepKind::kReact;
}

// Every step in execution order, loop bodies and vote inner steps flattened after their parent.
std::vector<const StepDef*> all_steps(const ChainDef& chain);
std::vector<const StepDef*> all_steps(const std::vector<StepDef>& steps);

}  // namespace fapo
