#include "engine/score/answer_match.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "engine/base/strings.h"

namespace fapo {

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::vector<std::string> tokens_of(std::string_view text) {
  std::vector<std::string> tokens;
  for (std::string& token : split(normalize_answer(text), ' ')) {
    if (!token.empty()) tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

TokenOverlap token_overlap(std::string_view prediction, std::string_view reference) {
  std::vector<std::string> predicted = tokens_of(prediction);
  std::vector<std::string> wanted = tokens_of(reference);
  if (predicted.empty() && wanted.empty()) return {1.0, 1.0, 1.0};
  if (predicted.empty() || wanted.empty()) return {};
  std::map<std::string, int> remaining;
  for (const std::string& token : wanted) ++remaining[token];
  int common = 0;
  for (const std::string& token : predicted) {
    auto it = remaining.find(token);
    if (it != remaining.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return {};
  TokenOverlap overlap;
  overlap.precision = static_cast<double>(common) / static_cast<double>(predicted.size());
  overlap.recall = static_cast<double>(common) / static_cast<double>(wanted.size());
  overlap.f1 = 2 * overlap.precision * overlap.recall / (overlap.precision + overlap.recall);
  return overlap;
}

bool contains_phrase(std::string_view normalized_text, std::string_view normalized_phrase) {
  if (normalized_phrase.empty()) return false;
  std::string text = " " + std::string(normalized_text) + " ";
  std::string phrase = " " + std::string(normalized_phrase) + " ";
  return text.find(phrase) != std::string::npos;
}

namespace {

// Reads one number written in digits starting at `begin` (a digit). Returns the end offset.
std::size_t scan_digits(std::string_view text, std::size_t begin, bool fractions, double& value) {
  std::size_t pos = begin;
  std::string digits;
  while (pos < text.size() && is_digit(text[pos])) digits.push_back(text[pos++]);
  // Thousands groups: ",ddd" not followed by another digit ("1,234" but not "1,2345").
  while (pos + 3 < text.size() && text[pos] == ',' && is_digit(text[pos + 1]) &&
         is_digit(text[pos + 2]) && is_digit(text[pos + 3]) &&
         (pos + 4 >= text.size() || !is_digit(text[pos + 4]))) {
    digits.append(text.substr(pos + 1, 3));
    pos += 4;
  }
  if (pos + 1 < text.size() && text[pos] == '.' && is_digit(text[pos + 1])) {
    digits.push_back('.');
    ++pos;
    while (pos < text.size() && is_digit(text[pos])) digits.push_back(text[pos++]);
  }
  value = std::strtod(digits.c_str(), nullptr);
  if (fractions && pos + 1 < text.size() && text[pos] == '/' && is_digit(text[pos + 1])) {
    std::size_t denominator_end = pos + 1;
    while (denominator_end < text.size() && is_digit(text[denominator_end])) ++denominator_end;
    double denominator =
        std::strtod(std::string(text.substr(pos + 1, denominator_end - pos - 1)).c_str(), nullptr);
    if (denominator != 0) {
      value /= denominator;
      pos = denominator_end;
    }
  }
  return pos;
}

std::vector<FoundNumber> find_digit_numbers(std::string_view text, bool fractions) {
  std::vector<FoundNumber> found;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos])) {
      ++pos;
      continue;
    }
    std::size_t start = pos;
    // A minus sign counts when it is not a hyphen inside a word or a range ("3-5").
    bool negative = start > 0 && text[start - 1] == '-' &&
                    (start < 2 || !std::isalnum(static_cast<unsigned char>(text[start - 2])));
    double value = 0;
    pos = scan_digits(text, start, fractions, value);
    found.push_back({negative ? -value : value, negative ? start - 1 : start});
  }
  return found;
}

const std::unordered_map<std::string, int>& number_word_values() {
  static const std::unordered_map<std::string, int> kValues = {
      {"zero", 0},         {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},
      {"five", 5},         {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},
      {"ten", 10},         {"eleven", 11},  {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
      {"fifteen", 15},     {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
      {"twenty", 20},      {"thirty", 30},  {"forty", 40},     {"fifty", 50},    {"sixty", 60},
      {"seventy", 70},     {"eighty", 80},  {"ninety", 90},    {"hundred", 100}, {"thousand", 1000},
      {"million", 1000000}};
  return kValues;
}

// Numbers written in words; consecutive number words ("twenty-five", "two hundred") combine.
std::vector<FoundNumber> find_word_numbers(std::string_view text) {
  std::vector<FoundNumber> found;
  std::size_t pos = 0;
  bool in_number = false;
  double total = 0;
  double current = 0;
  auto finish = [&] {
    if (in_number) found.back().value = total + current;
    in_number = false;
    total = current = 0;
  };
  while (pos < text.size()) {
    if (!is_alpha(text[pos])) {
      // Spaces and hyphens may join number words; anything else ends the number.
      if (text[pos] != ' ' && text[pos] != '-') finish();
      ++pos;
      continue;
    }
    std::size_t start = pos;
    while (pos < text.size() && is_alpha(text[pos])) ++pos;
    std::string word = to_lower(text.substr(start, pos - start));
    // "three hundred and six" is one number; "two and three" are two.
    if (word == "and" && in_number && current > 0 && std::fmod(current, 100) == 0) continue;
    auto it = number_word_values().find(word);
    if (it == number_word_values().end()) {
      finish();
      continue;
    }
    int value = it->second;
    // "one two" are two numbers, "twenty five" is one.
    bool separate = (value < 10 && std::fmod(current, 10) != 0) ||
                    (value >= 10 && value < 100 && std::fmod(current, 100) != 0);
    if (separate) finish();
    if (!in_number) found.push_back({0, start});
    in_number = true;
    if (value == 100) {
      current = (current == 0 ? 1 : current) * 100;
    } else if (value >= 1000) {
      total += (current == 0 ? 1 : current) * value;
      current = 0;
    } else {
      current += value;
    }
  }
  finish();
  return found;
}

}  // namespace

std::vector<FoundNumber> find_numbers(std::string_view text, bool fractions) {
  std::vector<FoundNumber> found = find_digit_numbers(text, fractions);
  if (found.empty()) found = find_word_numbers(text);
  return found;
}

std::optional<double> last_number(std::string_view text, bool fractions) {
  std::vector<FoundNumber> found = find_numbers(text, fractions);
  if (found.empty()) return std::nullopt;
  return found.back().value;
}

namespace {

// Offset of the first whole-word occurrence of `label` in `text`, both already case-folded.
std::optional<std::size_t> find_whole_word(std::string_view text, std::string_view label) {
  if (label.empty()) return std::nullopt;
  // Word boundaries only matter on a side where the label itself ends in a word character:
  // "(A)" is found in "(A)." but "A" is not found in "AB".
  bool check_left = is_word_char(label.front());
  bool check_right = is_word_char(label.back());
  std::size_t pos = text.find(label);
  while (pos != std::string_view::npos) {
    std::size_t end = pos + label.size();
    bool left_ok = !check_left || pos == 0 || !is_word_char(text[pos - 1]);
    bool right_ok = !check_right || end == text.size() || !is_word_char(text[end]);
    if (left_ok && right_ok) return pos;
    pos = text.find(label, pos + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> first_label(std::string_view text,
                                       const std::vector<std::string>& labels,
                                       bool case_sensitive) {
  std::string haystack = case_sensitive ? std::string(text) : to_lower(text);
  std::optional<std::string> best;
  std::size_t best_pos = 0;
  for (const std::string& label : labels) {
    auto pos = find_whole_word(haystack, case_sensitive ? label : to_lower(label));
    if (!pos) continue;
    bool earlier = !best || *pos < best_pos;
    bool longer_at_same_place = best && *pos == best_pos && label.size() > best->size();
    if (earlier || longer_at_same_place) {
      best = label;
      best_pos = *pos;
    }
  }
  return best;
}

std::optional<nlohmann::json> parse_json_reply(std::string_view text) {
  std::string whole = trim(text);
  nlohmann::json parsed = nlohmann::json::parse(whole, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  std::size_t open = whole.find("```");
  if (open == std::string::npos) return std::nullopt;
  std::size_t body = whole.find('\n', open);
  if (body == std::string::npos) return std::nullopt;
  std::size_t close = whole.find("```", body);
  if (close == std::string::npos) return std::nullopt;
  parsed = nlohmann::json::parse(whole.substr(body + 1, close - body - 1), nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

namespace {

std::string strip_list_marker(const std::string& item) {
  std::string text = trim(item);
  if (!text.empty() && (text[0] == '-' || text[0] == '*')) return trim(text.substr(1));
  if (starts_with(text, "\xE2\x80\xA2")) return trim(text.substr(3));  // "•"
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits > 0 && digits + 1 < text.size() && (text[digits] == '.' || text[digits] == ')') &&
      text[digits + 1] == ' ') {
    return trim(text.substr(digits + 1));
  }
  return text;
}

}  // namespace

std::vector<std::string> split_list_items(std::string_view text) {
  std::vector<std::string> items;
  std::string current;
  auto flush = [&] {
    std::string item = strip_list_marker(current);
    if (!item.empty()) items.push_back(std::move(item));
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool digit_comma =
        c == ',' && i > 0 && i + 1 < text.size() && is_digit(text[i - 1]) && is_digit(text[i + 1]);
    if (c == '\n' || c == ';' || (c == ',' && !digit_comma)) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return items;
}

}  // namespace fapo
