// A local stand-in for a model provider, for tests and benchmarks: an HTTP server bound to
// 127.0.0.1 that answers OpenAI chat completions (POST /v1/chat/completions) and Anthropic
// messages (POST /v1/messages). Replies come from a script (echo by default), after a latency
// drawn from a configurable distribution. Faults are injected three ways: a queue of faults for
// the next requests, an `x-fault` request header, or a `[[fault:SPEC]]` marker in the prompt
// (`[[fault:500*2]]`: only the first two requests with that exact body fail). Fault specs:
// "429" (optionally "429:retry=2" or "429:retry=" for no Retry-After), "500", "hang[:ms]",
// "malformed", "truncated", "slow[:interval_ms]", "401", "400".
//
// It serves hundreds of slow requests at once (one worker thread each) and counts what it
// served. All methods are thread-safe. Never listens beyond loopback.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/tools.h"

namespace fapo::bench {

// Delay before each reply. fixed: a_ms; uniform: between a_ms and b_ms; exponential: mean a_ms.
struct Latency {
  enum class Kind { kFixed, kUniform, kExponential };
  Kind kind = Kind::kFixed;
  double a_ms = 0;
  double b_ms = 0;

  static Latency fixed(double ms) { return {Kind::kFixed, ms, ms}; }
  static Latency uniform(double low_ms, double high_ms) {
    return {Kind::kUniform, low_ms, high_ms};
  }
  static Latency exponential(double mean_ms) { return {Kind::kExponential, mean_ms, 0}; }
};

// "50", "uniform:10:90", "exp:50".
Result<Latency> parse_latency(std::string_view text);

enum class Fault {
  kNone,
  kRateLimit,      // 429 with Retry-After
  kServerError,    // 500
  kHang,           // answers only after hang_ms (longer than a client's timeout)
  kMalformedJson,  // 200 with a body that is not JSON
  kTruncatedBody,  // announces the full length, sends half, closes the connection
  kSlowStream,     // sends the body a few bytes at a time
  kUnauthorized,   // 401, quoting the key it received
  kBadRequest,     // 400, quoting the key it received
};

struct FaultSpec {
  Fault kind = Fault::kNone;
  std::string retry_after = "1";  // 429: the Retry-After header ("" = none)
  int hang_ms = 5000;
  int drip_interval_ms = 100;  // slow stream: pause between 16-byte pieces
  int times = 0;               // prompt markers only: fail only the first `times` (0 = always)
};

Result<FaultSpec> parse_fault(std::string_view text);

// One received request, kept for inspection.
struct EndpointRequest {
  std::int64_t number = 0;  // 1-based arrival order
  std::string path;
  std::map<std::string, std::string> headers;  // names lowercased
  nlohmann::json body;                          // null when the body was not JSON
};

struct ScriptedReply {
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason = "stop";  // OpenAI vocabulary; mapped for /v1/messages
};

using ReplyScript = std::function<ScriptedReply(const EndpointRequest& request)>;

ReplyScript echo_script();  // "echo: <text of the last user message>"
ReplyScript fixed_script(std::string text);
// A one-round tool user, in either wire format. When the conversation ends in tool results it
// answers "tool said: <the last result>"; otherwise, when the request offers tools, it calls
// the first one with {"query": <text of the last user message>} (id "call_<request number>");
// otherwise it echoes like echo_script().
ReplyScript tool_loop_script();

struct TestEndpointOptions {
  int port = 0;        // 0: an ephemeral port, see port()
  int threads = 256;   // concurrent connections it can hold
  Latency latency;
  std::uint64_t seed = 1;  // latency draws
  ReplyScript script;      // default: echo_script()
  std::string api_key;     // when set, other keys (Bearer or x-api-key) get a 401
  std::vector<std::string> models;  // when set, other models get a 404 model_not_found
  std::size_t keep_requests = 256;  // most recent requests kept for inspection
};

class TestEndpoint {
 public:
  static Result<std::unique_ptr<TestEndpoint>> start(TestEndpointOptions options = {});
  ~TestEndpoint();  // stops
  TestEndpoint(const TestEndpoint&) = delete;
  TestEndpoint& operator=(const TestEndpoint&) = delete;

  int port() const;
  std::string openai_base_url() const;     // "http://127.0.0.1:PORT/v1"
  std::string anthropic_base_url() const;  // "http://127.0.0.1:PORT"

  // The next requests get these faults, one each, in order.
  void push_faults(const std::vector<FaultSpec>& faults);
  std::int64_t requests() const;  // received so far, faulted or not
  int peak_in_flight() const;     // most requests handled at the same time
  std::vector<EndpointRequest> recent_requests() const;
  std::optional<EndpointRequest> last_request() const;

  // Stops listening and wakes every request that is waiting; idempotent.
  void stop();

 private:
  struct Impl;
  explicit TestEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fapo::bench
