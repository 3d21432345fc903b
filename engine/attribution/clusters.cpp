#include "engine/attribution/clusters.h"

#include <algorithm>
#include <functional>
#include <tuple>

#include <fmt/format.h>

namespace fapo {
namespace {

constexpr ChangeLevel kLevels[] = {ChangeLevel::kPrompt, ChangeLevel::kParameter,
                                   ChangeLevel::kStructural};

double mean_with_fixes(const std::map<std::string, double>& case_means,
                       const std::vector<Attribution>& attributions, double max_score,
                       const std::function<bool(const Attribution&)>& fixed) {
  if (case_means.empty()) return 0;
  std::map<std::string, double> means = case_means;
  for (const Attribution& attribution : attributions) {
    auto found = means.find(attribution.case_id);
    if (found != means.end() && fixed(attribution)) found->second = max_score;
  }
  double total = 0;
  for (const auto& [id, mean] : means) total += mean;
  return total / static_cast<double>(means.size());
}

std::vector<Cluster> group(const std::vector<Attribution>& attributions,
                           std::size_t max_examples) {
  // A react failure is told by its kind or pattern and its tool; the final output's pattern
  // says nothing more about it, so it leaves the key.
  using Key = std::tuple<FailureClass, std::string, ToolUsePattern, std::string, std::string,
                         OutputPattern>;
  std::map<Key, Cluster> clusters;
  for (const Attribution& attribution : attributions) {
    const bool by_tool =
        !attribution.tool_error.empty() || attribution.tool_use != ToolUsePattern::kNone;
    Key key{attribution.failure_class, attribution.step_id,     attribution.tool_use,
            attribution.tool_error,    attribution.tool,
            by_tool ? OutputPattern::kWrongContent : attribution.pattern};
    Cluster& cluster = clusters[key];
    cluster.failure_class = attribution.failure_class;
    cluster.step_id = attribution.step_id;
    cluster.step_kind = attribution.step_kind;
    cluster.pattern = std::get<OutputPattern>(key);
    cluster.tool = attribution.tool;
    cluster.tool_error = attribution.tool_error;
    cluster.tool_use = attribution.tool_use;
    cluster.level = suggested_level(attribution);
    cluster.count += 1;
    cluster.mean_confidence += attribution.confidence;
    cluster.case_ids.push_back(attribution.case_id);
    if (cluster.example_case_ids.size() < max_examples) {
      cluster.example_case_ids.push_back(attribution.case_id);
    }
  }
  std::vector<Cluster> out;
  for (auto& [key, cluster] : clusters) {
    cluster.mean_confidence /= static_cast<double>(cluster.count);
    cluster.share = static_cast<double>(cluster.count) / static_cast<double>(attributions.size());
    out.push_back(std::move(cluster));
  }
  // Largest first; the map order (class, step, pattern) breaks ties deterministically.
  std::stable_sort(out.begin(), out.end(),
                   [](const Cluster& a, const Cluster& b) { return a.count > b.count; });
  return out;
}

}  // namespace

const char* change_level_name(ChangeLevel level) {
  switch (level) {
    case ChangeLevel::kPrompt: return "prompt";
    case ChangeLevel::kParameter: return "parameter";
    case ChangeLevel::kStructural: return "structural";
    case ChangeLevel::kNone: return "none";
  }
  return "none";
}

ChangeLevel suggested_level(FailureClass value) {
  switch (value) {
    case FailureClass::kFormat:
    case FailureClass::kReasoning:
    case FailureClass::kDroppedEvidence:
    case FailureClass::kToolUse:
      return ChangeLevel::kPrompt;
    case FailureClass::kRetrievalMiss:
    case FailureClass::kCascade:
      return ChangeLevel::kParameter;
    case FailureClass::kToolFailure:
      return ChangeLevel::kStructural;
    case FailureClass::kInfrastructure:
    case FailureClass::kUnknown:
      return ChangeLevel::kNone;
  }
  return ChangeLevel::kNone;
}

namespace {

bool level_addresses_suggested(ChangeLevel level, ChangeLevel suggested) {
  if (suggested == ChangeLevel::kNone || level == ChangeLevel::kNone) return false;
  // A structural change (another hop, a fallback step) can also do what a parameter does; a
  // prompt change cannot make a search return what it did not find.
  if (level == ChangeLevel::kStructural) return suggested != ChangeLevel::kPrompt;
  return level == suggested;
}

}  // namespace

bool level_addresses(ChangeLevel level, FailureClass value) {
  return level_addresses_suggested(level, suggested_level(value));
}

ChangeLevel suggested_level(const Attribution& attribution) {
  switch (attribution.tool_use) {
    case ToolUsePattern::kNone: break;
    // max_iterations and max_calls are the step's parameters.
    case ToolUsePattern::kLimitReached: return ChangeLevel::kParameter;
    // Only a change of the chain offers the step another tool.
    case ToolUsePattern::kToolNotOffered: return ChangeLevel::kStructural;
    default: return ChangeLevel::kPrompt;
  }
  if (attribution.failure_class == FailureClass::kToolFailure &&
      !attribution.tool_error.empty()) {
    if (attribution.tool_error == "timeout") return ChangeLevel::kParameter;  // tool_timeout_s
    // The model wrote arguments the tool refused: the prompt can show it the form.
    if (attribution.tool_error == "invalid_arguments") return ChangeLevel::kPrompt;
    return ChangeLevel::kStructural;  // the tool or its server: another tool, another server
  }
  return suggested_level(attribution.failure_class);
}

bool level_addresses(ChangeLevel level, const Attribution& attribution) {
  return level_addresses_suggested(level, suggested_level(attribution));
}

std::string cluster_pattern(const Cluster& cluster) {
  if (cluster.tool_use != ToolUsePattern::kNone) return tool_use_pattern_name(cluster.tool_use);
  if (!cluster.tool_error.empty()) return cluster.tool_error;
  return output_pattern_name(cluster.pattern);
}

FailureAnalysis analyse_failures(const std::vector<Attribution>& attributions,
                                 const std::map<std::string, double>& case_means,
                                 double max_score, std::size_t max_examples) {
  FailureAnalysis analysis;
  if (attributions.empty()) {
    analysis.recommendation = "No failed cases: there is nothing to attribute.";
    return analysis;
  }
  analysis.clusters = group(attributions, max_examples);
  const double current = mean_with_fixes(case_means, attributions, max_score,
                                         [](const Attribution&) { return false; });
  std::vector<ChangeLevel> lower;
  for (ChangeLevel level : kLevels) {
    LevelCeiling ceiling{level, 0, 0, 0};
    for (const Attribution& attribution : attributions) {
      if (level_addresses(level, attribution)) ceiling.addressable += 1;
    }
    ceiling.ceiling =
        mean_with_fixes(case_means, attributions, max_score,
                        [&](const Attribution& a) { return level_addresses(level, a); });
    lower.push_back(level);
    ceiling.cumulative =
        mean_with_fixes(case_means, attributions, max_score, [&](const Attribution& a) {
          return std::any_of(lower.begin(), lower.end(),
                             [&](ChangeLevel l) { return level_addresses(l, a); });
        });
    analysis.ceilings.push_back(ceiling);
  }
  // The smallest change first: the lowest level whose gain is at least half of the best
  // single level's gain.
  double best_gain = 0;
  for (const LevelCeiling& ceiling : analysis.ceilings) {
    best_gain = std::max(best_gain, ceiling.ceiling - current);
  }
  for (const LevelCeiling& ceiling : analysis.ceilings) {
    if (best_gain > 0 && ceiling.ceiling - current >= 0.5 * best_gain) {
      analysis.recommended = ceiling.level;
      analysis.recommendation = fmt::format(
          "Change the {} level next: it addresses {} of {} failed cases, a ceiling of {:.1f} "
          "(now {:.1f}); it is the smallest level with at least half of the largest gain.",
          change_level_name(ceiling.level), ceiling.addressable, attributions.size(),
          ceiling.ceiling, current);
      break;
    }
  }
  if (analysis.recommended == ChangeLevel::kNone) {
    analysis.recommendation =
        "No level of change addresses these failures (infrastructure or unknown causes): "
        "rerun the failed cases or inspect them with get_case.";
  }
  return analysis;
}

}  // namespace fapo
