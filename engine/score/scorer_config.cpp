#include "engine/score/scorer_config.h"

#include <algorithm>
#include <cmath>

#include "engine/base/strings.h"

namespace fapo {

namespace {

Error wrong_type(const ConfigReader& reader, std::string_view key, std::string_view wanted,
                 const nlohmann::json& got) {
  return reader.error(key, "must be " + std::string(wanted) + ", got " + json_type_name(got));
}

}  // namespace

bool ConfigReader::has(std::string_view key) const {
  return config_.is_object() && config_.contains(key) && !config_.at(key).is_null();
}

Error ConfigReader::error(std::string_view key, const std::string& message) const {
  return make_error(ErrorCode::kInvalidInput, path_of(key) + ": " + message);
}

Result<std::string> ConfigReader::required_string(std::string_view key) const {
  if (!has(key)) return error(key, "is missing");
  const nlohmann::json& value = config_.at(key);
  if (!value.is_string()) return wrong_type(*this, key, "a string", value);
  return value.get<std::string>();
}

Result<std::string> ConfigReader::string_or(std::string_view key,
                                            const std::string& fallback) const {
  if (!has(key)) return fallback;
  return required_string(key);
}

Result<std::optional<std::string>> ConfigReader::optional_string(std::string_view key) const {
  if (!has(key)) return std::optional<std::string>();
  FAPO_ASSIGN_OR_RETURN(std::string value, required_string(key));
  return std::optional<std::string>(std::move(value));
}

Result<double> ConfigReader::number_or(std::string_view key, double fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = config_.at(key);
  if (!value.is_number()) return wrong_type(*this, key, "a number", value);
  return value.get<double>();
}

Result<std::optional<double>> ConfigReader::optional_number(std::string_view key) const {
  if (!has(key)) return std::optional<double>();
  FAPO_ASSIGN_OR_RETURN(double value, number_or(key, 0));
  return std::optional<double>(value);
}

Result<bool> ConfigReader::bool_or(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = config_.at(key);
  if (!value.is_boolean()) return wrong_type(*this, key, "true or false", value);
  return value.get<bool>();
}

Result<std::vector<std::string>> ConfigReader::string_list(std::string_view key,
                                                           bool required) const {
  FAPO_ASSIGN_OR_RETURN(std::vector<nlohmann::json> items, array(key, required));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      return error(std::string(key) + "[" + std::to_string(i) + "]",
                   "must be a string, got " + json_type_name(items[i]));
    }
    out.push_back(items[i].get<std::string>());
  }
  return out;
}

Result<std::vector<nlohmann::json>> ConfigReader::array(std::string_view key, bool required) const {
  if (!has(key)) {
    if (required) return error(key, "is missing");
    return std::vector<nlohmann::json>();
  }
  const nlohmann::json& value = config_.at(key);
  if (!value.is_array()) return wrong_type(*this, key, "an array", value);
  return std::vector<nlohmann::json>(value.begin(), value.end());
}

Status ConfigReader::check_keys(const std::vector<std::string>& allowed) const {
  if (!config_.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      path_ + ": must be an object, got " + json_type_name(config_));
  }
  std::vector<std::string> known = allowed;
  known.push_back("type");
  known.push_back("description");
  for (const auto& [key, value] : config_.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown key";
    if (auto suggestion = closest_match(key, known)) {
      message += " (did you mean '" + *suggestion + "'?)";
    }
    message += "; this scorer accepts: " + join(allowed, ", ");
    return error(key, message);
  }
  return ok_status();
}

Result<std::regex> compile_pattern(const std::string& pattern, const std::string& flags,
                                   const std::string& where) {
  auto options = std::regex::ECMAScript;
  for (char flag : flags) {
    if (flag == 'i') {
      options |= std::regex::icase;
    } else if (flag == 'm') {
      options |= std::regex::multiline;
    } else {
      return make_error(
          ErrorCode::kInvalidInput,
          where + ": unknown regex flag '" + std::string(1, flag) +
              "'; supported flags: i (ignore case), m (^ and $ match at line breaks)");
    }
  }
  try {
    return std::regex(pattern, options);
  } catch (const std::regex_error& error) {
    return make_error(ErrorCode::kInvalidInput,
                      where + ": invalid regular expression '" + pattern + "': " + error.what());
  }
}

Result<bool> search_pattern(const std::regex& pattern, const std::string& text) {
  try {
    return std::regex_search(text, pattern);
  } catch (const std::regex_error& error) {
    return make_error(ErrorCode::kScorer,
                      std::string("regular expression search failed on the output (") +
                          error.what() + "); simplify the pattern");
  }
}

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "boolean";
  return value.type_name();
}

std::optional<std::string> scalar_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_boolean()) {
    return value.dump();
  }
  if (value.is_number_float()) {
    double number = value.get<double>();
    // 3.0 is "3", not "3.0": the expected answer "3" should match an output "3".
    if (std::fabs(number) < 1e15 && number == std::trunc(number)) {
      return std::to_string(static_cast<long long>(number));
    }
    return value.dump();
  }
  return std::nullopt;
}

Result<const nlohmann::json*> expected_field(const Case& case_data, const std::string& field) {
  if (!case_data.expected.is_object() || !case_data.expected.contains(field) ||
      case_data.expected.at(field).is_null()) {
    return make_error(ErrorCode::kInvalidInput, "field 'expected." + field + "' is missing");
  }
  return &case_data.expected.at(field);
}

namespace {

// Appends the texts of a string/number or an array of those; `name` is "expected.<field>".
Status append_answers(const nlohmann::json& value, const std::string& name,
                      std::vector<std::string>& out) {
  if (auto text = scalar_text(value)) {
    out.push_back(*text);
    return ok_status();
  }
  if (!value.is_array()) {
    return make_error(ErrorCode::kInvalidInput,
                      "field '" + name + "' must be a string, a number or an array of them, got " +
                          json_type_name(value));
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto text = scalar_text(value[i]);
    if (!text) {
      return make_error(ErrorCode::kInvalidInput, "field '" + name + "[" + std::to_string(i) +
                                                      "]' must be a string or a number, got " +
                                                      json_type_name(value[i]));
    }
    out.push_back(*text);
  }
  return ok_status();
}

}  // namespace

Result<std::vector<std::string>> expected_answers(const Case& case_data, const std::string& field,
                                                  const std::optional<std::string>& aliases_field) {
  FAPO_ASSIGN_OR_RETURN(const nlohmann::json* value, expected_field(case_data, field));
  std::vector<std::string> answers;
  FAPO_RETURN_IF_ERROR(append_answers(*value, "expected." + field, answers));
  if (answers.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "field 'expected." + field + "' is an empty array; list at least one answer");
  }
  // Aliases are optional per case: many cases have none.
  if (aliases_field && expected_field(case_data, *aliases_field).ok()) {
    const nlohmann::json& aliases = case_data.expected.at(*aliases_field);
    FAPO_RETURN_IF_ERROR(append_answers(aliases, "expected." + *aliases_field, answers));
  }
  return answers;
}

}  // namespace fapo
