// Clusters of failures and what they say about the next change. Attributions that share a
// class, a step and an output pattern form one cluster; failures of a react step's tools share
// (kind, tool, step) instead, and tool_use failures (pattern, tool, step). Each cluster suggests
// the smallest level of change that can fix it (format, reasoning, dropped evidence and tool
// use: prompt; retrieval misses, cascades, a tool's timeout and an agent stopped by its limits:
// parameter, else structural; other tool failures and a needed tool not offered: structural).
// Ceilings estimate the score a run would reach if every failure a level can address were
// fixed, so an optimiser can see which level is worth its next variant.
//
// Pure functions over values; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attribution/case_attribution.h"

namespace fapo {

enum class ChangeLevel { kPrompt, kParameter, kStructural, kNone };
const char* change_level_name(ChangeLevel level);  // "prompt", ..., "none"

// The level a class of failure suggests, and every level that can address it.
ChangeLevel suggested_level(FailureClass value);
bool level_addresses(ChangeLevel level, FailureClass value);
// The same for one attribution: react failures refine their class's level by kind or pattern.
ChangeLevel suggested_level(const Attribution& attribution);
bool level_addresses(ChangeLevel level, const Attribution& attribution);

struct Cluster {
  FailureClass failure_class = FailureClass::kUnknown;
  std::string step_id;
  std::string step_kind;
  OutputPattern pattern = OutputPattern::kWrongContent;  // output clusters
  std::string tool;                                      // react clusters: the tool
  std::string tool_error;                                // tool_failure there: the kind
  ToolUsePattern tool_use = ToolUsePattern::kNone;       // tool_use clusters
  std::size_t count = 0;
  double share = 0;  // of all failed cases
  std::vector<std::string> example_case_ids;
  std::vector<std::string> case_ids;  // all of them; never shown
  ChangeLevel level = ChangeLevel::kNone;
  double mean_confidence = 0;
};

// What the cluster's failures look like: the tool_use pattern, the tool failure's kind, or the
// final output's pattern.
std::string cluster_pattern(const Cluster& cluster);

struct LevelCeiling {
  ChangeLevel level = ChangeLevel::kNone;
  std::size_t addressable = 0;  // failed cases this level can address
  double ceiling = 0;           // mean score if those were fixed
  double cumulative = 0;        // ... together with every lower level's
};

struct FailureAnalysis {
  std::vector<Cluster> clusters;  // largest first
  std::vector<LevelCeiling> ceilings;  // prompt, parameter, structural
  ChangeLevel recommended = ChangeLevel::kNone;
  std::string recommendation;  // one sentence saying why
};

// `case_means` holds every scored case's mean (failed or not) by case id; `max_score` is the
// scorer's best composite. Cases attributed but absent from `case_means` (unscored) count in
// clusters and not in ceilings.
FailureAnalysis analyse_failures(const std::vector<Attribution>& attributions,
                                 const std::map<std::string, double>& case_means,
                                 double max_score, std::size_t max_examples);

}  // namespace fapo
