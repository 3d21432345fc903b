// The tools a `react` step offers its model. A ToolProvider is one source of tools: the
// built-in corpus search, or an external tool server the tenant declares. The engine knows
// providers only through this interface; servers spoken to over MCP are implemented outside
// the engine and registered as a ToolServerFactory (tool_servers.h), so the engine stays free
// of any protocol. A ToolSet gathers the providers of one run; it is built when the run starts
// and destroyed when it ends, which stops every server process it started.
//
// Every member is safe to call from several threads at once (cases of a run share one set).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/llm/tools.h"

namespace fapo {

// Why a tool call failed. kLimit is not a failure of the tool: the call was not made because
// the step's limits (calls per iteration or per case) were reached.
enum class ToolErrorKind { kNone, kTimeout, kUnknownTool, kInvalidArguments, kPermission, kOther, kLimit };

// "", "timeout", "unknown_tool", "invalid_arguments", "permission", "other", "limit".
const char* tool_error_kind_name(ToolErrorKind kind);
ToolErrorKind tool_error_kind_from_name(const std::string& name);  // unknown names: kOther

// What one call returned. On failure `content` is what the model is told (a short message)
// and `error` what the trace records.
struct ToolResult {
  std::string content;
  ToolErrorKind error_kind = ToolErrorKind::kNone;
  std::string error;  // empty on success

  bool ok() const { return error_kind == ToolErrorKind::kNone; }
};

// What a provider may know about the call beside its arguments. Tools never see `expected`.
struct ToolCallContext {
  std::string case_id;
  int trial = 0;
  std::string step_id;
  int search_k = 3;  // the react step's default k for the built-in search
  const std::atomic<bool>* cancel = nullptr;
};

class ToolProvider {
 public:
  virtual ~ToolProvider() = default;
  // "builtin", or the server name the tenant declared.
  virtual const std::string& name() const = 0;
  // The tools it offers, as listed when it started (only the tenant's allowed tools).
  virtual const std::vector<ToolDefinition>& tools() const = 0;
  // Why the provider has no tools (the server failed to start or to list them), naming the
  // server, or nullopt.
  virtual std::optional<std::string> start_error() const { return std::nullopt; }
  // The tool names the tenant allowed from this provider (what tools() holds once started);
  // names the tools a failed start made unavailable.
  virtual std::vector<std::string> allowed_tools() const = 0;
  // Runs `tool` with `arguments` (a JSON object already checked against the tool's schema).
  // Never throws; every failure is a ToolResult with its kind. Returns within about `timeout`.
  virtual ToolResult call(const std::string& tool, const nlohmann::json& arguments,
                          std::chrono::milliseconds timeout, const ToolCallContext& context) = 0;
};

// The providers of one run, looked up by tool name. Tool names are unique across providers.
class ToolSet {
 public:
  explicit ToolSet(std::vector<std::unique_ptr<ToolProvider>> providers);

  // The provider offering `tool`, or null.
  ToolProvider* provider_of(const std::string& tool) const;
  const ToolDefinition* definition(const std::string& tool) const;
  // Tools of providers that failed to start: tool names the tenant allowed, with the reason.
  const std::map<std::string, std::string>& unavailable() const { return unavailable_; }
  const std::vector<std::unique_ptr<ToolProvider>>& providers() const { return providers_; }

 private:
  std::vector<std::unique_ptr<ToolProvider>> providers_;
  std::map<std::string, std::pair<ToolProvider*, const ToolDefinition*>> by_name_;
  std::map<std::string, std::string> unavailable_;
};

}  // namespace fapo
