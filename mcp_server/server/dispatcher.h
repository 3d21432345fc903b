// The MCP dispatcher: decodes each incoming message, keeps the lifecycle of every session
// (initialize first; ping is allowed before), routes requests to method handlers and makes sure
// each request gets exactly one reply, even when a handler throws or is never run (the reply is
// then an internal error); a request the client cancelled gets none, as MCP asks. Notifications
// are never answered. Quick methods are answered on the calling thread; tools/call runs on a
// small worker pool, so ping and notifications/cancelled are handled while tools run. A call
// that asks to wait for a run (arguments.wait_seconds > 0, up to 50 s) blocks its thread for
// that long, so waiting calls get a pool of their own: however many clients wait, quick tool
// calls (describe_tenant, get_case, ...) still find a free worker.
//
// handle() may be called from several threads; the session table is guarded by a mutex.
// add_method() must be called before the first handle().
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "mcp_server/output/truncate.h"
#include "mcp_server/protocol/json_rpc.h"
#include "mcp_server/protocol/mcp_types.h"
#include "mcp_server/server/worker_pool.h"
#include "mcp_server/tools/tool.h"
#include "mcp_server/tools/tool_table.h"
#include "mcp_server/transport/transport.h"

namespace fapo::mcp {

struct DispatcherOptions {
  ServerIdentity identity;
  std::size_t worker_threads = 8;  // tools/call running at once; more wait in order
  // tools/call with arguments.wait_seconds > 0 running at once (they mostly sleep); more queue.
  std::size_t waiting_threads = 16;
  std::size_t tools_page_size = 50;
  std::size_t result_token_budget = kDefaultResultTokenBudget;
};

// What a method handler knows about the request it serves.
struct RequestContext {
  const std::string& session_id;
  const std::string& protocol_version;  // negotiated for the session
  ProgressSink& progress;
  const CancellationToken& cancel;
};

class Dispatcher {
 public:
  using MethodHandler = std::function<Reply(const nlohmann::json& params, RequestContext& request)>;
  enum class Execution { kInline, kWorker };

  // `tools` and `context` must outlive the dispatcher.
  Dispatcher(const ToolTable& tools, const ServerContext& context, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Adds or replaces the handler of a request method. Resources and prompts start as empty
  // lists; their providers replace these handlers.
  void add_method(std::string method, MethodHandler handler,
                  Execution execution = Execution::kInline);

  // Handles one message; never throws. Its channel's finish() is called exactly once: before
  // return for everything but worker methods, later from a worker for those.
  void handle(const IncomingMessage& message);

  // Lets in-flight requests finish for a moment, then cancels the rest (their replies are still
  // sent) and waits for them, in all up to `grace`. False when some are still running (a
  // handler that ignores cancellation).
  bool shutdown(std::chrono::milliseconds grace);

 private:
  struct Session;
  struct Method {
    MethodHandler handler;
    Execution execution;
  };
  class PendingRequest;

  void handle_request(Message message, const IncomingMessage& incoming);
  void handle_notification(const Message& message, const std::string& session_id);
  Reply initialize(const nlohmann::json& params, const std::string& session_id);
  void run(const std::shared_ptr<PendingRequest>& pending, const Method& method);
  void forget(const std::string& session_id, const std::string& request_key);
  void end_session(const std::string& session_id);
  void register_builtin_methods();
  bool wait_idle(std::chrono::milliseconds timeout);  // both pools idle within `timeout`

  const ToolTable& tools_;
  const ServerContext& context_;
  DispatcherOptions options_;
  std::map<std::string, Method, std::less<>> methods_;  // fixed before the first message

  std::mutex sessions_mutex_;  // guards sessions_
  std::map<std::string, std::unique_ptr<Session>> sessions_;

  // Last: their threads stop before the members they use are destroyed.
  WorkerPool workers_;
  WorkerPool waiting_workers_;  // tools/call that ask to wait (see the file comment)
};

}  // namespace fapo::mcp
