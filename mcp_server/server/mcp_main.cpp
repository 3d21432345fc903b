#include "mcp_server/server/mcp_main.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "engine/base/embedded_schemas.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/run_manager.h"
#include "mcp_server/prompts/prompts.h"
#include "mcp_server/resources/resources.h"
#include "mcp_server/server/dispatcher.h"
#include "mcp_server/transport/http_transport.h"
#include "mcp_server/transport/stdio_transport.h"

namespace fapo::mcp {
namespace {

constexpr char kServerVersion[] = "0.1.0";
constexpr char kTokenEnv[] = "FAPO_MCP_TOKEN";
// How long in-flight tool calls get to notice cancellation once the client is gone.
constexpr auto kShutdownGrace = std::chrono::seconds(10);

// Sent once at initialize; clients show it to the model. Short: each tool's own description
// carries the details.
constexpr char kInstructions[] =
    "fapo is a laboratory for optimising multi-step LLM pipelines; each pipeline is a tenant. "
    "Orient: list_tenants, describe_tenant, budget, history (resume earlier work). "
    "Loop: (1) evaluate on train, then get_run with wait_seconds until complete; "
    "(2) attribute the train run to see which step fails and why (list_cases and get_case "
    "show single train cases); (3) propose_variant with the smallest change that fixes the "
    "largest failure cluster, prompt before parameter before structural, with a hypothesis; "
    "(4) review_variant and fix what it blocks; (5) evaluate the reviewed variant on "
    "validation and compare it with the current best (validation shows aggregates only). "
    "Repeat while budget remains; record_note keeps decisions for later sessions. At the end "
    "call final_test once: the test split is sealed after it. Lists are paged: pass "
    "next_cursor back as cursor.";

// Logs go to stderr: with stdio, stdout carries the protocol and nothing else. The level comes
// from SPDLOG_LEVEL (e.g. SPDLOG_LEVEL=debug), info by default.
void log_to_stderr() {
  auto logger =
      std::make_shared<spdlog::logger>("fapo", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();
}

// Turns SIGINT and SIGTERM into a clean close of the transport. The constructor blocks the
// signals in the calling thread, and threads started afterwards inherit the mask, so one
// watcher thread receives them with sigwait and no work happens in a signal handler. SIGUSR1
// releases the watcher at the end.
class ShutdownSignals {
 public:
  ShutdownSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  }

  // `transport` must outlive this object.
  void watch(Transport& transport) {
    watcher_ = std::thread([this, &transport] {
      int signal = 0;
      if (sigwait(&signals_, &signal) != 0 || signal == SIGUSR1) return;
      spdlog::info("received {}; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
      transport.close();
    });
  }

  ~ShutdownSignals() {
    if (watcher_.joinable()) {
      pthread_kill(watcher_.native_handle(), SIGUSR1);
      watcher_.join();
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

 private:
  sigset_t signals_;
  sigset_t previous_;
  std::thread watcher_;
};

std::optional<std::string> resolve_token(const McpServerOptions& options) {
  if (options.bearer_token) return options.bearer_token;
  if (const char* value = std::getenv(kTokenEnv); value != nullptr && *value != '\0') {
    return std::string(value);
  }
  return std::nullopt;
}

// The transport the options ask for; on failure prints why and sets `exit_code`.
std::unique_ptr<Transport> open_transport(const McpServerOptions& options, int& exit_code) {
  if (!options.http_listen) return StdioTransport::for_process(options.max_body_bytes);
  auto address = parse_listen_address(*options.http_listen);
  if (!address.ok()) {
    std::fprintf(stderr, "fapo mcp: %s\n", address.error().message.c_str());
    exit_code = 2;
    return nullptr;
  }
  HttpTransportOptions http;
  http.address = *address;
  http.bearer_token = resolve_token(options);
  http.max_body_bytes = options.max_body_bytes;
  auto transport = HttpTransport::start(http);
  if (!transport.ok()) {
    std::fprintf(stderr, "fapo mcp: %s\n", transport.error().message.c_str());
    exit_code = transport.error().code == ErrorCode::kInvalidInput ? 2 : 1;
    return nullptr;
  }
  std::fprintf(stderr, "fapo mcp listening on %s\n", (*transport)->url().c_str());
  std::fflush(stderr);
  return std::move(transport).value();
}

}  // namespace

int run_mcp_server(const McpServerOptions& options) {
  log_to_stderr();
  ::signal(SIGPIPE, SIG_IGN);  // a vanished client is a failed write, not a dead process
  std::error_code error;
  if (!std::filesystem::is_directory(options.workspace, error)) {
    std::fprintf(stderr, "fapo mcp: workspace '%s' is not a directory (use --workspace DIR)\n",
                 options.workspace.string().c_str());
    return 2;
  }
  auto tools = ToolTable::make(builtin_tools(), embedded_schemas());
  if (!tools.ok()) {
    spdlog::critical("cannot build the tool table: {}", tools.error().message);
    return 1;
  }
  std::unique_ptr<Transport> transport;  // declared first: destroyed after the watcher stops
  // Before any thread exists (run manager, transport, workers), so every thread inherits the
  // blocked signals and only the watcher receives them.
  ShutdownSignals signals;
  auto workspace = Workspace::open(options.workspace);
  if (!workspace.ok()) {
    std::fprintf(stderr, "fapo mcp: %s\n", workspace.error().message.c_str());
    return 2;
  }
  // One Laboratory per tenant for the server's life: the variant store and the journal are
  // opened once and the protocol rules see every tool call of this server.
  auto laboratories = std::make_shared<LaboratoryPool>(*workspace);
  // The run manager joins its evaluation threads when the context goes, after the dispatcher.
  const ServerContext context{std::filesystem::absolute(options.workspace).lexically_normal(),
                              std::make_shared<RunManager>(std::move(workspace).value()),
                              std::move(laboratories)};

  int exit_code = 0;
  transport = open_transport(options, exit_code);
  if (!transport) return exit_code;
  signals.watch(*transport);
  DispatcherOptions dispatcher_options;
  dispatcher_options.identity = ServerIdentity{"fapo", kServerVersion, kInstructions};
  auto dispatcher = std::make_unique<Dispatcher>(*tools, context, dispatcher_options);
  install_resource_methods(*dispatcher, context);
  install_prompt_methods(*dispatcher, context);
  spdlog::info("fapo mcp {} serving workspace {} over {}", kServerVersion,
               context.workspace.string(), options.http_listen ? "HTTP" : "stdio");

  while (auto message = transport->receive()) dispatcher->handle(*message);

  spdlog::info("client gone; shutting down");
  transport->close();
  if (!dispatcher->shutdown(kShutdownGrace)) {
    // A tool that ignores cancellation must not keep the process alive after its client left.
    spdlog::warn("tool calls still running after {} s; exiting without them",
                 kShutdownGrace.count());
    spdlog::shutdown();
    std::_Exit(0);
  }
  dispatcher.reset();
  return 0;
}

}  // namespace fapo::mcp
