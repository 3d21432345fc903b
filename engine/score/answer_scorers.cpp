// exact_match, token_f1, contains and set_recall: scorers that compare the output with the
// expected answers after normalize_answer (lowercase, no punctuation or articles, number words
// as digits).
#include <algorithm>

#include "engine/base/strings.h"
#include "engine/score/answer_match.h"
#include "engine/score/builtin_scorers.h"

namespace fapo {

namespace {

// Where a case keeps its accepted answers.
struct AnswerSource {
  std::string field = "answer";
  std::optional<std::string> aliases_field;

  static Result<AnswerSource> read(const ConfigReader& config, bool with_aliases) {
    std::vector<std::string> keys = {"field"};
    if (with_aliases) keys.push_back("aliases_field");
    FAPO_RETURN_IF_ERROR(config.check_keys(keys));
    AnswerSource source;
    FAPO_ASSIGN_OR_RETURN(source.field, config.string_or("field", "answer"));
    if (with_aliases) {
      FAPO_ASSIGN_OR_RETURN(source.aliases_field, config.optional_string("aliases_field"));
    }
    return source;
  }

  Result<std::vector<std::string>> answers(const Case& case_data) const {
    return expected_answers(case_data, field, aliases_field);
  }
};

class ExactMatchScorer : public Scorer {
 public:
  explicit ExactMatchScorer(AnswerSource source) : source_(std::move(source)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(source_.answers(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> answers, source_.answers(case_data));
    std::string normalized = normalize_answer(output);
    bool match = std::any_of(answers.begin(), answers.end(), [&](const std::string& answer) {
      return normalize_answer(answer) == normalized;
    });
    return Score{match ? 100.0 : 0.0, {{"exact_match", match ? 1.0 : 0.0}}};
  }

 private:
  AnswerSource source_;
};

class TokenF1Scorer : public Scorer {
 public:
  explicit TokenF1Scorer(AnswerSource source) : source_(std::move(source)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(source_.answers(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> answers, source_.answers(case_data));
    TokenOverlap best;
    for (const std::string& answer : answers) {
      TokenOverlap overlap = token_overlap(output, answer);
      if (overlap.f1 > best.f1) best = overlap;
    }
    return Score{100.0 * best.f1,
                 {{"f1", best.f1}, {"precision", best.precision}, {"recall", best.recall}}};
  }

 private:
  AnswerSource source_;
};

// The answers as normalised phrases; an answer that normalises to nothing ("the", "?") would
// be found in every output, so it is a data error here.
Result<std::vector<std::string>> answer_phrases(const std::vector<std::string>& answers,
                                                const std::string& field) {
  std::vector<std::string> phrases;
  for (const std::string& answer : answers) {
    std::string phrase = normalize_answer(answer);
    if (phrase.empty()) {
      return make_error(ErrorCode::kInvalidInput,
                        "field 'expected." + field + "' holds '" + answer +
                            "', which is empty after normalisation (case, punctuation and "
                            "articles removed) and would match any output");
    }
    phrases.push_back(std::move(phrase));
  }
  return phrases;
}

class ContainsScorer : public Scorer {
 public:
  explicit ContainsScorer(AnswerSource source) : source_(std::move(source)) {}

  Status validate_case(const Case& case_data) const override {
    return status_of(phrases(case_data));
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> wanted, phrases(case_data));
    std::string normalized = normalize_answer(output);
    bool found = std::any_of(wanted.begin(), wanted.end(), [&](const std::string& phrase) {
      return contains_phrase(normalized, phrase);
    });
    return Score{found ? 100.0 : 0.0, {{"contains", found ? 1.0 : 0.0}}};
  }

 private:
  Result<std::vector<std::string>> phrases(const Case& case_data) const {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> answers, source_.answers(case_data));
    return answer_phrases(answers, source_.field);
  }

  AnswerSource source_;
};

class SetRecallScorer : public Scorer {
 public:
  explicit SetRecallScorer(std::string field) : field_(std::move(field)) {}

  Status validate_case(const Case& case_data) const override { return status_of(items(case_data)); }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace&) const override {
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> wanted, items(case_data));
    std::string normalized = normalize_answer(output);
    auto found_in = [&](const std::string& text) {
      return std::any_of(wanted.begin(), wanted.end(),
                         [&](const std::string& item) { return contains_phrase(text, item); });
    };
    std::size_t recalled = std::count_if(wanted.begin(), wanted.end(), [&](const auto& item) {
      return contains_phrase(normalized, item);
    });
    std::vector<std::string> listed = split_list_items(output);
    std::size_t correct = std::count_if(listed.begin(), listed.end(), [&](const auto& item) {
      return found_in(normalize_answer(item));
    });
    double recall = static_cast<double>(recalled) / static_cast<double>(wanted.size());
    double precision =
        listed.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(listed.size());
    return Score{100.0 * recall, {{"recall", recall}, {"precision", precision}}};
  }

 private:
  Result<std::vector<std::string>> items(const Case& case_data) const {
    FAPO_ASSIGN_OR_RETURN(const nlohmann::json* value, expected_field(case_data, field_));
    if (!value->is_array() || value->empty()) {
      return make_error(
          ErrorCode::kInvalidInput,
          "field 'expected." + field_ + "' must be a non-empty array of the items to recall, got " +
              (value->is_array() ? std::string("an empty array") : json_type_name(*value)));
    }
    FAPO_ASSIGN_OR_RETURN(std::vector<std::string> answers,
                          expected_answers(case_data, field_, std::nullopt));
    return answer_phrases(answers, field_);
  }

  std::string field_;
};

}  // namespace

ScorerResult make_exact_match_scorer(const ConfigReader& config) {
  FAPO_ASSIGN_OR_RETURN(AnswerSource source, AnswerSource::read(config, true));
  return std::unique_ptr<Scorer>(std::make_unique<ExactMatchScorer>(std::move(source)));
}

ScorerResult make_token_f1_scorer(const ConfigReader& config) {
  FAPO_ASSIGN_OR_RETURN(AnswerSource source, AnswerSource::read(config, true));
  return std::unique_ptr<Scorer>(std::make_unique<TokenF1Scorer>(std::move(source)));
}

ScorerResult make_contains_scorer(const ConfigReader& config) {
  FAPO_ASSIGN_OR_RETURN(AnswerSource source, AnswerSource::read(config, true));
  return std::unique_ptr<Scorer>(std::make_unique<ContainsScorer>(std::move(source)));
}

ScorerResult make_set_recall_scorer(const ConfigReader& config) {
  FAPO_ASSIGN_OR_RETURN(AnswerSource source, AnswerSource::read(config, false));
  return std::unique_ptr<Scorer>(std::make_unique<SetRecallScorer>(std::move(source.field)));
}

}  // namespace fapo
