// The `trajectory` scorer: how well a react step used its tools, from the trajectory in its
// trace (detail.trajectory) against the case's expected.tool_calls. Four components in [0, 1]:
// selection (F1 of the tool names), order (longest common subsequence), arguments (expected
// argument values found in the calls) and redundancy (no repeated calls); the composite is
// their weighted mean. docs/scorers.md#trajectory gives the exact definitions.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "engine/base/strings.h"
#include "engine/score/builtin_scorers.h"
#include "engine/tools/tool_call_match.h"

namespace fapo {

namespace {

using nlohmann::json;

constexpr std::size_t kComponents = 4;
constexpr std::array<const char*, kComponents> kNames = {"selection", "order", "arguments",
                                                         "redundancy"};
constexpr std::array<double, kComponents> kDefaultWeights = {0.4, 0.2, 0.3, 0.1};

using Weights = std::array<double, kComponents>;

struct ToolCallRecord {
  std::string name;
  json arguments;  // an object, or whatever the trace holds (raw text of invalid JSON)
};

Error case_error(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidInput, "field 'expected." + field + "' " + message);
}

Result<ToolCallRecord> expected_call(const json& item, std::size_t index) {
  const std::string at = "tool_calls[" + std::to_string(index) + "]";
  if (!item.is_object()) {
    return case_error(at, "must be an object {\"name\": ..., \"arguments\": {...}}, got " +
                              json_type_name(item));
  }
  for (const auto& [key, value] : item.items()) {
    if (key != "name" && key != "arguments") {
      return case_error(at + "." + key, "is not a known key (use name and arguments)");
    }
  }
  const auto name = item.find("name");
  if (name == item.end()) return case_error(at + ".name", "is missing");
  if (!name->is_string() || name->get<std::string>().empty()) {
    return case_error(at + ".name", "must be a non-empty string");
  }
  ToolCallRecord call{name->get<std::string>(), json::object()};
  const auto arguments = item.find("arguments");
  if (arguments != item.end() && !arguments->is_null()) {
    if (!arguments->is_object()) {
      return case_error(at + ".arguments", "must be an object, got " +
                                               json_type_name(*arguments));
    }
    call.arguments = *arguments;
  }
  return call;
}

Result<std::vector<ToolCallRecord>> expected_calls(const Case& case_data) {
  FAPO_ASSIGN_OR_RETURN(const json* value, expected_field(case_data, "tool_calls"));
  if (!value->is_array()) {
    return case_error("tool_calls", "must be an array of {\"name\", \"arguments\"} (an empty "
                                    "array when no tool is needed), got " +
                                        json_type_name(*value));
  }
  std::vector<ToolCallRecord> calls;
  for (std::size_t i = 0; i < value->size(); ++i) {
    FAPO_ASSIGN_OR_RETURN(ToolCallRecord call, expected_call((*value)[i], i));
    calls.push_back(std::move(call));
  }
  return calls;
}

// The react step to read: the last one with the configured id, else the last of any id.
const StepTrace* react_step(const CaseTrace& trace, const std::optional<std::string>& step) {
  for (auto it = trace.steps.rbegin(); it != trace.steps.rend(); ++it) {
    if (it->kind == "react" && (!step || it->step_id == *step)) return &*it;
  }
  return nullptr;
}

// The calls the step made; calls refused by a limit never ran and do not count.
std::vector<ToolCallRecord> actual_calls(const StepTrace* step) {
  std::vector<ToolCallRecord> calls;
  if (step == nullptr || !step->detail.is_object()) return calls;
  const auto trajectory = step->detail.find("trajectory");
  if (trajectory == step->detail.end() || !trajectory->is_array()) return calls;
  for (const json& entry : *trajectory) {
    if (!entry.is_object()) continue;
    const auto kind = entry.find("error_kind");
    if (kind != entry.end() && *kind == "limit") continue;
    const auto tool = entry.find("tool");
    const auto arguments = entry.find("arguments");
    calls.push_back({tool != entry.end() && tool->is_string() ? tool->get<std::string>() : "",
                     arguments != entry.end() ? *arguments : json()});
  }
  return calls;
}

std::vector<std::string> names_of(const std::vector<ToolCallRecord>& calls) {
  std::vector<std::string> names;
  for (const ToolCallRecord& call : calls) names.push_back(call.name);
  return names;
}

// F1 between the multisets of names; two empty multisets agree fully.
double selection(const std::vector<std::string>& expected, const std::vector<std::string>& got) {
  if (expected.empty() && got.empty()) return 1;
  std::map<std::string, int> counts;
  for (const std::string& name : expected) ++counts[name];
  double overlap = 0;
  for (const std::string& name : got) {
    if (counts[name] > 0) {
      --counts[name];
      ++overlap;
    }
  }
  return 2 * overlap / static_cast<double>(expected.size() + got.size());
}

// Longest common subsequence of the name sequences over the expected length.
double order(const std::vector<std::string>& expected, const std::vector<std::string>& got) {
  if (expected.empty()) return 1;
  std::vector<std::size_t> previous(got.size() + 1, 0), current(got.size() + 1, 0);
  for (const std::string& name : expected) {
    for (std::size_t j = 1; j <= got.size(); ++j) {
      current[j] = name == got[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    }
    std::swap(previous, current);
  }
  return static_cast<double>(previous[got.size()]) / static_cast<double>(expected.size());
}

// The share of the expected argument keys whose values the actual call matches.
double argument_share(const json& expected, const json& actual) {
  if (expected.empty()) return 1;
  if (!actual.is_object()) return 0;
  double matched = 0;
  for (const auto& [key, value] : expected.items()) {
    const auto found = actual.find(key);
    if (found != actual.end() && argument_matches(value, *found)) ++matched;
  }
  return matched / static_cast<double>(expected.size());
}

double arguments(const std::vector<ToolCallRecord>& expected,
                 const std::vector<ToolCallRecord>& got) {
  if (expected.empty()) return 1;
  double total = 0;
  for (const ToolCallRecord& want : expected) {
    double best = 0;
    for (const ToolCallRecord& call : got) {
      if (call.name != want.name) continue;
      best = std::max(best, argument_share(want.arguments, call.arguments));
    }
    total += best;
  }
  return total / static_cast<double>(expected.size());
}

// 1 - the share of calls repeating an earlier call's name and (canonical) arguments.
double redundancy(const std::vector<ToolCallRecord>& got) {
  if (got.empty()) return 1;
  std::set<std::string> seen;
  double repeats = 0;
  for (const ToolCallRecord& call : got) {
    if (!seen.insert(call.name + '\x1f' + canonical_arguments(call.arguments)).second) ++repeats;
  }
  return 1 - repeats / static_cast<double>(got.size());
}

class TrajectoryScorer : public Scorer {
 public:
  TrajectoryScorer(std::optional<std::string> step, Weights weights)
      : step_(std::move(step)), weights_(weights) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(expected_calls(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string&,
                      const CaseTrace& trace) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<ToolCallRecord> expected, expected_calls(case_data));
    const std::vector<ToolCallRecord> got = actual_calls(react_step(trace, step_));
    const std::vector<std::string> expected_names = names_of(expected);
    const std::vector<std::string> got_names = names_of(got);
    const Weights parts = {selection(expected_names, got_names), order(expected_names, got_names),
                           arguments(expected, got), redundancy(got)};
    Score score;
    double weighted = 0, total_weight = 0;
    for (std::size_t i = 0; i < kComponents; ++i) {
      score.breakdown[std::string("trajectory_") + kNames[i]] = parts[i];
      weighted += weights_[i] * parts[i];
      total_weight += weights_[i];
    }
    score.composite = 100.0 * weighted / total_weight;
    return score;
  }

 private:
  std::optional<std::string> step_;
  Weights weights_;  // sum > 0
};

// Omitted components weigh 0 when `weights` is given; the defaults apply only without it.
Result<Weights> read_weights(const ConfigReader& config) {
  if (!config.has("weights")) return kDefaultWeights;
  const json& value = config.json().at("weights");
  if (!value.is_object()) {
    return config.error("weights", "must be an object such as {\"selection\": 0.4, \"order\": "
                                   "0.2, \"arguments\": 0.3, \"redundancy\": 0.1}, got " +
                                       json_type_name(value));
  }
  ConfigReader weights(value, config.path_of("weights"));
  const std::vector<std::string> names(kNames.begin(), kNames.end());
  Weights out = {0, 0, 0, 0};
  double sum = 0;
  for (const auto& [key, weight] : value.items()) {
    const auto at = std::find(names.begin(), names.end(), key);
    if (at == names.end()) {
      std::string message = "unknown component";
      if (auto guess = closest_match(key, names)) message += " (did you mean '" + *guess + "'?)";
      return weights.error(key, message + "; components: " + join(names, ", "));
    }
    if (!weight.is_number()) {
      return weights.error(key, "must be a number, got " + json_type_name(weight));
    }
    if (weight.get<double>() < 0) return weights.error(key, "must be zero or more");
    out[static_cast<std::size_t>(at - names.begin())] = weight.get<double>();
    sum += weight.get<double>();
  }
  if (!(sum > 0)) return config.error("weights", "must not all be zero");
  return out;
}

}  // namespace

ScorerResult make_trajectory_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"step", "weights"}));
  FAPO_ASSIGN_OR_RETURN(std::optional<std::string> step, config.optional_string("step"));
  if (step && step->empty()) return config.error("step", "must name a react step");
  FAPO_ASSIGN_OR_RETURN(Weights weights, read_weights(config));
  return std::unique_ptr<Scorer>(std::make_unique<TrajectoryScorer>(std::move(step), weights));
}

}  // namespace fapo
