#include "engine/attribution/evidence.h"

#include <cmath>
#include <regex>

#include "engine/base/strings.h"
#include "engine/score/answer_match.h"

namespace fapo {
namespace {

// Keys whose values are never evidence for the answer: wrong answers of the right type, and
// references to passages (checked as titles and ids instead).
bool is_reference_key(const std::string& key) {
  const std::string lowered = to_lower(key);
  for (const char* word : {"distractor", "title", "passage", "_id", "wrong", "negative"}) {
    if (lowered.find(word) != std::string::npos) return true;
  }
  return false;
}

std::optional<std::string> scalar_string(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// Whether every normalised token is a number: "54", "1000", "50 4" (from "fifty-four").
bool only_numbers(const std::string& normalized) {
  if (normalized.empty()) return false;
  for (const std::string& token : split(normalized, ' ')) {
    if (token.empty() || token.find_first_not_of("0123456789.") != std::string::npos) {
      return false;
    }
  }
  return true;
}

EvidenceValue make_value(const std::string& text, bool numeric_json) {
  EvidenceValue value{text, normalize_evidence_text(text), std::nullopt};
  // A value is a number when the case writes it as one, or when it is nothing but a number in
  // digits or words ("54", "fifty-four"); "Route 66" is a name, not a number.
  std::vector<FoundNumber> numbers = find_numbers(text, /*fractions=*/false);
  if (numbers.size() == 1 && (numeric_json || only_numbers(value.normalized))) {
    value.number = numbers.front().value;
  }
  return value;
}

void add_values(const nlohmann::json& node, std::vector<EvidenceValue>& out) {
  if (auto text = scalar_string(node)) {
    EvidenceValue value = make_value(*text, node.is_number());
    if (!value.normalized.empty() || value.number) out.push_back(std::move(value));
    return;
  }
  if (node.is_array()) {
    for (const auto& item : node) add_values(item, out);
  }
}

void add_strings(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_string()) out.push_back(node.get<std::string>());
  if (node.is_array()) {
    for (const auto& item : node) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
  }
}

// The numbers of `text`, line by line: find_numbers ignores number words in a text holding
// digits, but a line such as "Final answer: fifty-four" should still count.
std::vector<double> numbers_in(std::string_view text) {
  std::vector<double> numbers;
  for (const std::string& line : split(text, '\n')) {
    for (const FoundNumber& found : find_numbers(line, /*fractions=*/false)) {
      numbers.push_back(found.value);
    }
  }
  return numbers;
}

}  // namespace

std::string normalize_evidence_text(std::string_view text) {
  return normalize_answer_spacing_typography(text);
}

AnswerFields answer_fields_of(const nlohmann::json& scorer) {
  AnswerFields fields;
  if (!scorer.is_object()) return fields;
  if (scorer.contains("components") && scorer["components"].is_array()) {
    // A composite: the first component that names an answer field speaks for the case.
    for (const auto& component : scorer["components"]) {
      const nlohmann::json& inner = component.contains("scorer") ? component["scorer"] : component;
      if (inner.is_object() && (inner.contains("field") || inner.value("type", "") != "")) {
        return answer_fields_of(inner);
      }
    }
    return fields;
  }
  if (scorer.contains("field") && scorer["field"].is_string()) fields.field = scorer["field"];
  if (scorer.contains("aliases_field") && scorer["aliases_field"].is_string()) {
    fields.aliases_field = scorer["aliases_field"].get<std::string>();
  }
  fields.as_set = scorer.value("type", "") == "set_recall";
  return fields;
}

CaseEvidence case_evidence(const Case& case_data, const AnswerFields& fields) {
  CaseEvidence evidence;
  evidence.answers_form_a_set = fields.as_set;
  const nlohmann::json& expected = case_data.expected;
  if (!expected.is_object()) return evidence;
  if (auto found = expected.find(fields.field); found != expected.end()) {
    add_values(*found, evidence.answers);
  }
  if (fields.aliases_field) {
    if (auto found = expected.find(*fields.aliases_field); found != expected.end()) {
      add_values(*found, evidence.answers);
    }
  }
  for (const auto& [key, value] : expected.items()) {
    if (key == fields.field || (fields.aliases_field && key == *fields.aliases_field)) continue;
    const std::string lowered = to_lower(key);
    if (lowered.find("title") != std::string::npos) add_strings(value, evidence.gold_titles);
    if (lowered.find("passage") != std::string::npos || lowered.find("_id") != std::string::npos) {
      add_strings(value, evidence.gold_passage_ids);
    }
    // Other forms of the answer ("answer_words") are not facts on the way to it.
    if (key.rfind(fields.field, 0) == 0) continue;
    if (is_reference_key(key) || !value.is_string()) continue;
    const std::string text = value.get<std::string>();
    if (word_count(text) == 0 || word_count(text) > kMaxIntermediateWords) continue;
    evidence.intermediate.push_back(make_value(text, false));
  }
  return evidence;
}

EvidenceText::EvidenceText(std::string_view text)
    : normalized_(" " + normalize_evidence_text(text) + " "), numbers_(numbers_in(text)) {}

bool EvidenceText::holds(const EvidenceValue& value) const {
  if (!value.normalized.empty() &&
      normalized_.find(" " + value.normalized + " ") != std::string::npos) {
    return true;
  }
  if (!value.number) return false;
  for (double number : numbers_) {
    if (std::fabs(number - *value.number) <= 1e-6 * std::max(1.0, std::fabs(*value.number))) {
      return true;
    }
  }
  return false;
}

bool holds_answer(const EvidenceText& text, const CaseEvidence& evidence) {
  if (evidence.answers.empty()) return false;
  if (evidence.answers_form_a_set) {
    for (const EvidenceValue& value : evidence.answers) {
      if (!text.holds(value)) return false;
    }
    return true;
  }
  return first_held(text, evidence.answers) != nullptr;
}

const EvidenceValue* first_held(const EvidenceText& text,
                                const std::vector<EvidenceValue>& values) {
  for (const EvidenceValue& value : values) {
    if (text.holds(value)) return &value;
  }
  return nullptr;
}

std::string quote_text(std::string_view text, std::size_t max_bytes) {
  std::string flat;
  for (char c : text) flat.push_back(c == '\n' ? ' ' : c);
  std::string cut = truncate_utf8(flat, max_bytes);
  return "\"" + cut + (cut.size() < flat.size() ? "\u2026" : "") + "\"";
}

std::vector<RetrievedPassage> parse_retrieved_passages(std::string_view output) {
  std::vector<RetrievedPassage> passages;
  for (const std::string& line : split(output, '\n')) {
    // "[3] «Title | text»" or "[3] «text»" (a corpus entry without a title).
    static const std::regex kLine("^\\[(\\d+)\\] \u00ab(.*)\u00bb\\s*$");
    std::smatch match;
    if (!std::regex_match(line, match, kLine)) continue;
    RetrievedPassage passage;
    passage.rank = std::stoi(match[1].str());
    std::string body = match[2].str();
    std::size_t bar = body.find(" | ");
    if (bar == std::string::npos) {
      passage.text = body;
    } else {
      passage.title = body.substr(0, bar);
      passage.text = body.substr(bar + 3);
    }
    passages.push_back(std::move(passage));
  }
  return passages;
}

}  // namespace fapo
