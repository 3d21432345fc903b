#include "mcp_server/tool_servers/mcp_tool_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <functional>

#include "engine/base/strings.h"
#include "mcp_server/tool_servers/mcp_tool_results.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kClientName[] = "fapo";
constexpr char kClientVersion[] = "0.1.0";
constexpr std::size_t kLogTailBytes = 600;  // of a failed server's stderr, in start errors
constexpr std::size_t kQuotedBytes = 300;   // of a tool's error text, in the trace's error

std::chrono::milliseconds time_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

ToolResult failure(ToolErrorKind kind, std::string content, std::string error) {
  return ToolResult{std::move(content), kind, std::move(error)};
}

// Runs `release` however the scope ends: returns a borrowed slot, forgets a cancel flag.
class ScopeExit {
 public:
  explicit ScopeExit(std::function<void()> release) : release_(std::move(release)) {}
  ~ScopeExit() { release_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  std::function<void()> release_;
};

std::string no_answer(const std::string& tool, std::chrono::milliseconds timeout) {
  return "error: tool '" + tool + "' did not answer within " + describe_wait(timeout);
}

}  // namespace

McpToolProvider::McpToolProvider(ToolServerConfig config, ToolServerLaunch launch,
                                 McpToolServerOptions options)
    : config_(std::move(config)), launch_(std::move(launch)), options_(options) {
  multiplexed_ = config_.sharing != "per_worker" && !options_.serialise_shared;
  std::size_t count = 0;
  if (!multiplexed_) {
    count = config_.sharing == "per_worker" ? static_cast<std::size_t>(std::max(1, launch_.workers))
                                            : 1;
  }
  slots_.resize(count);
  idle_.assign(count, true);
  try {
    auto command = resolve_server_command(config_, launch_);
    if (command.ok()) {
      command_ = std::move(*command);
      start_first_process();
    } else {
      start_error_ = command.error().message;
    }
  } catch (const std::exception& thrown) {
    start_error_ = "tool server '" + config_.name + "' failed to start: " + thrown.what();
  }
  if (start_error_) spdlog::warn("{}", *start_error_);
}

McpToolProvider::~McpToolProvider() {
  // Every process is told to stop first, so their exits overlap instead of adding up.
  if (shared_.client) shared_.client->close_input();
  for (Slot& slot : slots_) {
    if (slot.client) slot.client->close_input();
  }
  if (shared_.client) retire_shared(shared_.client, "the run ended", /*kill=*/false);
  for (Slot& slot : slots_) stop_process(slot, "the run ended", /*kill=*/false);
}

void McpToolProvider::start_first_process() {
  std::vector<json> listed;
  pid_t pid = -1;
  if (multiplexed_) {
    shared_.restarts.ever_started = true;
    auto started = launch_process<MultiplexedClient>(&listed);
    if (!started.ok()) {
      start_error_ = started.error().message;
      return;
    }
    shared_.client = std::move(*started);
    pid = shared_.client->pid();
  } else {
    Slot& first = slots_.front();
    first.restarts.ever_started = true;
    auto started = launch_process<StdioClient>(&listed);
    if (!started.ok()) {
      start_error_ = started.error().message;
      return;
    }
    first.client = std::move(*started);
    pid = first.client->pid();
  }
  ++running_;
  keep_allowed_tools(listed);
  if (tools_.empty()) {
    std::vector<std::string> names;
    for (const json& tool : listed) names.push_back(tool.value("name", std::string("?")));
    start_error_ = "tool server '" + config_.name + "' offers none of the allowed tools (" +
                   join(config_.allowed_tools, ", ") +
                   "); it lists: " + (names.empty() ? std::string("no tools") : join(names, ", "));
    if (multiplexed_) {
      retire_shared(shared_.client, *start_error_, /*kill=*/false);
    } else {
      stop_process(slots_.front(), *start_error_, /*kill=*/false);
    }
    return;
  }
  spdlog::info("tool server '{}' started (pid {}, {}): {} tool(s)", config_.name, pid,
               multiplexed_ ? "calls multiplexed" : "one call per process", tools_.size());
}

void McpToolProvider::keep_allowed_tools(const std::vector<json>& listed) {
  for (const std::string& allowed : config_.allowed_tools) {
    auto found = std::find_if(listed.begin(), listed.end(), [&](const json& tool) {
      return tool.is_object() && tool.value("name", std::string()) == allowed;
    });
    if (found == listed.end()) {
      warnings_.push_back("tool server '" + config_.name + "' does not offer the allowed tool '" +
                          allowed + "'");
      spdlog::warn("{}", warnings_.back());
      continue;
    }
    tools_.push_back(to_tool_definition(*found));
  }
}

StdioClientOptions McpToolProvider::client_options() const {
  StdioClientOptions client_options;
  client_options.argv = command_->argv;
  client_options.env = command_->env;
  client_options.working_dir = command_->working_dir;
  client_options.stderr_path = launch_.log_path;
  client_options.reply_timeout = std::chrono::milliseconds(
      static_cast<long long>(std::max(0.001, config_.startup_timeout_s) * 1000));
  client_options.exit_grace = options_.exit_grace;
  client_options.terminate_grace = options_.terminate_grace;
  client_options.max_line_bytes = options_.max_line_bytes;
  client_options.skip_non_json_lines = true;
  client_options.own_process_group = true;
  return client_options;
}

template <typename Client>
Result<std::unique_ptr<Client>> McpToolProvider::launch_process(std::vector<json>* listed) {
  StdioClientOptions options = client_options();
  const auto startup = options.reply_timeout;
  const std::string label = "tool server '" + config_.name + "'";
  if (!launch_.log_path.empty()) {
    std::error_code ignored;  // a missing directory makes the start fail, saying so
    std::filesystem::create_directories(launch_.log_path.parent_path(), ignored);
  }
  std::uintmax_t log_offset = log_size(launch_.log_path);
  auto started = Client::start(std::move(options));
  if (!started.ok()) return started.error().with_context(label + " failed to start");
  std::unique_ptr<Client> client = std::move(*started);
  auto deadline = Clock::now() + startup;
  // A server that fails here is killed at once: it is broken or stuck, not worth a grace.
  auto failed = [&](const Error& error) {
    client->kill();
    std::string message = label + " failed to start: " + error.message;
    std::string tail = log_tail(launch_.log_path, log_offset, kLogTailBytes,
                                secret_environment(config_));
    if (!tail.empty()) message += " (its stderr: " + tail + ")";
    return make_error(error.code, message);
  };
  // initialize follows the spawn at once: it gets the whole startup time, which keeps the
  // timeout quoted in messages the configured one.
  auto initialized = client->initialize(kClientName, kClientVersion, "2025-11-25", startup);
  if (!initialized.ok()) return failed(initialized.error());
  if (listed != nullptr) {
    auto tools = client->list_tools(time_left(deadline));
    if (!tools.ok()) return failed(tools.error());
    *listed = std::move(*tools);
  }
  return client;
}

std::optional<ToolResult> McpToolProvider::admit_start(Restarts& restarts) {
  if (!restarts.ever_started) {
    restarts.ever_started = true;
    return std::nullopt;
  }
  const std::string label = "tool server '" + config_.name + "'";
  if (restarts.count >= config_.max_restarts) {
    return failure(ToolErrorKind::kOther, "error: the tool server is down",
                   label + " is down after " + std::to_string(restarts.count) +
                       " restarts (last failure: " + restarts.stop_reason + ")");
  }
  ++restarts.count;
  spdlog::warn("{}: restarting ({} of {}) after: {}", label, restarts.count, config_.max_restarts,
               restarts.stop_reason);
  return std::nullopt;
}

ToolResult McpToolProvider::call(const std::string& tool, const json& arguments,
                                 std::chrono::milliseconds timeout,
                                 const ToolCallContext& context) {
  const std::string label = "tool server '" + config_.name + "'";
  const auto& allowed = config_.allowed_tools;
  if (std::find(allowed.begin(), allowed.end(), tool) == allowed.end()) {
    return failure(ToolErrorKind::kPermission, "error: tool '" + tool + "' is not allowed",
                   label + ": tool '" + tool + "' is not among the tenant's allowed tools");
  }
  if (start_error_) {
    return failure(ToolErrorKind::kOther, "error: tool '" + tool + "' is unavailable",
                   *start_error_);
  }
  bool offered = std::any_of(tools_.begin(), tools_.end(), [&](const ToolDefinition& definition) {
    return definition.name == tool;
  });
  if (!offered) {
    return failure(ToolErrorKind::kUnknownTool, "error: unknown tool '" + tool + "'",
                   label + " does not offer tool '" + tool + "'");
  }
  try {
    return multiplexed_ ? call_shared(tool, arguments, timeout, context)
                        : call_exclusive(tool, arguments, timeout, context);
  } catch (const std::exception& thrown) {
    // Only a dependency throws here (e.g. arguments that are not valid UTF-8 for JSON).
    return failure(ToolErrorKind::kOther, "error: the call could not be made",
                   label + ": the call to '" + tool + "' failed: " + thrown.what());
  }
}

ToolResult McpToolProvider::called_result(const std::string& tool,
                                          const ToolCallResult& called) const {
  std::string content = render_tool_content(called.raw, options_.max_result_bytes);
  if (!called.is_error) {
    ToolResult result;
    result.content = std::move(content);
    return result;
  }
  std::string said = called.text.empty() ? content : called.text;
  return failure(classify_tool_error_text(said), std::move(content),
                 "tool server '" + config_.name + "': tool '" + tool +
                     "' reported an error: " + truncate_utf8(said, kQuotedBytes));
}

std::optional<ToolResult> McpToolProvider::failure_keeping_server(
    const std::string& tool, const RequestFailureDetail& detail) const {
  const std::string label = "tool server '" + config_.name + "'";
  switch (detail.kind) {
    case RequestFailure::kRpcError:
      return failure(classify_rpc_error(detail.rpc_code, detail.rpc_message),
                     "error: " + truncate_utf8(detail.rpc_message, kQuotedBytes),
                     label + " answered the call to '" + tool + "' with error " +
                         std::to_string(detail.rpc_code) + ": " +
                         truncate_utf8(detail.rpc_message, kQuotedBytes));
    case RequestFailure::kCancelled:
      return failure(ToolErrorKind::kOther, "error: the call was cancelled",
                     label + ": the call to '" + tool + "' was cancelled");
    case RequestFailure::kLineTooLong:
      // The client dropped the rest of the line: the process stays usable.
      return failure(ToolErrorKind::kOther,
                     "error: tool '" + tool + "' returned a reply too large to read",
                     label + ": the reply to '" + tool + "' was longer than " +
                         std::to_string(options_.max_line_bytes) + " bytes and was dropped");
    default:
      return std::nullopt;
  }
}

// ---- "per_worker" (and serialise_shared): exclusive slots ----

std::optional<ToolResult> McpToolProvider::ensure_running(Slot& slot) {
  if (slot.client) return std::nullopt;
  if (auto refused = admit_start(slot.restarts)) return refused;
  auto started = launch_process<StdioClient>(nullptr);
  if (!started.ok()) {
    slot.restarts.stop_reason = started.error().message;
    return failure(ToolErrorKind::kOther, "error: the tool server could not start",
                   started.error().message);
  }
  slot.client = std::move(*started);
  ++running_;
  return std::nullopt;
}

ToolResult McpToolProvider::call_exclusive(const std::string& tool, const json& arguments,
                                           std::chrono::milliseconds timeout,
                                           const ToolCallContext& context) {
  const std::string label = "tool server '" + config_.name + "'";
  auto deadline = Clock::now() + timeout;
  auto index = borrow(deadline, context.cancel);
  if (!index) {
    if (context.cancel != nullptr && context.cancel->load()) {
      return failure(ToolErrorKind::kOther, "error: the call was cancelled",
                     label + ": the call to '" + tool + "' was cancelled before it started");
    }
    return failure(ToolErrorKind::kTimeout, no_answer(tool, timeout),
                   label + " was busy with other calls for " + describe_wait(timeout) + "; '" +
                       tool + "' was not called");
  }
  ScopeExit lease([this, slot = *index] { give_back(slot); });
  return call_on(slots_[*index], tool, arguments, timeout, deadline, context);
}

ToolResult McpToolProvider::call_on(Slot& slot, const std::string& tool, const json& arguments,
                                    std::chrono::milliseconds timeout, Clock::time_point deadline,
                                    const ToolCallContext& context) {
  // A (re)start does not eat into the call's own time: it has its startup timeout.
  auto before_start = Clock::now();
  if (auto down = ensure_running(slot)) return *down;
  deadline += Clock::now() - before_start;
  slot.client->set_cancel_flag(context.cancel);
  // The flag belongs to this call only, even if the call throws or stops the process.
  ScopeExit forget_cancel([&slot] {
    if (slot.client) slot.client->set_cancel_flag(nullptr);
  });
  auto called = slot.client->call_tool(tool, arguments, std::nullopt, time_left(deadline));
  if (!called.ok()) return failed_call(slot, tool, called.error(), timeout);
  return called_result(tool, *called);
}

ToolResult McpToolProvider::failed_call(Slot& slot, const std::string& tool, const Error& error,
                                        std::chrono::milliseconds timeout) {
  const std::string label = "tool server '" + config_.name + "'";
  const RequestFailureDetail detail = slot.client->last_failure();
  if (auto kept = failure_keeping_server(tool, detail)) return *kept;
  switch (detail.kind) {
    case RequestFailure::kTimeout:
      // It answers one call at a time and may be stuck for good: a fresh process is the only
      // sure way back.
      stop_process(slot, "'" + tool + "' did not answer within " + describe_wait(timeout),
                   /*kill=*/true);
      return failure(ToolErrorKind::kTimeout, no_answer(tool, timeout),
                     label + ": tool '" + tool + "' did not answer within " +
                         describe_wait(timeout) +
                         "; the server was stopped and restarts on the next call");
    case RequestFailure::kExited:
      stop_process(slot, error.message, /*kill=*/true);
      return failure(ToolErrorKind::kOther, "error: the tool server exited during the call",
                     label + " exited during the call to '" + tool + "' (" + error.message +
                         "); it restarts on the next call");
    default:
      stop_process(slot, error.message, /*kill=*/true);
      return failure(ToolErrorKind::kOther, "error: the call to the tool server failed",
                     label + ": the call to '" + tool + "' failed (" + error.message +
                         "); the server restarts on the next call");
  }
}

void McpToolProvider::stop_process(Slot& slot, std::string reason, bool kill) {
  if (!slot.client) return;
  if (kill) {
    slot.client->kill();
  } else {
    slot.client->shutdown();
  }
  slot.client.reset();
  --running_;
  slot.restarts.stop_reason = std::move(reason);
}

std::optional<std::size_t> McpToolProvider::borrow(Clock::time_point deadline,
                                                   const std::atomic<bool>* cancel) {
  // Idle slots are ranked: a live process first (so new processes start only when calls
  // overlap), then one never started, then one to restart, and a slot that is down last.
  auto rank = [this](const Slot& slot) {
    if (slot.client) return 0;
    if (!slot.restarts.ever_started) return 1;
    return slot.restarts.count < config_.max_restarts ? 2 : 3;
  };
  std::unique_lock lock(mutex_);
  while (true) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (idle_[i] && (!best || rank(slots_[i]) < rank(slots_[*best]))) best = i;
    }
    if (best) {
      idle_[*best] = false;
      return best;
    }
    if (cancel != nullptr && cancel->load()) return std::nullopt;
    auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    // Sliced so a raised cancel flag is noticed.
    slot_freed_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
  }
}

void McpToolProvider::give_back(std::size_t index) {
  {
    std::lock_guard lock(mutex_);
    idle_[index] = true;
  }
  slot_freed_.notify_one();
}

// ---- "shared": one multiplexed connection ----

std::optional<ToolResult> McpToolProvider::ensure_shared(std::shared_ptr<MultiplexedClient>& client,
                                                         const std::atomic<bool>* cancel) {
  std::unique_lock lock(shared_mutex_);
  // Another call is (re)starting the server: wait for it (bounded by its startup timeout)
  // rather than start a second one.
  while (shared_.starting) {
    if (cancel != nullptr && cancel->load()) {
      return failure(ToolErrorKind::kOther, "error: the call was cancelled",
                     "tool server '" + config_.name +
                         "': the call was cancelled while the server was starting");
    }
    shared_started_.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (shared_.client && !shared_.client->alive()) {
    // It died between calls (nobody was waiting to notice): reap it, then restart below.
    std::shared_ptr<MultiplexedClient> dead = std::move(shared_.client);
    shared_.restarts.stop_reason = dead->death_reason();
    --running_;
    dead->kill(shared_.restarts.stop_reason);
  }
  if (shared_.client) {
    client = shared_.client;
    return std::nullopt;
  }
  if (auto refused = admit_start(shared_.restarts)) return refused;
  shared_.starting = true;
  lock.unlock();
  auto started = launch_process<MultiplexedClient>(nullptr);
  lock.lock();
  shared_.starting = false;
  shared_started_.notify_all();
  if (!started.ok()) {
    shared_.restarts.stop_reason = started.error().message;
    return failure(ToolErrorKind::kOther, "error: the tool server could not start",
                   started.error().message);
  }
  shared_.client = std::move(*started);
  ++running_;
  client = shared_.client;
  return std::nullopt;
}

ToolResult McpToolProvider::call_shared(const std::string& tool, const json& arguments,
                                        std::chrono::milliseconds timeout,
                                        const ToolCallContext& context) {
  // A (re)start does not eat into the call's own time: it has its startup timeout.
  std::shared_ptr<MultiplexedClient> client;
  if (auto down = ensure_shared(client, context.cancel)) return *down;
  RequestFailureDetail detail;
  auto called = client->call_tool(tool, arguments, timeout, context.cancel, &detail);
  if (!called.ok()) return failed_shared_call(client, tool, called.error(), detail, timeout);
  return called_result(tool, *called);
}

ToolResult McpToolProvider::failed_shared_call(const std::shared_ptr<MultiplexedClient>& client,
                                               const std::string& tool, const Error& error,
                                               const RequestFailureDetail& detail,
                                               std::chrono::milliseconds timeout) {
  const std::string label = "tool server '" + config_.name + "'";
  if (auto kept = failure_keeping_server(tool, detail)) return *kept;
  switch (detail.kind) {
    case RequestFailure::kTimeout: {
      // Other calls may be in flight on the same process: one timeout only abandons this
      // one. A run of them with no reply in between means the server answers nothing.
      int in_a_row = std::max(1, client->consecutive_timeouts());
      std::string said =
          label + ": tool '" + tool + "' did not answer within " + describe_wait(timeout);
      if (in_a_row < kHungAfterTimeouts) {
        return failure(ToolErrorKind::kTimeout, no_answer(tool, timeout),
                       said + "; the server keeps running (" + std::to_string(in_a_row) + " of " +
                           std::to_string(kHungAfterTimeouts) +
                           " timeouts in a row before it is restarted)");
      }
      std::string reason = std::to_string(in_a_row) + " calls in a row got no reply (the last: '" +
                           tool + "' within " + describe_wait(timeout) + ")";
      retire_shared(client, "it was killed as hung: " + reason, /*kill=*/true);
      return failure(ToolErrorKind::kTimeout, no_answer(tool, timeout),
                     said + "; " + reason +
                         ", so the server was stopped as hung and restarts on the next call");
    }
    case RequestFailure::kExited:
      retire_shared(client, error.message, /*kill=*/true);
      return failure(ToolErrorKind::kOther, "error: the tool server exited during the call",
                     label + " exited during the call to '" + tool + "' (" + error.message +
                         "); it restarts on the next call");
    default:
      retire_shared(client, error.message, /*kill=*/true);
      return failure(ToolErrorKind::kOther, "error: the call to the tool server failed",
                     label + ": the call to '" + tool + "' failed (" + error.message +
                         "); the server restarts on the next call");
  }
}

void McpToolProvider::retire_shared(const std::shared_ptr<MultiplexedClient>& client,
                                    std::string reason, bool kill) {
  std::shared_ptr<MultiplexedClient> retired = client;  // `client` may be shared_.client itself
  {
    std::lock_guard lock(shared_mutex_);
    if (!retired || shared_.client != retired) return;  // already retired by another call
    shared_.client.reset();
    shared_.restarts.stop_reason = reason;
    --running_;
  }
  // Outside the lock: other calls may go on to start its successor meanwhile.
  if (kill) {
    retired->kill(reason);
  } else {
    retired->shutdown();
  }
}

std::unique_ptr<ToolProvider> make_mcp_tool_server(const ToolServerConfig& config,
                                                   const ToolServerLaunch& launch) {
  return std::make_unique<McpToolProvider>(config, launch);
}

}  // namespace fapo::mcp
