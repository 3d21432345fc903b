// Helpers shared by the scorer tests: cases from expected values, scorers from configurations,
// and one-line scoring. They fail the current test (REQUIRE) instead of returning errors.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/score/scorer.h"

namespace fapo::testing {

inline Case case_with(nlohmann::json expected, std::string case_id = "c1") {
  Case case_data;
  case_data.case_id = std::move(case_id);
  case_data.task_type = "default";
  case_data.context = {{"question", "q?"}};
  case_data.expected = std::move(expected);
  return case_data;
}

inline std::unique_ptr<Scorer> scorer_from(const nlohmann::json& config,
                                           const std::filesystem::path& tenant_dir = ".") {
  auto scorer = make_scorer(config, tenant_dir);
  REQUIRE_MESSAGE(scorer.ok(), (scorer.ok() ? "" : scorer.error().message));
  return std::move(scorer).value();
}

inline Score score_of(const Scorer& scorer, const Case& case_data, const std::string& output) {
  Result<Score> score = scorer.score(case_data, output, CaseTrace{});
  REQUIRE_MESSAGE(score.ok(), (score.ok() ? "" : score.error().message));
  return score.value();
}

// Composite score of `output` for a case with `expected`, under `config`.
inline double composite_of(const nlohmann::json& config, const nlohmann::json& expected,
                           const std::string& output) {
  auto scorer = scorer_from(config);
  Case case_data = case_with(expected);
  Status valid = scorer->validate_case(case_data);
  REQUIRE_MESSAGE(valid.ok(), (valid.ok() ? "" : valid.error().message));
  return score_of(*scorer, case_data, output).composite;
}

inline Error config_error(const nlohmann::json& config,
                          const std::filesystem::path& tenant_dir = ".") {
  auto scorer = make_scorer(config, tenant_dir);
  REQUIRE_FALSE(scorer.ok());
  return scorer.error();
}

inline Error case_error(const nlohmann::json& config, const nlohmann::json& expected) {
  auto scorer = scorer_from(config);
  Status valid = scorer->validate_case(case_with(expected));
  REQUIRE_FALSE(valid.ok());
  return valid.error();
}

}  // namespace fapo::testing
