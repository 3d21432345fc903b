// What a tool is: a fixed name, title and description written for a model, hints for the
// client, and a handler that turns validated arguments into a result. Input and output JSON
// Schemas are not in this struct: they live in schemas/tool_<name>.input.json and
// schemas/tool_<name>.output.json (compiled into the binary) and the ToolTable pairs them with
// the spec. Handlers see arguments that already passed the input schema, report progress and
// check cancellation through ToolContext, and return a ToolResult: structured content plus a
// short text, or an error the calling model can act on. They never see protocol JSON.
//
// Handlers run on worker threads, several at once: they must be thread-safe with respect to
// each other and to the shared ServerContext.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "mcp_server/protocol/mcp_types.h"

namespace fapo {
class RunManager;  // engine/run/run_manager.h
class LaboratoryPool;  // engine/protocol/laboratory.h
}  // namespace fapo

namespace fapo::mcp {

// Long-lived state every tool may use. Engine services shared by tools (run manager, budget
// ledger, ...) belong here. Must outlive the dispatcher.
struct ServerContext {
  std::filesystem::path workspace;
  // Background evaluations (evaluate, get_run, cancel_run). Null where no tool needs one;
  // those tools then answer that evaluations are unavailable.
  std::shared_ptr<RunManager> runs = nullptr;
  // One Laboratory per tenant (variants, journal, protocol rules). Null: opened per call.
  std::shared_ptr<LaboratoryPool> laboratories = nullptr;
};

// Progress of one tool call. Reports become notifications/progress when the client asked for
// them with a progress token, and are dropped otherwise. Progress must increase; a report that
// does not is dropped. Thread-safe.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void report(double progress, std::optional<double> total, std::string_view message) = 0;
};

// Set when the client cancels the request or the server shuts down. Cooperative: a handler
// checks it between units of work (model calls, files) and returns early.
class CancellationToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool is_cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct ToolContext {
  const ServerContext& server;
  ProgressSink& progress;
  const CancellationToken& cancel;
};

struct ToolResult {
  nlohmann::json structured;  // matches the tool's output schema; null for errors
  std::string summary;        // one or two sentences for the model
  bool is_error = false;

  static ToolResult success(nlohmann::json structured, std::string summary) {
    return ToolResult{std::move(structured), std::move(summary), false};
  }
  // A failure the model can act on: say what was wrong and what to try.
  static ToolResult failure(std::string message) {
    return ToolResult{nullptr, std::move(message), true};
  }
  static ToolResult failure(const Error& error) { return failure(error.message); }
};

using ToolHandler =
    std::function<ToolResult(const nlohmann::json& arguments, ToolContext& context)>;

struct ToolSpec {
  std::string name;         // short: clients show it as mcp__fapo__<name>
  std::string title;        // for people
  std::string description;  // for the model: what it does, when to use it, what it costs
  ToolHints hints;
  ToolHandler handler;
};

}  // namespace fapo::mcp
