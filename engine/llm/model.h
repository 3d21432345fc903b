// The model interface: every provider (sim, openai, anthropic) answers a ModelRequest. The
// interface exists so the chain executor never knows which provider it talks to, and tests can
// script replies. Implementations must be safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/data/case.h"
#include "engine/llm/tools.h"

namespace fapo {

// One turn of a conversation. An assistant turn may carry the tool calls it made (its content
// may then be empty); a message with role "tool" carries one call's result as its content and
// names that call in `tool_call_id`.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool"
  std::string content;
  std::vector<ToolCall> tool_calls = {};  // assistant turns only
  std::string tool_call_id = {};          // "tool" messages only
};

struct SamplingParams {
  double temperature = 1.0;
  double top_p = 1.0;
  int max_tokens = 1024;
  std::optional<std::int64_t> seed;
};

struct ModelRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  SamplingParams sampling;
  int sample_index = 0;  // distinguishes trials / vote samples of the same prompt
  ToolRequest tools = {};  // tools offered and the tool choice; empty for plain completions
};

// Information a real model never sees. Only the simulated model reads `case_data` (to build
// replies from the expected answer); it is passed beside the request, never through the chain
// state, so no step can read `expected`.
struct CallContext {
  const Case* case_data = nullptr;
  std::string step_id;
  int trial = 0;
};

struct ModelReply {
  std::string text;
  int tokens_in = 0;
  int tokens_out = 0;
  std::string finish_reason = "stop";  // "stop", "length", "tool_calls"
  std::vector<ToolCall> tool_calls = {};  // the calls the model asked for, in its order
  double latency_ms = 0;
  bool cached = false;
  // Simulated model only: which rule fired. Ground truth for tests and benchmarks; attribution
  // must never read it.
  nlohmann::json sim_trace;
};

class ModelClient {
 public:
  virtual ~ModelClient() = default;
  // kModelTransient / kModelPermanent errors describe failed calls; retries happen inside the
  // client (or its scheduler), so an error returned here is final for this call.
  virtual Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) = 0;
  // "sim", "openai", "anthropic"; reports label simulated output as such.
  virtual std::string provider() const = 0;
};

}  // namespace fapo
