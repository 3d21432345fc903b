// Pieces the evaluation tools share: opening the workspace, checking a tenant id argument
// against the tenants that exist (with a "did you mean"), reaching the run manager, reading the
// bounded wait argument, and the JSON and one-line text of a run as every run tool shows it
// (with the split access policy applied: per-case hints only for train runs).
//
// Free functions; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/run/run_manager.h"
#include "engine/run/workspace.h"
#include "mcp_server/tools/tool.h"

namespace fapo::mcp {

// The longest a tool call waits for a run: under the 60 s per call after which Codex gives up.
inline constexpr int kMaxWaitSeconds = 50;

Result<Workspace> open_workspace(const ServerContext& context);

// kInvalidInput for a malformed id; kNotFound naming the tenants that exist (and the likely
// one, for a typo) when tenants/<id>/tenant.json does not exist.
Status check_tenant_exists(const Workspace& workspace, const std::string& tenant_id);

// Both of the above, from the "tenant_id" argument.
Result<Workspace> open_tenant(const ServerContext& context, const nlohmann::json& arguments);

// The server's run manager, or an error when this server has none.
Result<RunManager*> run_manager(const ServerContext& context);

// A run named by the "tenant_id" and "run_id" arguments, looked up once the split's access rule
// lets the caller see `what` of it ("Results", "Cases", ...).
struct RunTarget {
  Workspace workspace;
  RunManager* manager = nullptr;
  std::string tenant_id;
  RunSnapshot run;
};
enum class RunDetail { kAggregates, kIndividualCases };
Result<RunTarget> open_run(const ServerContext& context, const nlohmann::json& arguments,
                           RunDetail detail, std::string_view what);

// "wait_seconds" of `arguments` (absent: 0), clamped to [0, kMaxWaitSeconds].
std::chrono::milliseconds wait_argument(const nlohmann::json& arguments);

// The "run" object of the evaluate, get_run and cancel_run results.
nlohmann::json run_json(const RunSnapshot& run);

// One sentence: "Run r… (train, 60 cases x 1 trial) is complete: mean 36.7 ± 6.2 (s.e.) over
// 60 scored results."
std::string run_sentence(const RunSnapshot& run);

// A progress message for notifications: "24/60 results, running mean 41.7".
std::string progress_message(const RunSnapshot& run);

// A failure result whose text is the error's message plus `hint` (when not empty).
ToolResult failure_with_hint(const Error& error, const std::string& hint);

}  // namespace fapo::mcp
