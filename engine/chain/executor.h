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

namespace fapo {

struct ExecutionSettings {
  std::string model_name;
  SamplingParams sampling;  // task-model defaults; llm steps may override non-frozen fields
};

class ChainExecutor {
 public:
  // `chain`, `model` and `index` are borrowed and must outlive the executor. `index` may be
  // null when the chain has no retrieve step.
  ChainExecutor(const CompiledChain& chain, ModelClient& model, const Bm25Index* index,
                ExecutionSettings settings);

  // Runs the case. A model failure after retries marks the trace as an infrastructure failure;
  // cancellation (checked before every model call) returns kCancelled and no trace.
  Result<CaseTrace> run(const Case& case_data, int trial,
                        const std::atomic<bool>* cancel = nullptr) const;

 private:
  class CaseRun;
  bool cancel_requested(const std::atomic<bool>* cancel) const;

  const CompiledChain& chain_;
  ModelClient& model_;
  const Bm25Index* index_;
  ExecutionSettings settings_;
  std::map<const void*, std::regex> regexes_;  // compiled once: conditions, parse, extract
};

// Applies an llm step's parse rule to a reply. Returns nullopt when the rule finds nothing.
std::optional<std::string> parse_reply(const ParseSpec& spec, const std::string& reply,
                                       const std::regex* compiled);

}  // namespace fapo
