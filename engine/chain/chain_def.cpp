#include "engine/chain/chain_def.h"

#include <algorithm>
#include <regex>
#include <set>

#include "engine/base/strings.h"

namespace fapo {
namespace {

// In StepKind order.
const std::vector<std::string> kKindNames = {"llm",  "retrieve", "transform",
                                             "vote", "loop",     "react"};
const std::vector<std::string> kTransformOps = {"extract", "join", "dedupe", "truncate", "template"};
const std::regex kIdPattern("^[A-Za-z_][A-Za-z0-9_]*$");
// Tool names as the model providers accept them (OpenAI and Anthropic share this pattern).
const std::regex kToolNamePattern("^[A-Za-z0-9_-]{1,64}$");

// Collects diagnostics for one chain file while walking it.
class ChainParser {
 public:
  explicit ChainParser(std::string file) : file_(std::move(file)) {}

  void fail(const std::string& field, const std::string& message) {
    diagnostics_.push_back({file_, 0, field, message});
  }
  Diagnostics& diagnostics() { return diagnostics_; }

  std::optional<StepDef> parse_step(const nlohmann::json& json, const std::string& path);
  std::vector<StepDef> parse_steps(const nlohmann::json& json, const std::string& path);

 private:
  std::optional<Condition> parse_condition(const nlohmann::json& json, const std::string& path);
  void parse_llm(const nlohmann::json& json, const std::string& path, StepDef& step);
  void parse_transform(const nlohmann::json& json, const std::string& path, StepDef& step);
  void parse_react(const nlohmann::json& json, const std::string& path, StepDef& step);
  void parse_tool_names(const nlohmann::json& json, const std::string& path, StepDef& step);
  template <typename T>
  std::optional<T> optional_number(const nlohmann::json& json, const char* key,
                                   const std::string& path, T min, T max);
  std::string string_field(const nlohmann::json& json, const char* key, const std::string& path,
                           bool required);

  std::string file_;
  Diagnostics diagnostics_;
};

std::string ChainParser::string_field(const nlohmann::json& json, const char* key,
                                      const std::string& path, bool required) {
  if (!json.contains(key)) {
    if (required) fail(path + "." + key, "is required");
    return "";
  }
  if (!json[key].is_string()) {
    fail(path + "." + key, std::string("must be a string, got ") + json[key].type_name());
    return "";
  }
  return json[key].get<std::string>();
}

template <typename T>
std::optional<T> ChainParser::optional_number(const nlohmann::json& json, const char* key,
                                              const std::string& path, T min, T max) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  const auto& value = json[key];
  bool right_type = std::is_integral_v<T> ? value.is_number_integer() : value.is_number();
  if (!right_type) {
    fail(path + "." + key, std::string("must be ") +
                               (std::is_integral_v<T> ? "an integer" : "a number") + ", got " +
                               value.type_name());
    return std::nullopt;
  }
  T number = value.get<T>();
  if (number < min || number > max) {
    // json's dump prints 0.1 as "0.1" where std::to_string would print "0.100000".
    fail(path + "." + key, "must be between " + nlohmann::json(min).dump() + " and " +
                               nlohmann::json(max).dump() + ", got " + value.dump());
    return std::nullopt;
  }
  return number;
}

std::optional<Condition> ChainParser::parse_condition(const nlohmann::json& json,
                                                      const std::string& path) {
  if (!json.is_object()) {
    fail(path, "must be an object like {\"step\": \"verify\", \"matches\": \"^OK\"}");
    return std::nullopt;
  }
  Condition condition;
  condition.step = string_field(json, "step", path, true);
  if (json.contains("matches")) {
    condition.matches = string_field(json, "matches", path, false);
    try {
      std::regex check(*condition.matches, std::regex::ECMAScript | std::regex::icase);
    } catch (const std::regex_error& error) {
      fail(path + ".matches", std::string("invalid regular expression: ") + error.what());
    }
  }
  condition.empty = json.value("empty", false);
  condition.negate = json.value("negate", false);
  if (!condition.matches && !condition.empty) {
    fail(path, "needs \"matches\" (a regex) or \"empty\": true");
  }
  return condition;
}

void ChainParser::parse_llm(const nlohmann::json& json, const std::string& path, StepDef& step) {
  step.prompt = string_field(json, "prompt", path, true);
  step.temperature = optional_number<double>(json, "temperature", path, 0.0, 2.0);
  step.top_p = optional_number<double>(json, "top_p", path, 0.0, 1.0);
  step.max_tokens = optional_number<int>(json, "max_tokens", path, 1, 1000000);
  if (!json.contains("parse")) return;
  const auto& parse = json["parse"];
  std::string parse_path = path + ".parse";
  if (parse.contains("regex")) {
    step.parse.mode = ParseSpec::Mode::kRegex;
    step.parse.pattern = string_field(parse, "regex", parse_path, true);
    step.parse.group = optional_number<int>(parse, "group", parse_path, 0, 99).value_or(1);
    try {
      std::regex check(step.parse.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      fail(parse_path + ".regex", std::string("invalid regular expression: ") + error.what());
    }
  } else if (parse.contains("json_field")) {
    step.parse.mode = ParseSpec::Mode::kJsonField;
    step.parse.field = string_field(parse, "json_field", parse_path, true);
  } else if (parse.contains("delimiter")) {
    step.parse.mode = ParseSpec::Mode::kDelimiter;
    step.parse.delimiter = string_field(parse, "delimiter", parse_path, true);
  } else {
    fail(parse_path, "must have one of \"regex\", \"json_field\" or \"delimiter\"");
  }
}

void ChainParser::parse_transform(const nlohmann::json& json, const std::string& path,
                                  StepDef& step) {
  step.op = string_field(json, "op", path, true);
  if (step.op.empty()) return;
  if (std::find(kTransformOps.begin(), kTransformOps.end(), step.op) == kTransformOps.end()) {
    auto hint = closest_match(step.op, kTransformOps);
    fail(path + ".op", "unknown transform op '" + step.op + "' (valid: " +
                           join(kTransformOps, ", ") + ")" +
                           (hint ? "; did you mean '" + *hint + "'?" : ""));
    return;
  }
  if (step.op == "join") {
    if (!json.contains("inputs") || !json["inputs"].is_array()) {
      fail(path + ".inputs", "a join needs \"inputs\": a list of templates");
    } else {
      for (std::size_t i = 0; i < json["inputs"].size(); ++i) {
        if (!json["inputs"][i].is_string()) {
          fail(path + ".inputs[" + std::to_string(i) + "]", "must be a string");
        } else {
          step.inputs.push_back(json["inputs"][i].get<std::string>());
        }
      }
    }
    if (json.contains("separator")) step.separator = string_field(json, "separator", path, false);
    return;
  }
  step.input = string_field(json, "input", path, true);
  if (step.op == "extract") {
    step.pattern = string_field(json, "pattern", path, true);
    step.group = optional_number<int>(json, "group", path, 0, 99).value_or(0);
    try {
      std::regex check(step.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      fail(path + ".pattern", std::string("invalid regular expression: ") + error.what());
    }
  } else if (step.op == "truncate") {
    step.max_words = optional_number<int>(json, "max_words", path, 1, 1000000);
    step.max_chars = optional_number<int>(json, "max_chars", path, 1, 100000000);
    if (!step.max_words && !step.max_chars) fail(path, "truncate needs max_words or max_chars");
  }
}

void ChainParser::parse_tool_names(const nlohmann::json& json, const std::string& path,
                                   StepDef& step) {
  const std::string tools_path = path + ".tools";
  if (!json.contains("tools")) {
    fail(tools_path, "is required: the names of the tools the agent may call");
    return;
  }
  const auto& tools = json["tools"];
  if (!tools.is_array() || tools.empty()) {
    fail(tools_path, "must be a non-empty list of tool names");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const std::string item_path = tools_path + "[" + std::to_string(i) + "]";
    if (!tools[i].is_string()) {
      fail(item_path, std::string("must be a string, got ") + tools[i].type_name());
      continue;
    }
    std::string name = tools[i].get<std::string>();
    if (!std::regex_match(name, kToolNamePattern)) {
      fail(item_path, "'" + name + "' must match ^[A-Za-z0-9_-]{1,64}$");
    } else if (!seen.insert(name).second) {
      fail(item_path, "duplicate tool '" + name + "'");
    } else {
      step.tools.push_back(std::move(name));
    }
  }
}

// A react step is an llm step (prompt, sampling, parse) plus its tools and the loop's limits.
void ChainParser::parse_react(const nlohmann::json& json, const std::string& path,
                              StepDef& step) {
  parse_llm(json, path, step);
  parse_tool_names(json, path, step);
  step.tool_choice = string_field(json, "tool_choice", path, false);
  const std::vector<std::string> fixed = {"auto", "required"};
  bool known = std::find(fixed.begin(), fixed.end(), step.tool_choice) != fixed.end() ||
               std::find(step.tools.begin(), step.tools.end(), step.tool_choice) !=
                   step.tools.end();
  if (!step.tool_choice.empty() && !known) {
    fail(path + ".tool_choice", "'" + step.tool_choice +
                                    "' must be \"auto\", \"required\" or one of the step's "
                                    "tools (" + join(step.tools, ", ") + ")");
  }
  step.max_iterations = optional_number<int>(json, "max_iterations", path, 1, 20).value_or(5);
  step.max_calls_per_iteration =
      optional_number<int>(json, "max_calls_per_iteration", path, 1, 10).value_or(3);
  step.max_calls = optional_number<int>(json, "max_calls", path, 1, 50).value_or(8);
  step.tool_timeout_s =
      optional_number<double>(json, "tool_timeout_s", path, 0.1, 300.0).value_or(10.0);
  step.max_result_chars =
      optional_number<int>(json, "max_result_chars", path, 100, 100000).value_or(4000);
  step.search_k = optional_number<int>(json, "search_k", path, 1, 20).value_or(3);
}

std::optional<StepDef> ChainParser::parse_step(const nlohmann::json& json,
                                               const std::string& path) {
  if (!json.is_object()) {
    fail(path, std::string("must be an object, got ") + json.type_name());
    return std::nullopt;
  }
  StepDef step;
  step.id = string_field(json, "id", path, true);
  if (!step.id.empty() && !std::regex_match(step.id, kIdPattern)) {
    fail(path + ".id", "'" + step.id + "' must match [A-Za-z_][A-Za-z0-9_]*");
  }
  std::string kind = string_field(json, "kind", path, true);
  auto found = std::find(kKindNames.begin(), kKindNames.end(), kind);
  if (found == kKindNames.end()) {
    if (!kind.empty()) {
      auto hint = closest_match(kind, kKindNames);
      fail(path + ".kind", "unknown step kind '" + kind + "' (valid: " + join(kKindNames, ", ") +
                               ")" + (hint ? "; did you mean '" + *hint + "'?" : ""));
    }
    return std::nullopt;
  }
  step.kind = static_cast<StepKind>(found - kKindNames.begin());
  if (json.contains("when")) step.when = parse_condition(json["when"], path + ".when");
  if (json.contains("next")) step.next = string_field(json, "next", path, false);

  switch (step.kind) {
    case StepKind::kLlm:
      parse_llm(json, path, step);
      break;
    case StepKind::kRetrieve:
      step.query = string_field(json, "query", path, true);
      step.k = optional_number<int>(json, "k", path, 1, 50).value_or(5);
      break;
    case StepKind::kTransform:
      parse_transform(json, path, step);
      break;
    case StepKind::kVote: {
      step.n = optional_number<int>(json, "n", path, 1, 25).value_or(1);
      if (!json.contains("step")) {
        fail(path + ".step", "a vote needs \"step\": an inner llm step");
        break;
      }
      auto inner = parse_step(json["step"], path + ".step");
      if (inner && inner->kind != StepKind::kLlm) {
        fail(path + ".step.kind", "the inner step of a vote must be an llm step");
      } else if (inner) {
        step.inner.push_back(std::move(*inner));
      }
      break;
    }
    case StepKind::kLoop:
      step.max_iterations = optional_number<int>(json, "max_iterations", path, 1, 10).value_or(1);
      if (json.contains("until")) step.until = parse_condition(json["until"], path + ".until");
      if (!json.contains("steps") || !json["steps"].is_array() || json["steps"].empty()) {
        fail(path + ".steps", "a loop needs a non-empty \"steps\" list");
      } else {
        step.steps = parse_steps(json["steps"], path + ".steps");
      }
      break;
    case StepKind::kReact:
      parse_react(json, path, step);
      break;
  }
  return step;
}

std::vector<StepDef> ChainParser::parse_steps(const nlohmann::json& json,
                                              const std::string& path) {
  std::vector<StepDef> steps;
  for (std::size_t i = 0; i < json.size(); ++i) {
    auto step = parse_step(json[i], path + "[" + std::to_string(i) + "]");
    if (step) steps.push_back(std::move(*step));
  }
  return steps;
}

// Ids unique across the whole chain; `next` jumps forward within the same sequence; conditions
// name steps that exist.
void check_references(const std::vector<StepDef>& steps, const std::string& path,
                      std::set<std::string>& seen, ChainParser& parser) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const StepDef& step = steps[i];
    std::string step_path = path + "[" + std::to_string(i) + "]";
    if (!step.id.empty() && !seen.insert(step.id).second) {
      parser.fail(step_path + ".id", "duplicate step id '" + step.id + "'");
    }
    if (!step.next.empty()) {
      bool forward = false;
      for (std::size_t j = i + 1; j < steps.size(); ++j) forward |= steps[j].id == step.next;
      if (!forward) {
        parser.fail(step_path + ".next", "'" + step.next +
                                             "' is not a later step of the same sequence "
                                             "(jumps only go forward, so every chain ends)");
      }
    }
    check_references(step.inner, step_path + ".step", seen, parser);
    check_references(step.steps, step_path + ".steps", seen, parser);
  }
}

void collect(const std::vector<StepDef>& steps, std::vector<const StepDef*>& out) {
  for (const StepDef& step : steps) {
    out.push_back(&step);
    collect(step.inner, out);
    collect(step.steps, out);
  }
}

}  // namespace

const char* step_kind_name(StepKind kind) {
  return kKindNames[static_cast<std::size_t>(kind)].c_str();
}

std::vector<const StepDef*> all_steps(const ChainDef& chain) { return all_steps(chain.steps); }

std::vector<const StepDef*> all_steps(const std::vector<StepDef>& steps) {
  std::vector<const StepDef*> out;
  collect(steps, out);
  return out;
}

Result<ChainDef> parse_chain(const nlohmann::json& json, const std::string& file) {
  ChainParser parser(file);
  ChainDef chain;
  chain.raw = json;
  if (!json.is_object()) {
    parser.fail("", std::string("must be a JSON object, got ") + json.type_name());
    return diagnostics_error(parser.diagnostics());
  }
  if (!json.contains("steps") || !json["steps"].is_array() || json["steps"].empty()) {
    parser.fail("steps", "must be a non-empty list of steps");
    return diagnostics_error(parser.diagnostics());
  }
  for (const auto& [key, value] : json.items()) {
    if (key != "steps" && key != "output" && key != "description") {
      parser.fail(key, "unknown field (valid: steps, output, description)");
    }
  }
  chain.steps = parser.parse_steps(json["steps"], "steps");
  std::set<std::string> seen;
  check_references(chain.steps, "steps", seen, parser);
  if (json.contains("output") && json["output"].is_string()) {
    chain.output = json["output"].get<std::string>();
  } else if (!chain.steps.empty()) {
    chain.output = chain.steps.back().id;
  }
  bool output_is_top_level = false;
  for (const StepDef& step : chain.steps) output_is_top_level |= step.id == chain.output;
  if (!chain.output.empty() && !output_is_top_level) {
    std::vector<std::string> ids;
    for (const StepDef& step : chain.steps) ids.push_back(step.id);
    auto hint = closest_match(chain.output, ids);
    parser.fail("output", "'" + chain.output + "' is not a top-level step" +
                              (hint ? " (did you mean '" + *hint + "'?)" : ""));
  }
  for (const StepDef* step : all_steps(chain)) {
    for (const auto* condition : {step->when ? &*step->when : nullptr,
                                  step->until ? &*step->until : nullptr}) {
      if (condition && !condition->step.empty() && !seen.count(condition->step)) {
        parser.fail("steps", "step '" + step->id + "': condition names unknown step '" +
                                 condition->step + "'");
      }
    }
  }
  if (!parser.diagnostics().empty()) return diagnostics_error(parser.diagnostics());
  return chain;
}

}  // namespace fapo
