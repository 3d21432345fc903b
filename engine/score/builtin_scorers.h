// Factories of the built-in scorer types, one per `type` of the tenant's `scorer` configuration.
// make_scorer (scorer.h) dispatches on `type`; these are separate so each family of scorers
// lives in its own file. Every factory checks its whole configuration up front and names the
// offending field by its path ("scorer.components[1].scorer.pattern"). The scorers they build
// are immutable after construction and safe to call from several threads.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/base/result.h"
#include "engine/score/scorer.h"
#include "engine/score/scorer_config.h"

namespace fapo {

using ScorerResult = Result<std::unique_ptr<Scorer>>;

// Builds the scorer configured by `config`, found at `path` in tenant.json ("scorer" for the
// top level); composite scorers call it for their components.
ScorerResult make_scorer_at(const nlohmann::json& config, const std::filesystem::path& tenant_dir,
                            const std::string& path);

// answer_scorers.cpp: compare the output with the expected answers as normalised text.
ScorerResult make_exact_match_scorer(const ConfigReader& config);
ScorerResult make_token_f1_scorer(const ConfigReader& config);
ScorerResult make_contains_scorer(const ConfigReader& config);
ScorerResult make_set_recall_scorer(const ConfigReader& config);

// pattern_scorers.cpp: read something specific out of the output.
ScorerResult make_regex_scorer(const ConfigReader& config);
ScorerResult make_numeric_scorer(const ConfigReader& config);
ScorerResult make_label_scorer(const ConfigReader& config);

// structured_scorers.cpp: JSON replies and instruction-following checks.
ScorerResult make_json_fields_scorer(const ConfigReader& config);
ScorerResult make_instructions_scorer(const ConfigReader& config);

// scorer.cpp: weighted mean of component scorers.
ScorerResult make_composite_scorer(const ConfigReader& config,
                                   const std::filesystem::path& tenant_dir);

// command_scorer.cpp: an external program speaking JSON lines (docs/scorers.md).
ScorerResult make_command_scorer(const ConfigReader& config,
                                 const std::filesystem::path& tenant_dir);

// trajectory_scorer.cpp: the tool calls of a react step against expected.tool_calls.
ScorerResult make_trajectory_scorer(const ConfigReader& config);

// judge_scorer.cpp: an LLM judge grading the output by a rubric (model usage of the judge role).
ScorerResult make_judge_scorer(const ConfigReader& config,
                               const std::filesystem::path& tenant_dir);

}  // namespace fapo
