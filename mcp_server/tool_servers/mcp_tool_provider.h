// A tenant's external tool server, spoken to over MCP stdio: the ToolProvider that fapo
// registers as the engine's ToolServerFactory (mcp_server/main.cpp).
//
// The server is started, initialized and asked for its tools when the provider is built;
// only the tenant's allowed tools are kept. Processes live in slots: "shared" has one slot
// for every case of the run, "per_worker" one per concurrent case (launch.workers), started
// when first needed. A call borrows a slot for its whole duration, so a slot's process
// answers one call at a time; in "shared" mode concurrent calls therefore queue (simple and
// safe for servers that were never written for concurrent requests; "per_worker" is the
// remedy for slow tools). A slot whose process hung (no reply within the call's timeout, it is
// killed) or exited is restarted by the next call that borrows it, at most max_restarts
// times; after that its calls fail at once.
//
// Thread safety: every member may be called from several threads at once. Destruction stops
// and reaps every process and must not overlap a call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/tools/tool_servers.h"
#include "mcp_server/client/stdio_client.h"
#include "mcp_server/tool_servers/server_launch.h"

namespace fapo::mcp {

// Limits with defaults that suit real servers; tests shrink them.
struct McpToolServerOptions {
  std::size_t max_line_bytes = 16 * 1024 * 1024;     // a longer reply fails its call
  std::size_t max_result_bytes = 1024 * 1024;        // result text kept (the rest is cut, noted)
  std::chrono::milliseconds exit_grace{2'000};       // stopping: after stdin closes, then SIGTERM
  std::chrono::milliseconds terminate_grace{2'000};  // after SIGTERM, then SIGKILL
};

class McpToolProvider final : public ToolProvider {
 public:
  // Starts the first process and lists its tools; never throws. Failure to start leaves a
  // provider whose start_error() says why.
  McpToolProvider(ToolServerConfig config, ToolServerLaunch launch,
                  McpToolServerOptions options = {});
  ~McpToolProvider() override;
  McpToolProvider(const McpToolProvider&) = delete;
  McpToolProvider& operator=(const McpToolProvider&) = delete;

  const std::string& name() const override { return config_.name; }
  const std::vector<ToolDefinition>& tools() const override { return tools_; }
  std::optional<std::string> start_error() const override { return start_error_; }
  std::vector<std::string> allowed_tools() const override { return config_.allowed_tools; }
  ToolResult call(const std::string& tool, const nlohmann::json& arguments,
                  std::chrono::milliseconds timeout, const ToolCallContext& context) override;

  // Allowed tools the server did not list (they are not offered), one message each.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Server processes alive now, and the most the provider may run at once.
  int running_processes() const { return running_.load(); }
  int slot_count() const { return static_cast<int>(slots_.size()); }

 private:
  // One process and its history. A borrowed slot is touched only by its borrower; the free
  // list says which are borrowed.
  struct Slot {
    std::unique_ptr<StdioClient> client;  // null: never started, or stopped after a failure
    bool ever_started = false;            // a start after the first is a restart
    int restarts = 0;
    std::string stop_reason;  // why the last process stopped
  };

  void start_first_process();
  void keep_allowed_tools(const std::vector<nlohmann::json>& listed);
  // Starts a process and initializes it (and lists its tools into `listed` when not null),
  // all within startup_timeout_s. The error says why and quotes the end of its log.
  Result<std::unique_ptr<StdioClient>> launch_process(std::vector<nlohmann::json>* listed);
  // Makes sure the slot has a live process, restarting it when its budget allows.
  std::optional<ToolResult> ensure_running(Slot& slot);
  // `deadline` ends the wait for the reply; `timeout` is what messages quote.
  ToolResult call_on(Slot& slot, const std::string& tool, const nlohmann::json& arguments,
                     std::chrono::milliseconds timeout,
                     std::chrono::steady_clock::time_point deadline,
                     const ToolCallContext& context);
  // Maps a failed tools/call to its kind, stopping the process when it cannot be trusted.
  ToolResult failed_call(Slot& slot, const std::string& tool, const Error& error,
                         std::chrono::milliseconds timeout);
  void stop_process(Slot& slot, std::string reason, bool kill);

  // Waits for an idle slot until `deadline` or cancellation; nullopt when none came free.
  std::optional<std::size_t> borrow(std::chrono::steady_clock::time_point deadline,
                                    const std::atomic<bool>* cancel);
  void give_back(std::size_t index);

  ToolServerConfig config_;
  ToolServerLaunch launch_;
  McpToolServerOptions options_;
  std::optional<ServerCommand> command_;
  std::vector<ToolDefinition> tools_;
  std::optional<std::string> start_error_;
  std::vector<std::string> warnings_;
  std::vector<Slot> slots_;  // sized once in the constructor
  std::atomic<int> running_{0};

  std::mutex mutex_;  // guards idle_
  std::condition_variable slot_freed_;
  std::vector<bool> idle_;
};

// The ToolServerFactory fapo registers: an McpToolProvider with the default limits.
std::unique_ptr<ToolProvider> make_mcp_tool_server(const ToolServerConfig& config,
                                                   const ToolServerLaunch& launch);

}  // namespace fapo::mcp
