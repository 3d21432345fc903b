// LLM judges: the `judge` scorer (docs/scorers.md#judge) asks a model to grade a response
// against a rubric and the reference answer, and its calls are model usage of the judge role.
// This header holds what the rest of the engine needs to know about judges:
//
// - judges_in: which judges a scorer configuration contains (a judge scorer itself, or the
//   components of a composite), so the budget can estimate their calls before a run;
// - JudgeRecording: what the judges spent and said while one case was scored on this thread.
//   A scorer returns its usage in Score::judge_usage, but a scoring that fails (a judge with
//   fallback "exclude") returns only an error, and its calls were still made and paid for; the
//   recording sees every call either way, which is why the evaluator reads it.
// - parse_judge_verdict: the strict reading of a judge's reply.
//
// Functions are pure or thread-local; safe to call from several threads.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/cost.h"

namespace fapo {

// What the budget needs to estimate the calls of one judge.
struct JudgeSpec {
  std::string provider;       // "sim", "openai", "anthropic"
  Prices prices;              // the judge's own prices (the simulated judge costs nothing)
  int max_tokens = 0;         // reply allowance per call
  std::size_t prompt_chars = 0;  // rubric and instructions, before the case's own text
};

// Every judge in a tenant's `scorer` configuration (components of composites at any depth),
// read leniently: the configuration was checked when the scorer was built. Each makes one call
// per scored case, two when its first reply needs the corrective retry.
std::vector<JudgeSpec> judges_in(const nlohmann::json& scorer_config,
                                 const std::filesystem::path& tenant_dir);

// A judge's verdict: score in [0, scale] and its reason.
struct JudgeVerdict {
  double score = 0;
  std::string reason;
};

// Reads a reply that must be exactly one JSON object (surrounding whitespace, or a ```json /
// ``` fence around it, allowed; nothing else) with a numeric "score" in [0, scale] and an
// optional string "reason". The error (kScorer) says what is wrong, for the corrective retry.
Result<JudgeVerdict> parse_judge_verdict(std::string_view reply, double scale);

// Records, while alive, what every judge scoring on this thread spends (calls, tokens, money)
// and reports (verdict reasons, failures, fallbacks). Scopes nest: an inner recording hides the
// outer one until it ends. Not shared between threads.
class JudgeRecording {
 public:
  JudgeRecording();
  ~JudgeRecording();
  JudgeRecording(const JudgeRecording&) = delete;
  JudgeRecording& operator=(const JudgeRecording&) = delete;

  const CostTotals& usage() const { return usage_; }
  // One line per judgement: "verdict 7/10: ..." or "judge failed: ...".
  const std::vector<std::string>& notes() const { return notes_; }
  int fallbacks() const { return fallbacks_; }  // judgements scored by a fallback scorer
  // Whether a judge was consulted at all (its calls may all have failed).
  bool used() const { return used_; }

  // Called by judge scorers; no-ops when no recording is active on this thread.
  static void add_usage(const CostTotals& usage);
  static void add_note(std::string note);
  static void add_fallback();

 private:
  JudgeRecording* outer_;
  CostTotals usage_;
  std::vector<std::string> notes_;
  int fallbacks_ = 0;
  bool used_ = false;
};

}  // namespace fapo
