// Checks of where the variant's added text came from: held-out cases (validation, test), whose
// text must never reach a variant, and training cases, which may be read but not copied
// wholesale or turned into per-case rules. See text_overlap.h for how text is compared.
//
// Rules (counts are of distinct cases):
//  - heldout_text (block): a six-word phrase of a validation or test case's inputs or expected
//    values, or one of its multi-word expected strings, appears in added text.
//  - heldout_answer: single-word expected strings (at least kMinAnswerChars characters) of
//    held-out cases appear in added text. One word can be ordinary vocabulary, so one or two
//    cases warn; kHeldoutAnswerBlockCases or more block, as chance no longer explains them.
//  - train_copy: phrases of training cases appear in added text; a few few-shot examples warn,
//    kTrainCopyBlockCases or more block.
//  - case_specific_rules: expected strings of training cases appear in added text, the mark of
//    rules such as "if asked about X, answer Y"; kCaseRulesWarnCases warn, kCaseRulesBlockCases
//    block. One or two are what an example needs, so they pass.
// Held-out findings name the source, the split and a count: never the text, never a case id.
// Training cases are visible to the agent, so their findings name a few case ids.
#include <set>

#include "engine/base/strings.h"
#include "engine/review/review_checks.h"

namespace fapo {
namespace {

struct HeldoutHits {
  std::set<std::uint32_t> text;    // phrase or multi-word answer
  std::set<std::uint32_t> answer;  // only single-word answers
};

struct TrainHits {
  std::set<std::uint32_t> copied;
  std::set<std::uint32_t> answers;
  std::set<std::string> copy_sources;
  std::set<std::string> answer_sources;
};

std::string example_ids(const ReviewContext& context, const std::set<std::uint32_t>& cases) {
  std::vector<std::string> ids;
  for (std::uint32_t number : cases) {
    if (ids.size() == 5) break;
    ids.push_back(context.case_id(number));
  }
  return join(ids, ", ") + (cases.size() > ids.size() ? ", ..." : "");
}

std::string source_list(const std::set<std::string>& sources) {
  return join(std::vector<std::string>(sources.begin(), sources.end()), ", ");
}

void report_heldout(const std::string& source, const std::string& step, Split split,
                    const HeldoutHits& hits, Findings& out) {
  const std::string split_text = split_name(split);
  if (!hits.text.empty()) {
    out.push_back(
        {"heldout_text", Severity::kBlock,
         source + ": added text matches " + std::to_string(hits.text.size()) + " " + split_text +
             " case(s) (their inputs or expected values, by six-word overlap or a multi-word "
             "expected value). Validation and test text must never reach a variant: remove what "
             "did not come from training cases or general knowledge of the task. The matching "
             "text is not shown, so that it stays held out.",
         step});
  }
  if (!hits.answer.empty()) {
    const bool block = hits.answer.size() >= kHeldoutAnswerBlockCases;
    out.push_back(
        {"heldout_answer", block ? Severity::kBlock : Severity::kWarn,
         source + ": added text contains the single-word expected answers of " +
             std::to_string(hits.answer.size()) + " " + split_text + " case(s)" +
             (block ? ", more than chance explains. Remove the specific names and values that "
                      "did not come from training cases."
                    : ". If those words came from validation or test data, remove them; if they "
                      "are ordinary words of the instructions, this warning can be ignored.") +
             " The words are not shown, so that they stay held out.",
         step});
  }
}

void report_train(const ReviewContext& context, const TrainHits& hits, Findings& out) {
  if (!hits.copied.empty()) {
    const bool block = hits.copied.size() >= kTrainCopyBlockCases;
    out.push_back(
        {"train_copy", block ? Severity::kBlock : Severity::kWarn,
         source_list(hits.copy_sources) + ": added text copies " +
             std::to_string(hits.copied.size()) + " training case(s) verbatim (" +
             example_ids(context, hits.copied) + "). " +
             (block ? "Pasting many training cases fits the prompt to them; keep at most " +
                          std::to_string(kTrainCopyBlockCases - 1) +
                          " short examples and describe the pattern in words instead."
                    : "A few examples are fine, but they tend to fit the training cases only; "
                      "prefer instructions that describe the pattern."),
         ""});
  }
  if (hits.answers.size() >= kCaseRulesWarnCases) {
    const bool block = hits.answers.size() >= kCaseRulesBlockCases;
    out.push_back(
        {"case_specific_rules", block ? Severity::kBlock : Severity::kWarn,
         source_list(hits.answer_sources) + ": added text names the expected answers of " +
             std::to_string(hits.answers.size()) + " training case(s) (" +
             example_ids(context, hits.answers) +
             "). Rules about particular cases do not carry over to validation; state the "
             "general rule (what kind of answer, where to find it) instead.",
         ""});
  }
}

}  // namespace

void check_leakage(const ReviewContext& context, const ReviewInput& input, Findings& out) {
  TrainHits train;
  for (const auto& [source, text] : pipeline_texts(*input.candidate)) {
    CaseMatches matches = context.cases().match(text, context.baseline_text());
    std::map<Split, HeldoutHits> heldout;
    for (const auto& [number, hit] : matches.phrase_cases) {
      if (context.split_of_case(number) == Split::kTrain) {
        train.copied.insert(number);
        train.copy_sources.insert(source);
      } else {
        heldout[context.split_of_case(number)].text.insert(number);
      }
    }
    for (const auto& [number, multi_word] : matches.answer_cases) {
      const Split split = context.split_of_case(number);
      if (split == Split::kTrain) {
        train.answers.insert(number);
        train.answer_sources.insert(source);
      } else if (multi_word) {
        heldout[split].text.insert(number);
      } else if (!heldout[split].text.count(number)) {
        heldout[split].answer.insert(number);
      }
    }
    const std::string prompt_prefix = "prompts/";
    const std::string step = starts_with(source, prompt_prefix)
                                 ? step_of_prompt(*input.candidate,
                                                  source.substr(prompt_prefix.size()))
                                 : "";
    for (auto& [split, hits] : heldout) {
      for (std::uint32_t number : hits.text) hits.answer.erase(number);
      report_heldout(source, step, split, hits, out);
    }
  }
  report_train(context, train, out);
}

}  // namespace fapo
