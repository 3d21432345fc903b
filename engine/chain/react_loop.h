// The loop of a `react` step: the model is offered the step's tools, the calls it makes are
// checked (limits, permission, arguments against the tool's JSON Schema) and run, their results
// are fed back as "tool" messages, until the model answers without calling a tool or a limit
// ends the loop. Everything that happened is recorded in the step's trace (messages, tokens,
// detail.trajectory; see docs/tenant_format.md, "react steps").
//
// The executor renders the prompt and builds the first request; this file owns the turns. Tool
// failures are part of the trajectory, never errors of the step; a model failure is returned as
// is, like an llm step's. Thread safety: run_react may run on many threads at once (it shares
// only the process-wide cache of compiled argument schemas, which has its own mutex).
#pragma once

#include <atomic>
#include <regex>
#include <string>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"
#include "engine/chain/chain_def.h"
#include "engine/chain/trace.h"
#include "engine/llm/model.h"
#include "engine/tools/tool_set.h"

namespace fapo {

// One react step of one case. References are borrowed for the duration of run_react.
struct ReactRun {
  const StepDef& step;
  ModelClient& model;
  const ToolSet* tools;          // null: no provider, every tool of the step is unavailable
  ModelRequest request;          // the first turn: rendered prompt, sampling, sample index
  CallContext call_context;      // beside every model call
  ToolCallContext tool_context;  // beside every tool call
  const std::atomic<bool>* cancel = nullptr;
  const std::regex* parse_regex = nullptr;  // step.parse's compiled regex, if it has one
};

// Runs the loop and fills `trace`: messages (the conversation as the model last saw it),
// raw_reply, output, tokens, model_calls, cached, latency_ms and detail (trajectory,
// stop_reason, iterations, tool_calls, unavailable_tools, parse_failed, sim). kCancelled when
// `cancel` is set before a model call; a model failure is returned unchanged, with the trace
// holding what happened before it.
Status run_react(ReactRun run, StepTrace& trace);

}  // namespace fapo
