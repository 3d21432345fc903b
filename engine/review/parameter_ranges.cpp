#include "engine/review/parameter_ranges.h"

#include <algorithm>
#include <sstream>

#include "engine/base/diagnostic.h"
#include "engine/base/strings.h"

namespace fapo {
namespace {

const std::vector<std::string>& parameter_field_names() {
  static const std::vector<std::string> kFields = {
      "k", "n", "max_iterations", "temperature", "top_p", "max_tokens", "max_words", "max_chars",
      // react steps
      "max_calls_per_iteration", "max_calls", "tool_timeout_s", "max_result_chars", "search_k"};
  return kFields;
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The field part of a key: "k" or the text after the last '.' of "hop2.k".
std::string field_of_key(const std::string& key) {
  std::size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

void parse_entry(const std::string& key, const nlohmann::json& entry, const std::string& file,
                 ParameterRanges& out, Diagnostics& problems) {
  const std::string field_path = "scope.parameter_ranges." + key;
  auto problem = [&](const std::string& message) {
    problems.push_back({file, 0, field_path, message});
  };
  const std::string field = field_of_key(key);
  const auto& fields = parameter_field_names();
  if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
    auto suggestion = closest_match(field, fields);
    problem("'" + field + "' is not a parameter" +
            (suggestion ? " (did you mean '" + *suggestion + "'?)" : "") + "; parameters are " +
            join(fields, ", "));
    return;
  }
  if (!entry.is_object()) {
    problem("must be an object with \"min\"/\"max\" or \"values\", got " +
            std::string(entry.type_name()));
    return;
  }
  ParameterRange range;
  range.key = key;
  for (const auto& [name, value] : entry.items()) {
    if ((name == "min" || name == "max") && value.is_number()) {
      (name == "min" ? range.min : range.max) = value.get<double>();
    } else if (name == "values" && value.is_array() && !value.empty() &&
               std::all_of(value.begin(), value.end(),
                           [](const nlohmann::json& v) { return v.is_number(); })) {
      for (const auto& v : value) range.values.push_back(v.get<double>());
    } else {
      problem("'" + name + "': expected \"min\" or \"max\" (a number) or \"values\" (a "
              "non-empty list of numbers)");
      return;
    }
  }
  if (!range.min && !range.max && range.values.empty()) {
    problem("gives no bound: add \"min\", \"max\" or \"values\"");
    return;
  }
  if (range.min && range.max && *range.min > *range.max) {
    problem("min " + number_text(*range.min) + " is above max " + number_text(*range.max));
    return;
  }
  out.by_key[key] = std::move(range);
}

}  // namespace

bool ParameterRange::allows(double value) const {
  if (!values.empty()) return std::find(values.begin(), values.end(), value) != values.end();
  if (min && value < *min) return false;
  if (max && value > *max) return false;
  return true;
}

std::string ParameterRange::describe() const {
  if (!values.empty()) {
    std::vector<std::string> texts;
    for (double value : values) texts.push_back(number_text(value));
    return "one of " + join(texts, ", ");
  }
  if (min && max) return "from " + number_text(*min) + " to " + number_text(*max);
  if (min) return "at least " + number_text(*min);
  return "at most " + number_text(*max);
}

const ParameterRange* ParameterRanges::find(const std::string& step_id,
                                            const std::string& field) const {
  auto own = by_key.find(step_id + "." + field);
  if (own != by_key.end()) return &own->second;
  auto shared = by_key.find(field);
  return shared == by_key.end() ? nullptr : &shared->second;
}

Result<ParameterRanges> parse_parameter_ranges(const nlohmann::json& doc,
                                               const std::string& file) {
  ParameterRanges out;
  if (doc.is_null()) return out;
  if (!doc.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      file + ": field 'scope.parameter_ranges': must be an object");
  }
  Diagnostics problems;
  for (const auto& [key, entry] : doc.items()) parse_entry(key, entry, file, out, problems);
  if (!problems.empty()) return diagnostics_error(problems);
  return out;
}

std::vector<std::pair<std::string, double>> parameter_values(const StepDef& step) {
  std::vector<std::pair<std::string, double>> out;
  switch (step.kind) {
    case StepKind::kRetrieve:
      out.emplace_back("k", step.k);
      break;
    case StepKind::kVote:
      out.emplace_back("n", step.n);
      break;
    case StepKind::kLoop:
      out.emplace_back("max_iterations", step.max_iterations);
      break;
    case StepKind::kReact:
      out.emplace_back("max_iterations", step.max_iterations);
      out.emplace_back("max_calls_per_iteration", step.max_calls_per_iteration);
      out.emplace_back("max_calls", step.max_calls);
      out.emplace_back("tool_timeout_s", step.tool_timeout_s);
      out.emplace_back("max_result_chars", step.max_result_chars);
      out.emplace_back("search_k", step.search_k);
      [[fallthrough]];  // and the sampling settings of its model, like an llm step
    case StepKind::kLlm:
      if (step.temperature) out.emplace_back("temperature", *step.temperature);
      if (step.top_p) out.emplace_back("top_p", *step.top_p);
      if (step.max_tokens) out.emplace_back("max_tokens", *step.max_tokens);
      break;
    case StepKind::kTransform:
      if (step.max_words) out.emplace_back("max_words", *step.max_words);
      if (step.max_chars) out.emplace_back("max_chars", *step.max_chars);
      break;
  }
  return out;
}

ParameterRange sane_range(const std::string& field) {
  ParameterRange range;
  range.key = field;
  if (field == "k") {
    range.min = 1;
    range.max = 50;
  } else if (field == "n") {
    range.min = 1;
    range.max = 25;
  } else if (field == "max_iterations") {
    // Loops allow 1-10 and react steps 1-20; the chain parser holds each kind to its own.
    range.min = 1;
    range.max = 20;
  } else if (field == "max_calls_per_iteration") {
    range.min = 1;
    range.max = 10;
  } else if (field == "max_calls") {
    range.min = 1;
    range.max = 50;
  } else if (field == "tool_timeout_s") {
    range.min = 0.1;
    range.max = 300;
  } else if (field == "max_result_chars") {
    range.min = 100;
    range.max = 100000;
  } else if (field == "search_k") {
    range.min = 1;
    range.max = 20;
  } else if (field == "temperature") {
    range.min = 0;
    range.max = 2;
  } else if (field == "top_p") {
    range.min = 1e-9;  // exclusive 0
    range.max = 1;
  } else if (field == "max_tokens") {
    range.min = 1;
    range.max = 1000000;
  } else {
    range.min = 1;  // max_words, max_chars
  }
  return range;
}

}  // namespace fapo
