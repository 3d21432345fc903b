// What one case's execution left behind: per step, its output, the messages it rendered, its
// latency, tokens and error. Traces are values written to the run store as JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/llm/model.h"

namespace fapo {

struct StepTrace {
  std::string step_id;
  std::string kind;        // "llm", "retrieve", "transform", "vote", "loop"
  int iteration = 0;       // loop iteration (0 outside loops)
  bool skipped = false;    // a `when` condition was false
  std::string output;
  std::vector<ChatMessage> messages;  // rendered prompt (llm, vote)
  std::string raw_reply;   // reply before parsing (llm)
  double latency_ms = 0;
  int tokens_in = 0;
  int tokens_out = 0;
  int model_calls = 0;
  bool cached = false;
  std::optional<std::string> error;
  bool infrastructure_error = false;  // the model call failed after retries
  nlohmann::json detail = nlohmann::json::object();  // kind-specific: passage ids, votes, sim rule
};

struct CaseTrace {
  std::string case_id;
  std::vector<StepTrace> steps;
  std::string final_output;
  std::optional<std::string> error;   // the chain could not finish
  bool infrastructure_failure = false;  // excluded from means, reported separately
  double latency_ms = 0;
  int tokens_in = 0;
  int tokens_out = 0;
  int model_calls = 0;
};

nlohmann::json to_json(const StepTrace& trace);
nlohmann::json to_json(const CaseTrace& trace);
StepTrace step_trace_from_json(const nlohmann::json& json);
CaseTrace case_trace_from_json(const nlohmann::json& json);

}  // namespace fapo
