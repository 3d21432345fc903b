// Text matching shared by the built-in scorers: token overlap, whole-word containment, number
// and label extraction, and reading JSON out of a model's reply. Attribution uses the same
// functions so "the answer is in the output" means the same thing everywhere. All functions are
// pure and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fapo {

struct TokenOverlap {
  double f1 = 0;
  double precision = 0;
  double recall = 0;
};

// SQuAD-style overlap of the normalised tokens (normalize_answer) of two texts, counting
// repeated tokens as often as they occur in both. Two empty texts overlap fully.
TokenOverlap token_overlap(std::string_view prediction, std::string_view reference);

// True when `phrase` occurs in `text` as whole words. Both must already be normalised
// (space-separated tokens); an empty phrase never matches.
bool contains_phrase(std::string_view normalized_text, std::string_view normalized_phrase);

// A number found in text, with where it starts (byte offset).
struct FoundNumber {
  double value = 0;
  std::size_t position = 0;
};

// Every number written in digits: "1,234" (thousands separators), "-3.5", and, when
// `fractions` is set, "2/3". When the text holds no digits at all, numbers written in words
// ("two", "twenty-five", "three hundred") are returned instead: preferring digits keeps words
// such as "no one" from being read as the answer.
std::vector<FoundNumber> find_numbers(std::string_view text, bool fractions);

// The last number of `text`, the usual place of a final answer.
std::optional<double> last_number(std::string_view text, bool fractions);

// The label of `labels` that occurs first in `text` as a whole word (the longest one when two
// start at the same place), compared case-insensitively (ASCII) unless `case_sensitive`.
std::optional<std::string> first_label(std::string_view text,
                                       const std::vector<std::string>& labels, bool case_sensitive);

// The reply as JSON: the whole text, or else the content of its first ``` fenced block
// (```json or bare). Nothing when neither parses.
std::optional<nlohmann::json> parse_json_reply(std::string_view text);

// The items of a list written one per line or separated by commas or semicolons, with list
// markers ("- ", "* ", "1. ", "2) ") removed. Commas between digits ("1,000") do not split.
std::vector<std::string> split_list_items(std::string_view text);

}  // namespace fapo
