// Reading scorer configurations and the expected values of cases. A ConfigReader wraps one JSON
// object of the tenant's `scorer` configuration together with its path ("scorer",
// "scorer.components[1].scorer"), so every error names the exact field to fix. The expected_*
// helpers give the uniform "field 'expected.answer' is missing" messages of validate_case.
// All functions are pure; a ConfigReader borrows its JSON, which must outlive it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/data/case.h"

namespace fapo {

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& config, std::string path)
      : config_(config), path_(std::move(path)) {}

  const nlohmann::json& json() const { return config_; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return path_ + "." + std::string(key); }
  bool has(std::string_view key) const;

  // kInvalidInput naming `<path>.<key>`: "scorer.tolerance: must be a number, got string".
  Error error(std::string_view key, const std::string& message) const;

  // Each accessor returns the fallback when the key is absent and an error when it has the
  // wrong type. Required accessors report "is missing".
  Result<std::string> required_string(std::string_view key) const;
  Result<std::string> string_or(std::string_view key, const std::string& fallback) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<double> number_or(std::string_view key, double fallback) const;
  Result<std::optional<double>> optional_number(std::string_view key) const;
  Result<bool> bool_or(std::string_view key, bool fallback) const;
  Result<std::vector<std::string>> string_list(std::string_view key, bool required) const;
  // The array under `key` (absent counts as empty unless required).
  Result<std::vector<nlohmann::json>> array(std::string_view key, bool required) const;

  // Rejects keys outside `allowed` (plus "type" and "description"), with a "did you mean".
  Status check_keys(const std::vector<std::string>& allowed) const;

 private:
  const nlohmann::json& config_;
  std::string path_;
};

// The error of a Result, or success: for validate_case functions built on value accessors.
template <typename T>
Status status_of(const Result<T>& result) {
  if (!result.ok()) return result.error();
  return ok_status();
}

// Compiles an ECMAScript pattern with `flags` ("i": ignore case, "m": ^ and $ at line breaks).
// `where` names the pattern in errors: "scorer.pattern" or "field 'expected.pattern'".
Result<std::regex> compile_pattern(const std::string& pattern, const std::string& flags,
                                   const std::string& where);

// std::regex_search that reports failures (a pattern too complex for the input) as kScorer.
Result<bool> search_pattern(const std::regex& pattern, const std::string& text);

// Name of a JSON value's type for messages: "string", "number", "array", ...
std::string json_type_name(const nlohmann::json& value);

// A scalar as answer text: strings as they are, numbers and booleans in JSON spelling.
std::optional<std::string> scalar_text(const nlohmann::json& value);

// expected[field], or "field 'expected.<field>' is missing" (kInvalidInput).
Result<const nlohmann::json*> expected_field(const Case& case_data, const std::string& field);

// The accepted answers of a case: expected[field] as a string, number or array of those, plus
// the entries of expected[aliases_field] when that field is configured and present.
Result<std::vector<std::string>> expected_answers(const Case& case_data, const std::string& field,
                                                  const std::optional<std::string>& aliases_field);

}  // namespace fapo
