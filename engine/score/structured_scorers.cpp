// json_fields and instructions: scorers of the output's shape. json_fields reads a JSON reply
// and compares named fields; instructions runs verifiable checks (length, inclusions, format),
// configured once for every case and optionally extended per case from an expected field.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "engine/base/strings.h"
#include "engine/score/answer_match.h"
#include "engine/score/builtin_scorers.h"

namespace fapo {

namespace {

double flag(bool value) { return value ? 1.0 : 0.0; }

// Numbers compare as numbers, other scalars as normalised text, arrays and objects
// element by element.
bool values_match(const nlohmann::json& got, const nlohmann::json& wanted) {
  if (got.is_number() && wanted.is_number()) {
    double a = got.get<double>();
    double b = wanted.get<double>();
    return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
  }
  auto got_text = scalar_text(got);
  auto wanted_text = scalar_text(wanted);
  if (got_text && wanted_text) return normalize_answer(*got_text) == normalize_answer(*wanted_text);
  if (got.is_array() && wanted.is_array()) {
    if (got.size() != wanted.size()) return false;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (!values_match(got[i], wanted[i])) return false;
    }
    return true;
  }
  if (got.is_object() && wanted.is_object()) {
    if (got.size() != wanted.size()) return false;
    for (const auto& [key, value] : wanted.items()) {
      if (!got.contains(key) || !values_match(got.at(key), value)) return false;
    }
    return true;
  }
  return got.is_null() && wanted.is_null();
}

struct WeightedField {
  std::string name;
  double weight = 1;
};

class JsonFieldsScorer : public Scorer {
 public:
  explicit JsonFieldsScorer(std::vector<WeightedField> fields) : fields_(std::move(fields)) {}

  Status validate_case(const Case& case_data) const override {
    for (const WeightedField& field : fields_) {
      FAPO_RETURN_IF_ERROR(expected_field(case_data, field.name));
    }
    return ok_status();
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_RETURN_IF_ERROR(validate_case(case_data));
    std::optional<nlohmann::json> reply = parse_json_reply(output);
    bool parse_ok = reply && reply->is_object();
    Score score;
    score.breakdown["parse_ok"] = flag(parse_ok);
    double earned = 0;
    double total = 0;
    for (const WeightedField& field : fields_) {
      bool match = parse_ok && reply->contains(field.name) &&
                   values_match(reply->at(field.name), case_data.expected.at(field.name));
      score.breakdown["field." + field.name] = flag(match);
      earned += field.weight * flag(match);
      total += field.weight;
    }
    score.composite = 100.0 * earned / total;
    return score;
  }

 private:
  std::vector<WeightedField> fields_;
};

const std::vector<std::string>& check_types() {
  static const std::vector<std::string> kTypes = {"max_words",        "min_words",   "must_include",
                                                  "must_not_include", "regex",       "json",
                                                  "lowercase",        "starts_with", "ends_with"};
  return kTypes;
}

// One verifiable instruction.
struct Check {
  std::string type;
  double value = 0;  // max_words, min_words
  std::string text;  // must_include, must_not_include, starts_with, ends_with
  bool case_sensitive = false;
  std::optional<std::regex> pattern;

  bool passes(const std::string& output) const {
    auto fold = [&](std::string_view s) { return case_sensitive ? std::string(s) : to_lower(s); };
    std::string trimmed = trim(output);
    if (type == "max_words") return static_cast<double>(word_count(output)) <= value;
    if (type == "min_words") return static_cast<double>(word_count(output)) >= value;
    if (type == "must_include") return fold(output).find(fold(text)) != std::string::npos;
    if (type == "must_not_include") return fold(output).find(fold(text)) == std::string::npos;
    if (type == "starts_with") return starts_with(fold(trimmed), fold(text));
    if (type == "ends_with") {
      std::string folded = fold(trimmed);
      std::string suffix = fold(text);
      return folded.size() >= suffix.size() &&
             folded.compare(folded.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    if (type == "json") return parse_json_reply(output).has_value();
    if (type == "lowercase") {
      return std::none_of(output.begin(), output.end(),
                          [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
    }
    // regex: search failures (pattern too complex for this output) count as not passed.
    auto found = search_pattern(*pattern, output);
    return found.ok() && *found;
  }
};

// Reads one check; `config.path()` is "scorer.checks[2]" or "expected.checks[2]".
Result<Check> read_check(const ConfigReader& config) {
  FAPO_ASSIGN_OR_RETURN(std::string type, config.required_string("type"));
  Check check;
  check.type = type;
  if (type == "max_words" || type == "min_words") {
    FAPO_RETURN_IF_ERROR(config.check_keys({"value"}));
    if (!config.has("value")) return config.error("value", "is missing");
    FAPO_ASSIGN_OR_RETURN(check.value, config.number_or("value", 0));
    if (check.value < 0) return config.error("value", "must be zero or more");
  } else if (type == "must_include" || type == "must_not_include" || type == "starts_with" ||
             type == "ends_with") {
    FAPO_RETURN_IF_ERROR(config.check_keys({"text", "case_sensitive"}));
    FAPO_ASSIGN_OR_RETURN(check.text, config.required_string("text"));
    FAPO_ASSIGN_OR_RETURN(check.case_sensitive, config.bool_or("case_sensitive", false));
    if (check.text.empty()) return config.error("text", "is empty");
  } else if (type == "regex") {
    FAPO_RETURN_IF_ERROR(config.check_keys({"pattern", "flags"}));
    FAPO_ASSIGN_OR_RETURN(std::string pattern, config.required_string("pattern"));
    FAPO_ASSIGN_OR_RETURN(std::string flags, config.string_or("flags", ""));
    FAPO_ASSIGN_OR_RETURN(check.pattern,
                          compile_pattern(pattern, flags, config.path_of("pattern")));
  } else if (type == "json" || type == "lowercase") {
    FAPO_RETURN_IF_ERROR(config.check_keys({}));
  } else {
    std::string message = "unknown check type '" + type + "'";
    if (auto suggestion = closest_match(type, check_types())) {
      message += " (did you mean '" + *suggestion + "'?)";
    }
    return config.error("type", message + "; known types: " + join(check_types(), ", "));
  }
  return check;
}

Result<std::vector<Check>> read_checks(const std::vector<nlohmann::json>& items,
                                       const std::string& path) {
  std::vector<Check> checks;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ConfigReader reader(items[i], path + "[" + std::to_string(i) + "]");
    if (!items[i].is_object()) {
      return make_error(ErrorCode::kInvalidInput,
                        reader.path() + ": must be an object, got " + json_type_name(items[i]));
    }
    FAPO_ASSIGN_OR_RETURN(Check check, read_check(reader));
    checks.push_back(std::move(check));
  }
  return checks;
}

class InstructionsScorer : public Scorer {
 public:
  InstructionsScorer(std::vector<Check> checks, std::optional<std::string> field)
      : checks_(std::move(checks)), field_(std::move(field)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(case_checks(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<Check> extra, case_checks(case_data));
    Score score;
    int passed = 0;
    auto run = [&](const std::vector<Check>& checks, const std::string& prefix) {
      for (std::size_t i = 0; i < checks.size(); ++i) {
        bool ok = checks[i].passes(output);
        passed += ok ? 1 : 0;
        score.breakdown[prefix + std::to_string(i) + "." + checks[i].type] = flag(ok);
      }
    };
    run(checks_, "");
    run(extra, "case.");
    score.composite = 100.0 * passed / static_cast<double>(checks_.size() + extra.size());
    return score;
  }

 private:
  Result<std::vector<Check>> case_checks(const Case& case_data) const {
    if (!field_) return std::vector<Check>();
    FAPO_ASSIGN_OR_RETURN(const nlohmann::json* value, expected_field(case_data, *field_));
    if (!value->is_array()) {
      return make_error(ErrorCode::kInvalidInput, "field 'expected." + *field_ +
                                                      "' must be an array of checks, got " +
                                                      json_type_name(*value));
    }
    FAPO_ASSIGN_OR_RETURN(std::vector<Check> checks,
                          read_checks(std::vector<nlohmann::json>(value->begin(), value->end()),
                                      "expected." + *field_));
    if (checks.empty() && checks_.empty()) {
      return make_error(ErrorCode::kInvalidInput,
                        "field 'expected." + *field_ +
                            "' is empty and the scorer has no checks of its own: nothing to score");
    }
    return checks;
  }

  std::vector<Check> checks_;
  std::optional<std::string> field_;
};

}  // namespace

ScorerResult make_json_fields_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"fields", "field_weights"}));
  FAPO_ASSIGN_OR_RETURN(std::vector<std::string> names, config.string_list("fields", true));
  if (names.empty()) return config.error("fields", "is empty; name the fields to compare");
  std::vector<WeightedField> fields;
  for (const std::string& name : names) fields.push_back({name, 1.0});
  if (config.has("field_weights")) {
    const nlohmann::json& weights = config.json().at("field_weights");
    if (!weights.is_object()) {
      return config.error("field_weights", "must be an object of field name to weight, got " +
                                               json_type_name(weights));
    }
    for (const auto& [name, weight] : weights.items()) {
      std::string key = "field_weights." + name;
      auto it = std::find_if(fields.begin(), fields.end(),
                             [&](const WeightedField& f) { return f.name == name; });
      if (it == fields.end()) return config.error(key, "is not one of 'fields'");
      if (!weight.is_number() || weight.get<double>() < 0) {
        return config.error(key, "must be a number zero or more");
      }
      it->weight = weight.get<double>();
    }
  }
  double total = 0;
  for (const WeightedField& field : fields) total += field.weight;
  if (total <= 0) return config.error("field_weights", "weights must not all be zero");
  return std::unique_ptr<Scorer>(std::make_unique<JsonFieldsScorer>(std::move(fields)));
}

ScorerResult make_instructions_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"checks", "field"}));
  FAPO_ASSIGN_OR_RETURN(std::vector<nlohmann::json> items, config.array("checks", false));
  FAPO_ASSIGN_OR_RETURN(std::vector<Check> checks, read_checks(items, config.path_of("checks")));
  FAPO_ASSIGN_OR_RETURN(std::optional<std::string> field, config.optional_string("field"));
  if (checks.empty() && !field) {
    return config.error("checks",
                        "is empty; list checks, or name with 'field' the expected "
                        "field holding each case's checks");
  }
  return std::unique_ptr<Scorer>(
      std::make_unique<InstructionsScorer>(std::move(checks), std::move(field)));
}

}  // namespace fapo
