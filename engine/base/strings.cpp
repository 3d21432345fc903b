#include "engine/base/strings.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

namespace fapo {

std::string trim(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = text.find(separator, start);
    if (pos == std::string_view::npos) {
      parts.emplace_back(text.substr(start));
      return parts;
    }
    parts.emplace_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(parts[i]);
  }
  return out;
}

namespace {

const std::unordered_map<std::string, std::string>& number_words() {
  static const std::unordered_map<std::string, std::string> kWords = {
      {"zero", "0"},     {"one", "1"},       {"two", "2"},        {"three", "3"},
      {"four", "4"},     {"five", "5"},      {"six", "6"},        {"seven", "7"},
      {"eight", "8"},    {"nine", "9"},      {"ten", "10"},       {"eleven", "11"},
      {"twelve", "12"},  {"thirteen", "13"}, {"fourteen", "14"},  {"fifteen", "15"},
      {"sixteen", "16"}, {"seventeen", "17"}, {"eighteen", "18"}, {"nineteen", "19"},
      {"twenty", "20"},  {"thirty", "30"},   {"forty", "40"},     {"fifty", "50"},
      {"hundred", "100"}, {"thousand", "1000"}};
  return kWords;
}

}  // namespace

std::string normalize_answer(std::string_view text) {
  std::string cleaned;
  cleaned.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    // Keep decimal points and thousands separators inside numbers ("3.5", "1,000" -> "1000").
    if ((c == '.' || c == ',') && i > 0 && i + 1 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      if (c == '.') cleaned.push_back('.');
      continue;
    }
    if (c >= 0x80 || std::isalnum(c)) {
      cleaned.push_back(static_cast<char>(std::tolower(c)));
    } else {
      cleaned.push_back(' ');
    }
  }
  std::string out;
  for (const std::string& word : split(cleaned, ' ')) {
    if (word.empty() || word == "a" || word == "an" || word == "the") continue;
    auto number = number_words().find(word);
    if (!out.empty()) out.push_back(' ');
    out.append(number == number_words().end() ? word : number->second);
  }
  return out;
}

std::size_t word_count(std::string_view text) {
  std::size_t count = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space && !in_word) ++count;
    in_word = !space;
  }
  return count;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest_match(std::string_view name,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

double hash_to_unit(std::uint64_t hash) {
  return static_cast<double>(hash >> 11) * (1.0 / 9007199254740992.0);
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::string normalize_answer_spacing_typography(std::string_view text) {
  static constexpr std::string_view kMarks[] = {"\u00ab", "\u00bb", "\u201c", "\u201d",
                                                "\u2018", "\u2019", "\u201e", "\u2013",
                                                "\u2014", "\u2026", "\u00b7", "\u2022"};
  std::string spaced;
  spaced.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      for (std::string_view mark : kMarks) {
        if (text.substr(i, mark.size()) == mark) {
          spaced += ' ';
          i += mark.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) spaced += text[i++];
  }
  return normalize_answer(spaced);
}

}  // namespace fapo
