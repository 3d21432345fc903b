// Checks against what came before: the same pipeline proposed again, a reworded copy of a
// rejected variant, and prompts that grew far beyond their parent's.
//
// Duplicates. Variant ids are content hashes, so byte-identical content is refused when it is
// proposed; what is left to catch is the same pipeline up to whitespace (runs of spaces and
// blank lines, which no model reads differently on purpose) or up to prompt files that no step
// uses. That is a duplicate and blocks. Near-duplicates compare the prompt words of the steps
// (word edit similarity, review_words) of variants with the same chain: at
// kNearDuplicateSimilarity (0.95: about one word in twenty changed, e.g. "brief" for
// "concise") the change is a rewording of one already rejected, which warns.
//
// Growth, per edited prompt, in bytes: growth below kGrowthFloorChars never counts (short
// prompts double with one sentence); warn when a prompt grows to more than kGrowthWarnFactor
// times its parent's size or by more than kGrowthWarnChars; block when it grows to more than
// kGrowthBlockFactor times and by more than kGrowthWarnChars, or by more than kGrowthBlockChars.
// Long additions cost tokens on every case and are where pasted examples hide.
#include <cctype>
#include <cstdio>
#include <set>

#include "engine/base/strings.h"
#include "engine/review/review_checks.h"

namespace fapo {
namespace {

std::string collapse_whitespace(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// The prompt files the steps use, in file-name order (a set keeps them unique).
std::set<std::string> used_prompts(const PipelineConfig& pipeline) {
  std::set<std::string> out;
  for (const StepDef* step : all_steps(pipeline.chain)) {
    if (has_prompt(*step)) out.insert(step->prompt);
  }
  return out;
}

std::string effective_content(const PipelineConfig& pipeline) {
  std::string out = pipeline.chain.raw.dump();
  for (const std::string& file : used_prompts(pipeline)) {
    auto found = pipeline.prompts.find(file);
    out += "\n--prompt " + file + "\n";
    if (found != pipeline.prompts.end()) out += collapse_whitespace(found->second);
  }
  return out;
}

std::vector<std::string> prompt_words(const PipelineConfig& pipeline) {
  std::vector<std::string> out;
  for (const std::string& file : used_prompts(pipeline)) {
    out.push_back("\x01" + file);  // a file boundary no word can equal
    auto found = pipeline.prompts.find(file);
    if (found == pipeline.prompts.end()) continue;
    std::vector<std::string> words = review_words(found->second);
    out.insert(out.end(), words.begin(), words.end());
  }
  return out;
}

std::string described(const PriorVariant& prior) {
  std::string text = (prior.name.empty() ? std::string("an earlier variant") : prior.name) +
                     " (" + prior.variant_id.substr(0, 12) + ")";
  if (!prior.decision.empty()) text += ", " + prior.decision + " before";
  return text;
}

std::string ratio_text(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1fx", ratio);
  return buffer;
}

}  // namespace

void check_duplicates(const ReviewContext&, const ReviewInput& input, Findings& out) {
  const std::string own_id = input.candidate->content_hash();
  const std::string content = effective_content(*input.candidate);
  const std::vector<std::string> words = prompt_words(*input.candidate);
  const PriorVariant* closest = nullptr;
  double closest_similarity = 0;
  for (const PriorVariant& prior : input.earlier) {
    if (prior.variant_id == own_id) continue;
    if (effective_content(prior.pipeline) == content) {
      out.push_back({"duplicate_variant", Severity::kBlock,
                     "This variant is the same pipeline as " + described(prior) +
                         ": it differs at most in whitespace or in prompt files no step uses. "
                         "Evaluating it again would only repeat a known result; change what "
                         "the hypothesis is about.",
                     ""});
      return;
    }
    if (prior.decision != "rejected" || prior.pipeline.chain.raw != input.candidate->chain.raw) {
      continue;
    }
    double similarity = word_similarity(words, prompt_words(prior.pipeline),
                                        kNearDuplicateSimilarity);
    if (similarity >= kNearDuplicateSimilarity && similarity > closest_similarity) {
      closest = &prior;
      closest_similarity = similarity;
    }
  }
  if (closest) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%.0f%%", closest_similarity * 100);
    out.push_back({"near_duplicate_rejected", Severity::kWarn,
                   "This variant's prompts are " + std::string(percent) +
                       " the same words as those of " + described(*closest) +
                       ", with the same chain. A reworded version of a rejected change rarely "
                       "does better; test a different hypothesis, or say in the hypothesis why "
                       "this wording should differ.",
                   ""});
  }
}

void check_growth(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  const PipelineConfig& parent = parent_of(context, input);
  for (const auto& [file, text] : input.candidate->prompts) {
    auto before = parent.prompts.find(file);
    const std::size_t old_size = before == parent.prompts.end() ? 0 : before->second.size();
    if (before != parent.prompts.end() && before->second == text) continue;
    if (text.size() < old_size + kGrowthFloorChars) continue;
    const std::size_t added = text.size() - old_size;
    const double ratio =
        old_size == 0 ? 0.0 : static_cast<double>(text.size()) / static_cast<double>(old_size);
    const bool block = added > kGrowthBlockChars ||
                       (ratio > kGrowthBlockFactor && added > kGrowthWarnChars);
    const bool warn = added > kGrowthWarnChars || ratio > kGrowthWarnFactor;
    if (!block && !warn) continue;
    std::string growth =
        old_size == 0 ? "is new with " + std::to_string(text.size()) + " characters"
                      : "grew from " + std::to_string(old_size) + " to " +
                            std::to_string(text.size()) + " characters (" + ratio_text(ratio) +
                            ")";
    out.push_back(
        {"prompt_growth", block ? Severity::kBlock : Severity::kWarn,
         "prompts/" + file + " " + growth +
             ". Every added character is paid on every case, and long additions are where "
             "examples that fit only the training cases hide; keep what tests the hypothesis "
             "and cut the rest (warning above 2x or 2000 added characters; refused above 4x "
             "with 2000 added, or 8000 added).",
         step_of_prompt(*input.candidate, file)});
  }
}

}  // namespace fapo
