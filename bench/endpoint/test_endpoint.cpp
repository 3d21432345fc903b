#include "bench/endpoint/test_endpoint.h"

// Must match how libcpp-httplib was built (pkg-config --cflags cpp-httplib).
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "engine/base/strings.h"

namespace fapo::bench {
namespace {

using nlohmann::json;

enum class Format { kOpenAi, kAnthropic };

// Text of a message's content: a string, or Anthropic-style blocks.
std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& block : content) {
      if (block.is_object() && block.value("type", "") == "text") text += block.value("text", "");
    }
  }
  return text;
}

std::string last_user_text(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) return "";
  const json& messages = body["messages"];
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->is_object() && it->value("role", "") == "user") {
      return content_text(it->value("content", json()));
    }
  }
  return "";
}

// The content of the last tool result when the conversation ends in one: an OpenAI "tool"
// message, or an Anthropic user turn holding tool_result blocks.
std::optional<std::string> trailing_tool_result(const json& body) {
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array() ||
      body["messages"].empty()) {
    return std::nullopt;
  }
  const json& last = body["messages"].back();
  if (!last.is_object()) return std::nullopt;
  if (last.value("role", "") == "tool") return content_text(last.value("content", json()));
  const json& content = last.value("content", json());
  if (last.value("role", "") != "user" || !content.is_array()) return std::nullopt;
  for (auto it = content.rbegin(); it != content.rend(); ++it) {
    if (it->is_object() && it->value("type", "") == "tool_result") {
      return content_text(it->value("content", json()));
    }
  }
  return std::nullopt;
}

// The name of the first offered tool: {"function": {"name"}} (OpenAI) or {"name"} (Anthropic).
std::optional<std::string> first_tool_name(const json& body) {
  if (!body.is_object() || !body.contains("tools") || !body["tools"].is_array() ||
      body["tools"].empty() || !body["tools"][0].is_object()) {
    return std::nullopt;
  }
  const json& tool = body["tools"][0];
  if (tool.contains("function") && tool["function"].is_object()) {
    return tool["function"].value("name", "");
  }
  return tool.value("name", "");
}

int prompt_tokens(const json& body) {
  std::size_t words = 0;
  if (body.contains("system")) words += word_count(content_text(body["system"]));
  if (body.contains("messages") && body["messages"].is_array()) {
    for (const auto& message : body["messages"]) {
      if (message.is_object()) words += word_count(content_text(message.value("content", json())));
    }
  }
  return static_cast<int>(words);
}

json openai_reply(const EndpointRequest& request, const ScriptedReply& reply) {
  json message{{"role", "assistant"}, {"content", reply.text}};
  if (!reply.tool_calls.empty()) {
    json calls = json::array();
    for (const auto& call : reply.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = calls;
  }
  int in = prompt_tokens(request.body);
  int out = static_cast<int>(word_count(reply.text));
  return {
      {"id", "chatcmpl-" + std::to_string(request.number)},
      {"object", "chat.completion"},
      {"created", 0},
      {"model", request.body.value("model", "")},
      {"choices",
       json::array({{{"index", 0}, {"message", message}, {"finish_reason", reply.finish_reason}}})},
      {"usage", {{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}}}};
}

json anthropic_reply(const EndpointRequest& request, const ScriptedReply& reply) {
  json content = json::array();
  if (!reply.text.empty()) content.push_back({{"type", "text"}, {"text", reply.text}});
  for (const auto& call : reply.tool_calls) {
    auto input = json::parse(call.arguments, nullptr, false);
    content.push_back({{"type", "tool_use"},
                       {"id", call.id},
                       {"name", call.name},
                       {"input", input.is_object() ? input : json::object()}});
  }
  std::string stop = reply.finish_reason == "length"       ? "max_tokens"
                     : reply.finish_reason == "tool_calls" ? "tool_use"
                                                           : "end_turn";
  return {{"id", "msg_" + std::to_string(request.number)},
          {"type", "message"},
          {"role", "assistant"},
          {"model", request.body.value("model", "")},
          {"content", content},
          {"stop_reason", stop},
          {"usage",
           {{"input_tokens", prompt_tokens(request.body)},
            {"output_tokens", static_cast<int>(word_count(reply.text))}}}};
}

json error_json(Format format, const std::string& type, const std::string& message) {
  if (format == Format::kAnthropic) {
    return {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
  }
  return {{"error", {{"message", message}, {"type", "invalid_request_error"}, {"code", type}}}};
}

std::string presented_key(const httplib::Request& request) {
  std::string bearer = request.get_header_value("Authorization");
  if (starts_with(bearer, "Bearer ")) return bearer.substr(7);
  return request.get_header_value("x-api-key");
}

}  // namespace

ReplyScript echo_script() {
  return [](const EndpointRequest& request) {
    return ScriptedReply{"echo: " + last_user_text(request.body), {}, "stop"};
  };
}

ReplyScript tool_loop_script() {
  return [](const EndpointRequest& request) {
    if (auto result = trailing_tool_result(request.body)) {
      return ScriptedReply{"tool said: " + *result, {}, "stop"};
    }
    if (auto tool = first_tool_name(request.body)) {
      ToolCall call{"call_" + std::to_string(request.number), *tool,
                    json{{"query", last_user_text(request.body)}}.dump()};
      return ScriptedReply{"", {call}, "tool_calls"};
    }
    return ScriptedReply{"echo: " + last_user_text(request.body), {}, "stop"};
  };
}

ReplyScript fixed_script(std::string text) {
  return [text = std::move(text)](const EndpointRequest&) {
    return ScriptedReply{text, {}, "stop"};
  };
}

// ---- the server ----

struct TestEndpoint::Impl {
  explicit Impl(TestEndpointOptions options_in)
      : options(std::move(options_in)), random(options.seed) {
    if (!options.script) options.script = echo_script();
  }

  void handle(const httplib::Request& http, httplib::Response& response, Format format);
  void note_arrival() {
    int now = ++in_flight;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  }
  EndpointRequest record(const httplib::Request& http);
  std::optional<FaultSpec> fault_for(const httplib::Request& http);
  void apply(const FaultSpec& fault, const EndpointRequest& request,
             const std::string& reply_body, httplib::Response& response, Format format);
  double draw_latency_ms();
  // Waits up to `ms`; false when the endpoint is stopping.
  bool wait_ms(double ms);

  TestEndpointOptions options;
  httplib::Server server;
  std::thread listener;
  int port = 0;

  std::atomic<std::int64_t> count{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};

  std::mutex mutex;  // guards everything below
  std::condition_variable stopping_changed;
  bool stopping = false;
  std::mt19937_64 random;
  std::deque<FaultSpec> queued_faults;
  std::map<std::string, int> marker_hits;  // request body → times a marker fault fired
  std::deque<EndpointRequest> recent;
};

bool TestEndpoint::Impl::wait_ms(double ms) {
  std::unique_lock lock(mutex);
  auto until = std::chrono::steady_clock::now() +
               std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000));
  return !stopping_changed.wait_until(lock, until, [&] { return stopping; });
}

double TestEndpoint::Impl::draw_latency_ms() {
  const Latency& latency = options.latency;
  std::lock_guard lock(mutex);
  switch (latency.kind) {
    case Latency::Kind::kFixed: return latency.a_ms;
    case Latency::Kind::kUniform:
      return std::uniform_real_distribution<double>(latency.a_ms, latency.b_ms)(random);
    case Latency::Kind::kExponential:
      if (latency.a_ms <= 0) return 0;
      return std::exponential_distribution<double>(1.0 / latency.a_ms)(random);
  }
  return 0;
}

EndpointRequest TestEndpoint::Impl::record(const httplib::Request& http) {
  EndpointRequest request;
  request.number = ++count;
  request.path = http.path;
  for (const auto& [name, value] : http.headers) request.headers[to_lower(name)] = value;
  request.body = json::parse(http.body, nullptr, /*allow_exceptions=*/false);
  if (request.body.is_discarded()) request.body = json();
  std::lock_guard lock(mutex);
  recent.push_back(request);
  while (recent.size() > options.keep_requests) recent.pop_front();
  return request;
}

std::optional<FaultSpec> TestEndpoint::Impl::fault_for(const httplib::Request& http) {
  {
    std::lock_guard lock(mutex);
    if (!queued_faults.empty()) {
      FaultSpec fault = queued_faults.front();
      queued_faults.pop_front();
      return fault;
    }
  }
  if (http.has_header("x-fault")) {
    if (auto fault = parse_fault(http.get_header_value("x-fault")); fault.ok()) return *fault;
  }
  auto start = http.body.find("[[fault:");
  if (start == std::string::npos) return std::nullopt;
  auto end = http.body.find("]]", start);
  if (end == std::string::npos) return std::nullopt;
  auto fault = parse_fault(std::string_view(http.body).substr(start + 8, end - start - 8));
  if (!fault.ok()) return std::nullopt;
  if (fault->times == 0) return *fault;
  std::lock_guard lock(mutex);
  if (++marker_hits[http.body] > fault->times) return std::nullopt;
  return *fault;
}

void TestEndpoint::Impl::handle(const httplib::Request& http, httplib::Response& response,
                                Format format) {
  note_arrival();
  EndpointRequest request = record(http);
  auto reply = [&](int status, const json& body) {
    response.status = status;
    response.set_content(body.dump(), "application/json");
  };
  if (request.body.is_null()) {
    reply(400, error_json(format, "invalid_request_error", "request body is not JSON"));
  } else if (!options.api_key.empty() && presented_key(http) != options.api_key) {
    reply(401, error_json(format, "authentication_error",
                          "Incorrect API key provided: " + presented_key(http)));
  } else if (!options.models.empty() &&
             std::find(options.models.begin(), options.models.end(),
                       request.body.value("model", "")) == options.models.end()) {
    std::string model = request.body.value("model", "");
    reply(404, error_json(format, format == Format::kOpenAi ? "model_not_found" : "not_found_error",
                          "The model '" + model + "' does not exist"));
  } else if (wait_ms(draw_latency_ms())) {
    std::optional<FaultSpec> fault = fault_for(http);
    ScriptedReply scripted = options.script(request);
    json body = format == Format::kOpenAi ? openai_reply(request, scripted)
                                          : anthropic_reply(request, scripted);
    if (fault) {
      apply(*fault, request, body.dump(), response, format);
    } else {
      reply(200, body);
    }
  }
  --in_flight;
}

void TestEndpoint::Impl::apply(const FaultSpec& fault, const EndpointRequest& request,
                               const std::string& reply_body, httplib::Response& response,
                               Format format) {
  auto key_quote = [&] {
    auto found = request.headers.find("authorization");
    if (found == request.headers.end()) found = request.headers.find("x-api-key");
    return found == request.headers.end() ? std::string() : found->second;
  };
  switch (fault.kind) {
    case Fault::kNone: response.set_content(reply_body, "application/json"); return;
    case Fault::kRateLimit:
      response.status = 429;
      if (!fault.retry_after.empty()) response.set_header("Retry-After", fault.retry_after);
      response.set_content(error_json(format, "rate_limit_exceeded", "Rate limit reached").dump(),
                           "application/json");
      return;
    case Fault::kServerError:
      response.status = 500;
      response.set_content(error_json(format, "server_error", "internal error").dump(),
                           "application/json");
      return;
    case Fault::kUnauthorized:
    case Fault::kBadRequest:
      response.status = fault.kind == Fault::kUnauthorized ? 401 : 400;
      response.set_content(
          error_json(format, "invalid_request_error", "rejected credentials " + key_quote()).dump(),
          "application/json");
      return;
    case Fault::kHang:
      if (wait_ms(fault.hang_ms)) response.set_content(reply_body, "application/json");
      return;
    case Fault::kMalformedJson:
      response.set_content(reply_body.substr(0, reply_body.size() / 2), "application/json");
      return;
    case Fault::kTruncatedBody:
      // Announces the whole body, sends half, then fails the write: the connection closes
      // mid-body.
      response.set_content_provider(
          reply_body.size(), "application/json",
          [reply_body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            if (offset > 0) return false;
            sink.write(reply_body.data(), reply_body.size() / 2);
            return true;
          });
      return;
    case Fault::kSlowStream:
      response.set_content_provider(
          reply_body.size(), "application/json",
          [this, reply_body, interval = fault.drip_interval_ms](
              std::size_t offset, std::size_t, httplib::DataSink& sink) {
            if (offset > 0 && !wait_ms(interval)) return false;
            std::size_t piece = std::min<std::size_t>(16, reply_body.size() - offset);
            sink.write(reply_body.data() + offset, piece);
            return true;
          });
      return;
  }
}

TestEndpoint::TestEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TestEndpoint::~TestEndpoint() { stop(); }

Result<std::unique_ptr<TestEndpoint>> TestEndpoint::start(TestEndpointOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* self = impl.get();
  const int threads = std::max(1, self->options.threads);
  self->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Benchmarks reuse connections for thousands of calls; the default closes them after five.
  self->server.set_keep_alive_max_count(1000000);
  self->server.set_keep_alive_timeout(2);
  self->server.set_tcp_nodelay(true);  // no delayed-ACK stalls between header and body writes
  self->server.Post("/v1/chat/completions", [self](const auto& request, auto& response) {
    self->handle(request, response, Format::kOpenAi);
  });
  self->server.Post("/v1/messages", [self](const auto& request, auto& response) {
    self->handle(request, response, Format::kAnthropic);
  });
  // The library listens with a backlog of 5: when dozens of clients connect at once the kernel
  // drops SYNs and the clients retry a second later. Listening again on the same socket raises
  // the backlog, so the socket is captured when the library creates it.
  int listening_socket = -1;
  self->server.set_socket_options([&listening_socket](int socket) {
    httplib::default_socket_options(socket);
    listening_socket = socket;
  });
  const char* host = "127.0.0.1";
  self->port =
      self->options.port == 0
          ? self->server.bind_to_any_port(host)
          : (self->server.bind_to_port(host, self->options.port) ? self->options.port : -1);
  if (self->port <= 0) {
    return make_error(ErrorCode::kIo, "test endpoint: cannot listen on 127.0.0.1:" +
                                          std::to_string(self->options.port));
  }
  if (listening_socket >= 0) ::listen(listening_socket, SOMAXCONN);
  self->listener = std::thread([self] { self->server.listen_after_bind(); });
  // httplib 0.11 has no wait_until_ready(); the listener flips is_running() once it accepts.
  for (int i = 0; i < 500 && !self->server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::unique_ptr<TestEndpoint> endpoint(new TestEndpoint(std::move(impl)));
  if (!endpoint->impl_->server.is_running()) {
    return make_error(ErrorCode::kIo, "test endpoint: the server did not start");
  }
  return endpoint;
}

void TestEndpoint::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->stopping_changed.notify_all();
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int TestEndpoint::port() const { return impl_->port; }

std::string TestEndpoint::openai_base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1";
}

std::string TestEndpoint::anthropic_base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void TestEndpoint::push_faults(const std::vector<FaultSpec>& faults) {
  std::lock_guard lock(impl_->mutex);
  impl_->queued_faults.insert(impl_->queued_faults.end(), faults.begin(), faults.end());
}

std::int64_t TestEndpoint::requests() const { return impl_->count.load(); }

int TestEndpoint::peak_in_flight() const { return impl_->peak.load(); }

std::vector<EndpointRequest> TestEndpoint::recent_requests() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->recent.begin(), impl_->recent.end()};
}

std::optional<EndpointRequest> TestEndpoint::last_request() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->recent.empty()) return std::nullopt;
  return impl_->recent.back();
}

}  // namespace fapo::bench
