#include "mcp_server/server/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include "mcp_server/output/sanitize.h"
#include "mcp_server/server/tool_runner.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kSettleTime{2000};

// True for a tools/call that asks to wait for a run: such a call may hold its thread for up to
// the tools' longest wait, so it must not take a worker that quick calls need.
bool asks_to_wait(const json& params) {
  if (!params.is_object()) return false;
  auto arguments = params.find("arguments");
  if (arguments == params.end() || !arguments->is_object()) return false;
  auto wait = arguments->find("wait_seconds");
  return wait != arguments->end() && wait->is_number() && wait->get<double>() > 0;
}

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

struct Dispatcher::Session {
  bool initialized = false;
  std::string protocol_version = std::string(kLatestProtocolVersion);
  std::string client;
  // Requests queued or running on the workers, by RequestId::key(), so
  // notifications/cancelled can reach them.
  std::map<std::string, std::shared_ptr<PendingRequest>> in_flight;
};

// One request from arrival to reply. It is also the request's ProgressSink. Whatever path the
// request takes, exactly one finish() reaches the channel: the reply, nothing when the client
// withdrew the request (cancelled it or ended its session), or (from the destructor) an
// internal error when the request was dropped unanswered. A shutdown only cancels: the handler
// returns early and its reply still goes out, in case the client is still reading.
class Dispatcher::PendingRequest : public ProgressSink {
 public:
  PendingRequest(Message message, std::shared_ptr<ReplyChannel> channel, std::string session_id,
                 std::string protocol_version)
      : message_(std::move(message)),
        channel_(std::move(channel)),
        session_id_(std::move(session_id)),
        protocol_version_(std::move(protocol_version)),
        progress_token_(progress_token(message_.params)),
        cancel_(std::make_shared<CancellationToken>()),
        start_(Clock::now()) {}

  ~PendingRequest() override {
    if (!finished_.load()) {
      finish(Reply::failure(kInternalError, "the server stopped before answering this request"));
    }
  }

  // The client no longer wants the request: stop it and send no reply.
  void withdraw() {
    withdrawn_.store(true);
    cancel_->cancel();
  }

  void report(double progress, std::optional<double> total, std::string_view text) override {
    if (!progress_token_ || finished_.load() || withdrawn_.load()) return;
    {
      std::lock_guard lock(progress_mutex_);
      if (last_progress_ && progress <= *last_progress_) return;  // must increase
      last_progress_ = progress;
    }
    channel_->notify(make_notification(
        kProgressNotification,
        encode_progress_params(*progress_token_, progress, total, sanitize_text(text))));
  }

  void finish(const Reply& reply) {
    if (finished_.exchange(true)) {
      spdlog::error("{} {}: a second reply was suppressed", message_.method, id().key());
      return;
    }
    const bool withdrawn = withdrawn_.load();
    log(reply, withdrawn);
    channel_->finish(withdrawn ? std::nullopt : std::optional<json>(reply.to_message(id())));
  }

  const Message& message() const { return message_; }
  const RequestId& id() const { return *message_.id; }
  const std::string& session_id() const { return session_id_; }
  const std::string& protocol_version() const { return protocol_version_; }
  const std::shared_ptr<CancellationToken>& cancel_token() const { return cancel_; }

 private:
  void log(const Reply& reply, bool cancelled) const {
    const auto level = message_.method == kToolsCall ? spdlog::level::info : spdlog::level::debug;
    const char* outcome = cancelled ? "cancelled" : reply.is_error() ? "error" : "ok";
    spdlog::log(level, "{} {} -> {} in {:.1f} ms", message_.method, id().key(), outcome,
                elapsed_ms(start_));
  }

  const Message message_;
  const std::shared_ptr<ReplyChannel> channel_;
  const std::string session_id_;
  const std::string protocol_version_;
  const std::optional<json> progress_token_;
  const std::shared_ptr<CancellationToken> cancel_;
  const Clock::time_point start_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> withdrawn_{false};

  std::mutex progress_mutex_;  // guards last_progress_
  std::optional<double> last_progress_;
};

Dispatcher::Dispatcher(const ToolTable& tools, const ServerContext& context,
                       DispatcherOptions options)
    : tools_(tools),
      context_(context),
      options_(std::move(options)),
      workers_(options_.worker_threads),
      waiting_workers_(options_.waiting_threads) {
  register_builtin_methods();
}

Dispatcher::~Dispatcher() {
  shutdown(std::chrono::hours(1));
  workers_.stop();
  waiting_workers_.stop();
}

void Dispatcher::register_builtin_methods() {
  add_method(std::string(kPing),
             [](const json&, RequestContext&) { return Reply::success(json::object()); });
  add_method(std::string(kToolsList), [this](const json& params, RequestContext&) {
    return list_tools(tools_, params, options_.tools_page_size);
  });
  add_method(
      std::string(kToolsCall),
      [this](const json& params, RequestContext& request) {
        ToolContext context{context_, request.progress, request.cancel};
        return call_tool(tools_, params, context, ToolCallLimits{options_.result_token_budget});
      },
      Execution::kWorker);
  const auto empty_list = [](std::string key) {
    return [key](const json& params, RequestContext&) {
      auto cursor = decode_cursor_param(params);
      if (!cursor.ok()) return Reply::failure(kInvalidParams, cursor.error().message);
      return Reply::success(encode_list_result(key, json::array(), std::nullopt));
    };
  };
  add_method(std::string(kResourcesList), empty_list("resources"));
  add_method(std::string(kResourceTemplatesList), empty_list("resourceTemplates"));
  add_method(std::string(kPromptsList), empty_list("prompts"));
  add_method(std::string(kResourcesRead), [](const json&, RequestContext&) {
    return Reply::failure(kResourceNotFound,
                          "resource not found; resources/list shows what exists");
  });
  add_method(std::string(kPromptsGet), [](const json&, RequestContext&) {
    return Reply::failure(kInvalidParams, "unknown prompt; prompts/list shows what exists");
  });
}

void Dispatcher::add_method(std::string method, MethodHandler handler, Execution execution) {
  methods_[std::move(method)] = Method{std::move(handler), execution};
}

void Dispatcher::handle(const IncomingMessage& incoming) {
  if (incoming.session_ended) {
    end_session(incoming.session_id);
    if (incoming.reply) incoming.reply->finish(std::nullopt);
    return;
  }
  DecodeResult decoded = decode_message(incoming.text);
  if (auto* failure = std::get_if<DecodeFailure>(&decoded)) {
    spdlog::warn("rejected a message: {}", failure->error.message);
    incoming.reply->finish(make_error_response(failure->id, failure->error));
    return;
  }
  Message& message = std::get<Message>(decoded);
  switch (message.kind) {
    case MessageKind::kRequest:
      handle_request(std::move(message), incoming);
      return;
    case MessageKind::kNotification:
      handle_notification(message, incoming.session_id);
      break;
    case MessageKind::kResponse:
      // The server sends no requests, so there is nothing to match a response against.
      spdlog::debug("ignored a response to id {}", message.id->key());
      break;
  }
  incoming.reply->finish(std::nullopt);
}

void Dispatcher::handle_request(Message message, const IncomingMessage& incoming) {
  std::string version;
  bool initialized = false;
  {
    std::lock_guard lock(sessions_mutex_);
    auto& session = sessions_[incoming.session_id];
    if (!session) session = std::make_unique<Session>();
    initialized = session->initialized;
    version = session->protocol_version;
  }
  auto pending = std::make_shared<PendingRequest>(std::move(message), incoming.reply,
                                                  incoming.session_id, version);
  const std::string& method_name = pending->message().method;
  if (method_name == kInitialize) {
    pending->finish(initialize(pending->message().params, incoming.session_id));
    return;
  }
  if (!initialized && method_name != kPing) {
    pending->finish(Reply::failure(kInvalidRequest,
                                   "the server is not initialized: send 'initialize' before '" +
                                       sanitize_text(method_name).substr(0, 80) + "'"));
    return;
  }
  auto method = methods_.find(method_name);
  if (method == methods_.end()) {
    pending->finish(Reply::failure(
        kMethodNotFound, "method not found: '" + sanitize_text(method_name).substr(0, 80) + "'"));
    return;
  }
  if (method->second.execution == Execution::kInline) {
    run(pending, method->second);
    return;
  }
  {
    std::lock_guard lock(sessions_mutex_);
    auto& in_flight = sessions_[incoming.session_id]->in_flight;
    if (!in_flight.emplace(pending->id().key(), pending).second) {
      pending->finish(Reply::failure(
          kInvalidRequest,
          "request id " + pending->id().key() + " is already in use by a running request"));
      return;
    }
  }
  // The task owns the request; if the pool drops it at shutdown, the request's destructor
  // still answers.
  WorkerPool& pool = asks_to_wait(pending->message().params) ? waiting_workers_ : workers_;
  pool.submit([this, pending, method = method->second] {
    run(pending, method);
    forget(pending->session_id(), pending->id().key());
  });
}

void Dispatcher::run(const std::shared_ptr<PendingRequest>& pending, const Method& method) {
  RequestContext context{pending->session_id(), pending->protocol_version(), *pending,
                         *pending->cancel_token()};
  try {
    pending->finish(method.handler(pending->message().params, context));
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", pending->message().method, e.what());
    pending->finish(Reply::failure(kInternalError, "internal error: " + sanitize_text(e.what())));
  } catch (...) {
    spdlog::error("{} failed with a non-standard exception", pending->message().method);
    pending->finish(Reply::failure(kInternalError, "internal error"));
  }
}

Reply Dispatcher::initialize(const json& params, const std::string& session_id) {
  auto request = decode_initialize(params);
  if (!request.ok()) return Reply::failure(kInvalidParams, request.error().message);
  std::string version = negotiate_protocol_version(request->protocol_version);
  {
    std::lock_guard lock(sessions_mutex_);
    Session& session = *sessions_[session_id];
    if (session.initialized) {
      return Reply::failure(kInvalidRequest, "the session is already initialized");
    }
    session.initialized = true;
    session.protocol_version = version;
    session.client = sanitize_text(request->client_name + " " + request->client_version);
  }
  spdlog::info("client '{}' asked for protocol {}; speaking {}",
               sanitize_text(request->client_name), sanitize_text(request->protocol_version),
               version);
  return Reply::success(encode_initialize_result(version, options_.identity));
}

void Dispatcher::handle_notification(const Message& message, const std::string& session_id) {
  if (message.method == kCancelledNotification) {
    auto cancellation = decode_cancellation(message.params);
    if (!cancellation.ok()) {
      spdlog::warn("ignored a malformed cancellation: {}", cancellation.error().message);
      return;
    }
    std::lock_guard lock(sessions_mutex_);
    auto session = sessions_.find(session_id);
    if (session == sessions_.end()) return;
    auto request = session->second->in_flight.find(cancellation->request_id.dump());
    if (request == session->second->in_flight.end()) return;  // finished already: fine
    spdlog::info("request {} cancelled by the client: {}", request->first,
                 sanitize_text(cancellation->reason));
    request->second->withdraw();
    return;
  }
  if (message.method == kInitializedNotification) {
    spdlog::debug("client finished initialisation");
    return;
  }
  spdlog::debug("ignored notification '{}'", sanitize_text(message.method));
}

void Dispatcher::forget(const std::string& session_id, const std::string& request_key) {
  std::lock_guard lock(sessions_mutex_);
  if (auto session = sessions_.find(session_id); session != sessions_.end()) {
    session->second->in_flight.erase(request_key);
  }
}

void Dispatcher::end_session(const std::string& session_id) {
  std::lock_guard lock(sessions_mutex_);
  auto session = sessions_.find(session_id);
  if (session == sessions_.end()) return;
  for (auto& [key, pending] : session->second->in_flight) pending->withdraw();
  sessions_.erase(session);
  spdlog::info("session ended by the client");
}

bool Dispatcher::shutdown(std::chrono::milliseconds grace) {
  // Quick calls that arrived just before the client closed its end finish normally; only
  // then is long work cancelled.
  const auto start = Clock::now();
  const auto settle = std::min<std::chrono::milliseconds>(grace, kSettleTime);
  if (wait_idle(settle)) return true;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, session] : sessions_) {
      for (auto& [key, pending] : session->in_flight) pending->cancel_token()->cancel();
    }
  }
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return wait_idle(std::max(grace - spent, std::chrono::milliseconds(0)));
}

bool Dispatcher::wait_idle(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!workers_.wait_idle(timeout)) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return waiting_workers_.wait_idle(std::max(left, std::chrono::milliseconds(0)));
}

}  // namespace fapo::mcp
