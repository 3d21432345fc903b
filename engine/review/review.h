// The review of a proposed variant: deterministic checks that decide whether a variant may be
// evaluated on validation and accepted (DESIGN.md §9, §11). Each finding has a stable id, a
// severity and a message that says what is wrong, where (step, prompt file) and what to do:
//
//   chain_invalid            block  the chain or a prompt does not compile
//   unknown_variable         block  a template variable resolves to nothing
//   placeholders_changed     block  an edited prompt gained or lost ${...} (prompt/parameter level)
//   level_out_of_scope       block  the variant's level is not in scope.levels
//   step_out_of_scope        block  an edited step is not in scope.editable_steps
//   parameter_invalid        block  a parameter outside its sane range (k >= 1, ...)
//   parameter_out_of_range   block  a parameter outside scope.parameter_ranges
//   frozen_setting           block  a step sets a frozen setting (tenant.json "frozen")
//   heldout_text             block  text of validation/test cases in added text
//   heldout_answer           warn   single-word expected answers of held-out cases in added
//                                   text (block from kHeldoutAnswerBlockCases cases)
//   train_copy               warn   training cases copied verbatim (block from kTrainCopyBlockCases)
//   case_specific_rules      warn   expected answers of several training cases in added text
//                                   (block from kCaseRulesBlockCases)
//   duplicate_variant        block  the same pipeline as an earlier variant (up to whitespace)
//   near_duplicate_rejected  warn   nearly the same prompts as an earlier rejected variant
//   prompt_growth            warn   a prompt grew a lot (block when it grew far too much)
//
// Held-out findings never quote held-out text and never name held-out cases: they give the
// prompt file, the split and how many cases matched. "Added" text is text that the tenant's
// baseline pipeline does not contain; text the user wrote there is never held against a variant.
//
// The verdict is "fail" when any finding blocks, "warn" when any warns, "pass" otherwise.
// A ReviewContext is built once per tenant (reading its configuration, dataset and split
// manifest), is immutable afterwards and may be shared by concurrent reviews.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/pipeline.h"
#include "engine/data/splits.h"
#include "engine/review/parameter_ranges.h"
#include "engine/review/text_overlap.h"
#include "engine/run/tenant.h"
#include "engine/run/workspace.h"

namespace fapo {

// Thresholds (counts of distinct cases; sizes in bytes). Why these values: leakage_checks.cpp
// and history_checks.cpp.
inline constexpr std::size_t kHeldoutAnswerBlockCases = 3;
inline constexpr std::size_t kTrainCopyBlockCases = 5;
inline constexpr std::size_t kCaseRulesWarnCases = 3;
inline constexpr std::size_t kCaseRulesBlockCases = 6;
inline constexpr double kNearDuplicateSimilarity = 0.95;
inline constexpr std::size_t kGrowthFloorChars = 500;   // smaller growth is never flagged
inline constexpr std::size_t kGrowthWarnChars = 2000;   // warn: grew by more than this...
inline constexpr double kGrowthWarnFactor = 2.0;        // ...or to more than twice the size
inline constexpr double kGrowthBlockFactor = 4.0;       // block: more than 4x and by > 2000,
inline constexpr std::size_t kGrowthBlockChars = 8000;  // or by more than this

enum class Severity { kBlock, kWarn };

const char* severity_name(Severity severity);  // "block", "warn"

struct ReviewFinding {
  std::string id;
  Severity severity = Severity::kBlock;
  std::string message;
  std::string step;  // the step concerned, or empty
};

struct ReviewReport {
  std::string verdict;  // "pass" | "warn" | "fail"
  std::vector<ReviewFinding> findings;
};

// {"verdict", "findings": [{"id", "severity": "block"|"warn", "message", "step"?}]}
nlohmann::json to_json(const ReviewReport& report);

struct PriorVariant {
  std::string variant_id;
  std::string name;  // "v003"
  PipelineConfig pipeline;
  std::string decision;  // "accepted" | "rejected" | ""
  std::string verdict;   // its review verdict, "" when never reviewed
};

struct ReviewInput {
  std::string level;  // "prompt" | "parameter" | "structural" ("baseline" skips the scope check)
  std::vector<std::string> edited_steps;
  const PipelineConfig* parent = nullptr;  // null: the tenant's baseline
  const PipelineConfig* candidate = nullptr;
  std::vector<PriorVariant> earlier;  // every variant stored before (the candidate may be among
                                      // them; it is skipped by id)
};

class ReviewContext {
 public:
  // Reads the dataset once and the split manifest (checked against .fapo/<tenant>/splits.json
  // when that exists; never written here). kInvalidInput for a malformed dataset or
  // scope.parameter_ranges, kConflict when the recorded split manifest no longer matches.
  static Result<ReviewContext> build(const Workspace& workspace, const Tenant& tenant);

  // The tenant's configuration and baseline (no model, scorer or index).
  const Tenant& tenant() const { return *tenant_; }
  // Context keys present in every case: the variables a template may read.
  const std::vector<std::string>& context_keys() const { return context_keys_; }
  const ParameterRanges& parameter_ranges() const { return ranges_; }
  const CaseTextIndex& cases() const { return *index_; }
  Split split_of_case(std::uint32_t case_number) const { return case_splits_[case_number]; }
  const std::string& case_id(std::uint32_t case_number) const { return case_ids_[case_number]; }
  // What the baseline's prompts and chain already contain (such text is never "added").
  const TextFingerprint& baseline_text() const { return *baseline_text_; }

 private:
  std::shared_ptr<const Tenant> tenant_;
  std::vector<std::string> context_keys_;
  ParameterRanges ranges_;
  std::shared_ptr<const CaseTextIndex> index_;
  std::vector<Split> case_splits_;
  std::vector<std::string> case_ids_;
  std::shared_ptr<const TextFingerprint> baseline_text_;
};

// Runs every check. kInvalidInput only for a malformed input (no candidate, unknown level).
Result<ReviewReport> review_variant(const ReviewContext& context, const ReviewInput& input);

// Every text of a pipeline the leakage checks read, by source name for messages:
// "prompts/<file>" for each prompt, "chain.json" for the string values of the chain.
std::vector<std::pair<std::string, std::string>> pipeline_texts(const PipelineConfig& pipeline);

}  // namespace fapo
