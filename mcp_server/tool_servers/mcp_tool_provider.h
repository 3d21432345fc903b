// A tenant's external tool server, spoken to over MCP stdio: the ToolProvider that fapo
// registers as the engine's ToolServerFactory (mcp_server/main.cpp).
//
// The server is started, initialized and asked for its tools when the provider is built;
// only the tenant's allowed tools are kept. How calls reach processes depends on sharing:
//
// - "shared": one process for every case of the run, on one MultiplexedClient: concurrent
//   calls are all in flight at once, each reply matched to its call by id. A call that times
//   out only gives up waiting (the server is told, the late reply dropped): the process keeps
//   serving the other calls. After kHungAfterTimeouts timeouts in a row with no reply from the
//   server in between, the server is considered hung: it is killed and the next call restarts
//   it. When the process exits, every call in flight fails at once and the next call restarts
//   it.
// - "per_worker": slots of one process each (StdioClient), up to launch.workers, started when
//   first needed. A call borrows a slot for its whole duration, so a process answers one call
//   at a time; a process that hung (no reply within the call's timeout) is killed at once.
//
// Either way a restart counts against max_restarts (per process slot, for the whole run);
// after that the calls fail at once.
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
#include "mcp_server/client/multiplexed_client.h"
#include "mcp_server/client/stdio_client.h"
#include "mcp_server/tool_servers/server_launch.h"

namespace fapo::mcp {

// Limits with defaults that suit real servers; tests shrink them.
struct McpToolServerOptions {
  std::size_t max_line_bytes = 16 * 1024 * 1024;     // a longer reply fails its call
  std::size_t max_result_bytes = 1024 * 1024;        // result text kept (the rest is cut, noted)
  std::chrono::milliseconds exit_grace{2'000};       // stopping: after stdin closes, then SIGTERM
  std::chrono::milliseconds terminate_grace{2'000};  // after SIGTERM, then SIGKILL
  // "shared" as one exclusive slot, one call at a time (the behaviour before calls were
  // multiplexed): a baseline for benchmarks and tests, never set by fapo itself.
  bool serialise_shared = false;
};

// Timeouts in a row, with no reply from the server in between, after which a shared server is
// considered hung and is restarted. One slow or stuck call is not enough (the others keep
// being answered); a run of them on a server that answers nothing is.
inline constexpr int kHungAfterTimeouts = 3;

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
  int slot_count() const { return multiplexed_ ? 1 : static_cast<int>(slots_.size()); }
  // Whether calls share one multiplexed connection ("shared") rather than borrow slots.
  bool multiplexed() const { return multiplexed_; }

 private:
  // A process slot's history: a start after the first is a restart, and restarts are counted.
  struct Restarts {
    bool ever_started = false;
    int count = 0;
    std::string stop_reason;  // why the last process stopped
  };
  // One exclusive process. A borrowed slot is touched only by its borrower; idle_ says which
  // are borrowed.
  struct Slot {
    std::unique_ptr<StdioClient> client;  // null: never started, or stopped after a failure
    Restarts restarts;
  };
  // The one multiplexed process of "shared".
  struct SharedServer {
    std::shared_ptr<MultiplexedClient> client;  // null: not running; calls hold copies
    Restarts restarts;
    bool starting = false;  // a call is (re)starting it; the others wait for that
  };

  void start_first_process();
  void keep_allowed_tools(const std::vector<nlohmann::json>& listed);
  StdioClientOptions client_options() const;
  // Starts a process and initializes it (and lists its tools into `listed` when not null),
  // all within startup_timeout_s. The error says why and quotes the end of its log.
  template <typename Client>
  Result<std::unique_ptr<Client>> launch_process(std::vector<nlohmann::json>* listed);
  // Whether a slot may (re)start a process now; a failure when its restarts are used up.
  std::optional<ToolResult> admit_start(Restarts& restarts);
  // Makes sure the slot has a live process, restarting it when its budget allows.
  std::optional<ToolResult> ensure_running(Slot& slot);
  // `deadline` ends the wait for the reply; `timeout` is what messages quote.
  ToolResult call_exclusive(const std::string& tool, const nlohmann::json& arguments,
                            std::chrono::milliseconds timeout, const ToolCallContext& context);
  ToolResult call_on(Slot& slot, const std::string& tool, const nlohmann::json& arguments,
                     std::chrono::milliseconds timeout,
                     std::chrono::steady_clock::time_point deadline,
                     const ToolCallContext& context);
  // The ToolResult of a tools/call that reached the tool.
  ToolResult called_result(const std::string& tool, const ToolCallResult& called) const;
  // Failures that leave the server as it is (JSON-RPC error, cancelled, over-long reply).
  std::optional<ToolResult> failure_keeping_server(const std::string& tool,
                                                   const RequestFailureDetail& detail) const;
  // Maps a failed tools/call to its kind, stopping the process when it cannot be trusted.
  ToolResult failed_call(Slot& slot, const std::string& tool, const Error& error,
                         std::chrono::milliseconds timeout);
  void stop_process(Slot& slot, std::string reason, bool kill);

  // Waits for an idle slot until `deadline` or cancellation; nullopt when none came free.
  std::optional<std::size_t> borrow(std::chrono::steady_clock::time_point deadline,
                                    const std::atomic<bool>* cancel);
  void give_back(std::size_t index);

  // "shared": the connection every call uses, (re)started when needed; a failure when it
  // cannot be.
  std::optional<ToolResult> ensure_shared(std::shared_ptr<MultiplexedClient>& client,
                                          const std::atomic<bool>* cancel);
  ToolResult call_shared(const std::string& tool, const nlohmann::json& arguments,
                         std::chrono::milliseconds timeout, const ToolCallContext& context);
  ToolResult failed_shared_call(const std::shared_ptr<MultiplexedClient>& client,
                                const std::string& tool, const Error& error,
                                const RequestFailureDetail& detail,
                                std::chrono::milliseconds timeout);
  // Stops `client` if it is still the shared one (killed, or shut down gracefully), so the
  // next call starts a new process. Callers racing to retire the same client retire it once.
  void retire_shared(const std::shared_ptr<MultiplexedClient>& client, std::string reason,
                     bool kill);

  ToolServerConfig config_;
  ToolServerLaunch launch_;
  McpToolServerOptions options_;
  bool multiplexed_ = false;  // "shared" on one MultiplexedClient (not serialise_shared)
  std::optional<ServerCommand> command_;
  std::vector<ToolDefinition> tools_;
  std::optional<std::string> start_error_;
  std::vector<std::string> warnings_;
  std::vector<Slot> slots_;  // sized once in the constructor; empty when multiplexed
  std::atomic<int> running_{0};

  std::mutex mutex_;  // guards idle_
  std::condition_variable slot_freed_;
  std::vector<bool> idle_;

  std::mutex shared_mutex_;  // guards shared_
  std::condition_variable shared_started_;
  SharedServer shared_;
};

// The ToolServerFactory fapo registers: an McpToolProvider with the default limits.
std::unique_ptr<ToolProvider> make_mcp_tool_server(const ToolServerConfig& config,
                                                   const ToolServerLaunch& launch);

}  // namespace fapo::mcp
