// regex, numeric and label: scorers that read one specific thing out of the output (a pattern
// match, the final number, the first allowed label) rather than comparing whole texts.
#include <algorithm>
#include <cmath>

#include "engine/base/strings.h"
#include "engine/score/answer_match.h"
#include "engine/score/builtin_scorers.h"

namespace fapo {

namespace {

double flag(bool value) { return value ? 1.0 : 0.0; }

// A fixed pattern from the configuration, or one per case from an expected field.
class RegexScorer : public Scorer {
 public:
  RegexScorer(std::optional<std::regex> fixed, std::string field, std::string flags)
      : fixed_(std::move(fixed)), field_(std::move(field)), flags_(std::move(flags)) {}

  Status validate_case(const Case& case_data) const override {
    if (fixed_) return ok_status();
    return status_of(case_pattern(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    bool match = false;
    if (fixed_) {
      FAPO_ASSIGN_OR_RETURN(match, search_pattern(*fixed_, output));
    } else {
      FAPO_ASSIGN_OR_RETURN(std::regex pattern, case_pattern(case_data));
      FAPO_ASSIGN_OR_RETURN(match, search_pattern(pattern, output));
    }
    return Score{100.0 * flag(match), {{"match", flag(match)}}};
  }

 private:
  Result<std::regex> case_pattern(const Case& case_data) const {
    FAPO_ASSIGN_OR_RETURN(const nlohmann::json* value, expected_field(case_data, field_));
    std::string where = "field 'expected." + field_ + "'";
    if (!value->is_string()) {
      return make_error(
          ErrorCode::kInvalidInput,
          where + " must be a string holding a regular expression, got " + json_type_name(*value));
    }
    return compile_pattern(value->get<std::string>(), flags_, where);
  }

  std::optional<std::regex> fixed_;
  std::string field_;
  std::string flags_;
};

struct NumericOptions {
  std::string field = "answer";
  double tolerance = 1e-6;
  std::optional<double> relative_tolerance;
  bool fractions = true;
};

class NumericScorer : public Scorer {
 public:
  explicit NumericScorer(NumericOptions options) : options_(std::move(options)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(expected_numbers(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<double> wanted, expected_numbers(case_data));
    std::optional<double> found = last_number(output, options_.fractions);
    bool correct = found && std::any_of(wanted.begin(), wanted.end(), [&](double number) {
                     return close_enough(*found, number);
                   });
    return Score{100.0 * flag(correct),
                 {{"number_found", flag(found.has_value())}, {"correct", flag(correct)}}};
  }

 private:
  bool close_enough(double got, double wanted) const {
    double difference = std::fabs(got - wanted);
    if (difference <= options_.tolerance) return true;
    return options_.relative_tolerance &&
           difference <= *options_.relative_tolerance * std::fabs(wanted);
  }

  // expected[field]: a number, a string holding one number, or an array of those.
  Result<std::vector<double>> expected_numbers(const Case& case_data) const {
    FAPO_ASSIGN_OR_RETURN(const nlohmann::json* value, expected_field(case_data, options_.field));
    std::string name = "field 'expected." + options_.field + "'";
    if (value->is_array() && value->empty()) {
      return make_error(ErrorCode::kInvalidInput, name + " is an empty array");
    }
    std::vector<nlohmann::json> items =
        value->is_array() ? std::vector<nlohmann::json>(value->begin(), value->end())
                          : std::vector<nlohmann::json>{*value};
    std::vector<double> numbers;
    for (const nlohmann::json& item : items) {
      if (item.is_number()) {
        numbers.push_back(item.get<double>());
        continue;
      }
      std::vector<FoundNumber> found;
      if (item.is_string()) found = find_numbers(item.get<std::string>(), options_.fractions);
      if (found.size() != 1) {
        return make_error(ErrorCode::kInvalidInput,
                          name + " must hold one number, got " + truncate_utf8(item.dump(), 80));
      }
      numbers.push_back(found.front().value);
    }
    return numbers;
  }

  NumericOptions options_;
};

struct LabelOptions {
  std::string field = "answer";
  std::vector<std::string> labels;  // empty: the whole output is the label
  bool case_sensitive = false;
};

class LabelScorer : public Scorer {
 public:
  explicit LabelScorer(LabelOptions options) : options_(std::move(options)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(expected_labels(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> wanted, expected_labels(case_data));
    std::optional<std::string> found = predicted_label(output);
    bool correct = found && std::any_of(wanted.begin(), wanted.end(), [&](const auto& label) {
                     return same_label(*found, label);
                   });
    return Score{100.0 * flag(correct),
                 {{"label_found", flag(found.has_value())}, {"correct", flag(correct)}}};
  }

 private:
  bool same_label(const std::string& a, const std::string& b) const {
    return options_.case_sensitive ? a == b : to_lower(a) == to_lower(b);
  }

  std::optional<std::string> predicted_label(const std::string& output) const {
    if (!options_.labels.empty()) {
      return first_label(output, options_.labels, options_.case_sensitive);
    }
    // Without a label set, the output itself is the label, minus quotes and final punctuation.
    std::string text = trim(output);
    const std::string kStrip = "\"'`.!?:;*";
    while (!text.empty() && kStrip.find(text.back()) != std::string::npos) text.pop_back();
    std::size_t begin = 0;
    while (begin < text.size() && kStrip.find(text[begin]) != std::string::npos) ++begin;
    text = trim(text.substr(begin));
    if (text.empty()) return std::nullopt;
    return text;
  }

  Result<std::vector<std::string>> expected_labels(const Case& case_data) const {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> wanted,
                          expected_answers(case_data, options_.field, std::nullopt));
    if (options_.labels.empty()) return wanted;
    for (const std::string& label : wanted) {
      bool known =
          std::any_of(options_.labels.begin(), options_.labels.end(),
                      [&](const std::string& allowed) { return same_label(label, allowed); });
      if (!known) {
        return make_error(
            ErrorCode::kInvalidInput,
            "field 'expected." + options_.field + "' is '" + label +
                "', which is not one of the scorer's labels: " + join(options_.labels, ", "));
      }
    }
    return wanted;
  }

  LabelOptions options_;
};

}  // namespace

ScorerResult make_regex_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"pattern", "field", "flags"}));
  FAPO_ASSIGN_OR_RETURN(std::string flags, config.string_or("flags", ""));
  FAPO_ASSIGN_OR_RETURN(std::optional<std::string> pattern, config.optional_string("pattern"));
  FAPO_ASSIGN_OR_RETURN(std::optional<std::string> field, config.optional_string("field"));
  if (pattern.has_value() == field.has_value()) {
    return config.error("pattern",
                        "give either 'pattern' (one pattern for every case) or "
                        "'field' (the expected field holding each case's pattern)");
  }
  // Flags are checked now even for per-case patterns, so a typo fails before any case runs.
  FAPO_ASSIGN_OR_RETURN(std::regex fixed,
                        compile_pattern(pattern.value_or(""), flags, config.path_of("pattern")));
  if (!pattern) {
    return std::unique_ptr<Scorer>(std::make_unique<RegexScorer>(std::nullopt, *field, flags));
  }
  return std::unique_ptr<Scorer>(std::make_unique<RegexScorer>(std::move(fixed), "", flags));
}

ScorerResult make_numeric_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(
      config.check_keys({"field", "tolerance", "relative_tolerance", "fractions"}));
  NumericOptions options;
  FAPO_ASSIGN_OR_RETURN(options.field, config.string_or("field", "answer"));
  FAPO_ASSIGN_OR_RETURN(options.tolerance, config.number_or("tolerance", 1e-6));
  FAPO_ASSIGN_OR_RETURN(options.relative_tolerance, config.optional_number("relative_tolerance"));
  FAPO_ASSIGN_OR_RETURN(options.fractions, config.bool_or("fractions", true));
  if (options.tolerance < 0) return config.error("tolerance", "must be zero or more");
  if (options.relative_tolerance && *options.relative_tolerance < 0) {
    return config.error("relative_tolerance", "must be zero or more");
  }
  return std::unique_ptr<Scorer>(std::make_unique<NumericScorer>(std::move(options)));
}

ScorerResult make_label_scorer(const ConfigReader& config) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"field", "labels", "case_sensitive"}));
  LabelOptions options;
  FAPO_ASSIGN_OR_RETURN(options.field, config.string_or("field", "answer"));
  FAPO_ASSIGN_OR_RETURN(options.labels, config.string_list("labels", false));
  FAPO_ASSIGN_OR_RETURN(options.case_sensitive, config.bool_or("case_sensitive", false));
  if (config.has("labels") && options.labels.empty()) {
    return config.error("labels", "is empty; list the allowed labels or leave the key out");
  }
  for (std::size_t i = 0; i < options.labels.size(); ++i) {
    if (trim(options.labels[i]).empty()) {
      return config.error("labels[" + std::to_string(i) + "]", "is empty");
    }
  }
  return std::unique_ptr<Scorer>(std::make_unique<LabelScorer>(std::move(options)));
}

}  // namespace fapo
