// The chain executor runs one case through a compiled chain: it renders templates, calls the
// model, retrieves passages, applies transforms, votes and loops, and records a StepTrace per
// executed step. The state it threads through the steps holds the case context and step
// outputs only; `expected` reaches nothing but the model's side channel (CallContext), which
// only the simulated model reads. One executor serves many threads: `run` is const.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include "engine/chain/pipeline.h"
#include "engine/chain/trace.h"
#include "engine/llm/model.h"
#include "engine/retrieve/bm25.h"
#include "engine/tools/tool_set.h"

namespace fapo {

// Where a replay starts: the case runs from the top-level step `from_step` on, with the outputs
// of earlier steps supplied instead of computed. Counterfactual replays use it to ask "had this
// step given that output (or drawn another sample), would the case have passed?".
struct ReplayStart {
  std::string from_step;  // a top-level step id; it and every step after it run
  // Outputs of steps that do not run (by step id, loop body steps included); a step absent here
  // reads as empty, like a step that never ran. Supplying an output for `from_step` or a later
  // step is an error: those are computed.
  std::map<std::string, std::string> outputs;
  // > 0: every model call of `from_step` (all samples of a vote, all iterations of a loop)
  // draws afresh, its sample index moved by resample x kResampleStride, clear of the indices
  // any trial or vote sample of an ordinary run uses. Later steps keep their usual indices.
  int resample = 0;
};

// Sample indices of ordinary runs are trial x 100 + vote sample, below this for any trial
// count a run allows.
inline constexpr int kResampleStride = 1'000'000;

struct ExecutionSettings {
  std::string model_name;
  SamplingParams sampling;  // task-model defaults; llm steps may override non-frozen fields
};

class ChainExecutor {
 public:
  // `chain`, `model`, `index` and `tools` are borrowed and must outlive the executor. `index`
  // may be null when the chain has no retrieve step, `tools` when it has no react step.
  ChainExecutor(const CompiledChain& chain, ModelClient& model, const Bm25Index* index,
                ExecutionSettings settings, const ToolSet* tools = nullptr);

  // Runs the case. A model failure after retries marks the trace as an infrastructure failure;
  // cancellation (checked before every model call) returns kCancelled and no trace.
  Result<CaseTrace> run(const Case& case_data, int trial,
                        const std::atomic<bool>* cancel = nullptr) const;

  // Runs the case from `start.from_step` on (see ReplayStart). The trace lists the supplied
  // steps first, in chain order, each marked detail.supplied = true with no model calls, then
  // the steps that ran; its totals count only what ran. kInvalidInput when `from_step` is not a
  // top-level step or an output is supplied for a step that is not before it.
  Result<CaseTrace> run_from(const Case& case_data, int trial, const ReplayStart& start,
                             const std::atomic<bool>* cancel = nullptr) const;

 private:
  class CaseRun;
  bool cancel_requested(const std::atomic<bool>* cancel) const;

  const CompiledChain& chain_;
  ModelClient& model_;
  const Bm25Index* index_;
  ExecutionSettings settings_;
  const ToolSet* tools_;
  std::map<const void*, std::regex> regexes_;  // compiled once: conditions, parse, extract
};

// Applies an llm step's parse rule to a reply. Returns nullopt when the rule finds nothing.
std::optional<std::string> parse_reply(const ParseSpec& spec, const std::string& reply,
                                       const std::regex* compiled);

}  // namespace fapo
