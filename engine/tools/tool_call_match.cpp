#include "engine/tools/tool_call_match.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

std::optional<double> number_in(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string text = trim(value.get<std::string>());
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(number)) return std::nullopt;
  return number;
}

bool same_number(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
}

bool words_contained(const std::string& expected, const std::string& actual) {
  std::set<std::string> actual_words;
  for (const std::string& word : split(normalize_answer_spacing_typography(actual), ' ')) {
    if (!word.empty()) actual_words.insert(word);
  }
  for (const std::string& word : split(normalize_answer_spacing_typography(expected), ' ')) {
    if (!word.empty() && !actual_words.count(word)) return false;
  }
  return true;
}

json canonical(const json& value) {
  if (value.is_string()) return normalize_answer_spacing_typography(value.get<std::string>());
  if (value.is_object()) {
    json out = json::object();  // nlohmann orders object keys
    for (const auto& [key, item] : value.items()) out[key] = canonical(item);
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) out.push_back(canonical(item));
    return out;
  }
  if (value.is_number()) return value.get<double>();
  return value;
}

}  // namespace

bool argument_matches(const json& expected, const json& actual) {
  if (expected.is_object()) {
    if (expected.empty()) return true;
    if (!actual.is_object()) return false;
    for (const auto& [key, value] : expected.items()) {
      auto found = actual.find(key);
      if (found == actual.end() || !argument_matches(value, *found)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return false;
    return std::all_of(expected.begin(), expected.end(), [&actual](const json& item) {
      return std::any_of(actual.begin(), actual.end(),
                         [&item](const json& candidate) { return argument_matches(item, candidate); });
    });
  }
  if (expected.is_number()) {
    auto number = number_in(actual);
    return number && same_number(expected.get<double>(), *number);
  }
  if (expected.is_string()) {
    if (actual.is_object() || actual.is_array() || actual.is_null()) return false;
    return words_contained(expected.get<std::string>(),
                           actual.is_string() ? actual.get<std::string>() : actual.dump());
  }
  return expected == actual;
}

std::string canonical_arguments(const json& arguments) { return canonical(arguments).dump(); }

}  // namespace fapo
