// The individual checks of review_variant (review.h), one function each, appending findings in
// a fixed order so that a report is deterministic. Internal to engine/review; pure functions of
// the context and the input, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "engine/review/review.h"

namespace fapo {

using Findings = std::vector<ReviewFinding>;

// Source name of the candidate in messages: "variant/prompts/answer.md".
inline constexpr const char* kVariantDisplayDir = "variant";

// The parent the input names, or the tenant's baseline when it names none.
const PipelineConfig& parent_of(const ReviewContext& context, const ReviewInput& input);

// The first step (execution order) whose prompt is `file`; empty when none uses it.
std::string step_of_prompt(const PipelineConfig& pipeline, const std::string& file);

// structure_checks.cpp
void check_chain(const ReviewContext& context, const ReviewInput& input, Findings& out);
void check_placeholders(const ReviewContext& context, const ReviewInput& input, Findings& out);
void check_scope(const ReviewContext& context, const ReviewInput& input, Findings& out);
void check_parameters(const ReviewContext& context, const ReviewInput& input, Findings& out);
void check_frozen_settings(const ReviewContext& context, const ReviewInput& input,
                           Findings& out);

// leakage_checks.cpp: heldout_text, heldout_answer, train_copy, case_specific_rules.
void check_leakage(const ReviewContext& context, const ReviewInput& input, Findings& out);

// history_checks.cpp: duplicate_variant, near_duplicate_rejected, prompt_growth.
void check_duplicates(const ReviewContext& context, const ReviewInput& input, Findings& out);
void check_growth(const ReviewContext& context, const ReviewInput& input, Findings& out);

}  // namespace fapo
