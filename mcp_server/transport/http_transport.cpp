#include "mcp_server/transport/http_transport.h"

#include <httplib.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "mcp_server/protocol/json_rpc.h"
#include "mcp_server/protocol/mcp_types.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr char kEndpoint[] = "/mcp";
constexpr char kSessionHeader[] = "Mcp-Session-Id";
constexpr char kVersionHeader[] = "MCP-Protocol-Version";
constexpr auto kWaitSlice = std::chrono::milliseconds(200);

// The reply channel of one POST. The dispatcher fills it from any thread; the HTTP handler
// thread drains it into the response, waiting in slices so it notices a shutdown.
class HttpChannel : public ReplyChannel {
 public:
  void notify(const json& message) override {
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      events_.push_back(message);
    }
    changed_.notify_all();
  }

  void finish(std::optional<json> message) override {
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      reply_ = std::move(message);
      done_ = true;
    }
    changed_.notify_all();
  }

  // Waits up to one slice for progress; moves out the pending notifications, and the reply
  // when the channel is done. True when done.
  bool drain(std::deque<json>& events, std::optional<json>& reply) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kWaitSlice, [this] { return done_ || !events_.empty(); });
    events.swap(events_);
    events_.clear();
    if (done_) reply = reply_;
    return done_;
  }

 private:
  std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::deque<json> events_;
  std::optional<json> reply_;
  bool done_ = false;
};

// Notifications and responses need no reply; their POST is answered 202 at once.
class DiscardChannel : public ReplyChannel {
 public:
  void notify(const json&) override {}
  void finish(std::optional<json>) override {}
};

std::string new_session_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Session ids only separate clients on a loopback port; entropy failure is still a bug.
    spdlog::critical("RAND_bytes failed while creating a session id");
    std::abort();
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xF];
  }
  return id;
}

// Transport-level failures carry a JSON-RPC error body with a null id, as SDK servers do, so a
// client that reads the body learns why.
void reject(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(to_wire(make_error_response(std::nullopt, RpcError{-32000, message, nullptr})),
                  "application/json");
}

std::string sse_event(const json& message) {
  return "event: message\ndata: " + to_wire(message) + "\n\n";
}

}  // namespace

struct HttpTransport::State {
  HttpTransportOptions options;
  HostPolicy policy;
  std::string url;
  httplib::Server server;
  std::thread listener;

  std::mutex queue_mutex;  // guards queue and closed
  std::condition_variable queue_changed;
  std::deque<IncomingMessage> queue;
  bool closed = false;

  std::unique_ptr<SessionTable> sessions;  // set by start(); thread-safe itself

  bool enqueue(IncomingMessage message) {
    {
      std::lock_guard lock(queue_mutex);
      if (closed) return false;
      queue.push_back(std::move(message));
    }
    queue_changed.notify_one();
    return true;
  }

  bool is_closed() {
    std::lock_guard lock(queue_mutex);
    return closed;
  }

  // Tells the dispatcher about sessions the table ended (expired or evicted), so their state
  // and any work still running go too.
  void end_sessions(const SessionTable::Ended& ended) {
    for (const std::string& id : ended) {
      spdlog::info("HTTP session ended by the server (idle or over the limit of {})",
                   sessions->limits().max_sessions);
      IncomingMessage message;
      message.reply = std::make_shared<DiscardChannel>();
      message.session_id = id;
      message.session_ended = true;
      enqueue(std::move(message));
    }
  }

  bool check_access(const httplib::Request& req, httplib::Response& res);
  void handle_post(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& read_body);
  std::optional<std::string> read_limited_body(const httplib::Request& req,
                                               const httplib::ContentReader& read_body);
  void handle_delete(const httplib::Request& req, httplib::Response& res);
  void answer_json(const std::shared_ptr<HttpChannel>& channel, const Message& message,
                   const std::string& session_id, httplib::Response& res);
  void answer_stream(const std::shared_ptr<HttpChannel>& channel, const Message& message,
                     const std::string& session_id, std::shared_ptr<void> in_use,
                     httplib::Response& res);
};

namespace {

// Marks one request of a session as running, from begin() until this object goes: the end of
// the POST handler, or for an event stream the end of the stream (the last copy of the
// stream's callback is destroyed).
class SessionUse {
 public:
  SessionUse(SessionTable& table, std::string id) : table_(table), id_(std::move(id)) {}
  ~SessionUse() { table_.end(id_); }
  SessionUse(const SessionUse&) = delete;
  SessionUse& operator=(const SessionUse&) = delete;

 private:
  SessionTable& table_;
  std::string id_;
};

}  // namespace

bool HttpTransport::State::check_access(const httplib::Request& req, httplib::Response& res) {
  const std::string host = req.get_header_value("Host");
  const std::string origin = req.get_header_value("Origin");
  if (!is_allowed_host(policy, host)) {
    spdlog::warn("403 for Host '{}' (DNS rebinding protection)", host.substr(0, 100));
    reject(res, 403, "Forbidden: Host header '" + host.substr(0, 100) + "' is not allowed");
    return false;
  }
  if (!is_allowed_origin(origin, host)) {
    spdlog::warn("403 for Origin '{}'", origin.substr(0, 100));
    reject(res, 403, "Forbidden: Origin '" + origin.substr(0, 100) + "' is not allowed");
    return false;
  }
  if (options.bearer_token &&
      !bearer_token_matches(req.get_header_value("Authorization"), *options.bearer_token)) {
    spdlog::warn("401 for a request without the bearer token");
    res.set_header("WWW-Authenticate", "Bearer");
    reject(res, 401, "Unauthorized: send 'Authorization: Bearer <token>'");
    return false;
  }
  return true;
}

// httplib 0.11 enforces its payload limit only on bodies with a Content-Length; a chunked body
// would be buffered whatever its size. So the body is read here, and past the limit the rest
// is drained (up to a bound, so a well-behaved client still reads the 413) and dropped.
std::optional<std::string> HttpTransport::State::read_limited_body(
    const httplib::Request& req, const httplib::ContentReader& read_body) {
  // A declared length over the limit: httplib skips the body itself.
  if (req.get_header_value<std::uint64_t>("Content-Length") > options.max_body_bytes) {
    return std::nullopt;
  }
  std::string body;
  std::size_t seen = 0;
  const std::size_t drain_limit = options.max_body_bytes * 4 + (1 << 20);
  read_body([&](const char* data, std::size_t length) {
    seen += length;
    if (seen <= options.max_body_bytes) body.append(data, length);
    return seen <= drain_limit;
  });
  if (seen > options.max_body_bytes) return std::nullopt;
  return body;
}

void HttpTransport::State::handle_post(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& read_body) {
  std::optional<std::string> body = read_limited_body(req, read_body);
  if (!body) {
    res.set_header("Connection", "close");
    return reject(
        res, 413,
        "Payload Too Large: the limit is " + std::to_string(options.max_body_bytes) + " bytes");
  }
  if (!is_json_content_type(req.get_header_value("Content-Type"))) {
    return reject(res, 415, "Unsupported Media Type: Content-Type must be application/json");
  }
  if (!accepts_json_and_event_stream(req.get_header_value("Accept"))) {
    return reject(res, 406,
                  "Not Acceptable: Accept must list application/json and text/event-stream");
  }
  if (req.has_header(kVersionHeader) &&
      !is_supported_protocol_version(req.get_header_value(kVersionHeader))) {
    return reject(res, 400,
                  "Bad Request: unsupported MCP-Protocol-Version '" +
                      req.get_header_value(kVersionHeader).substr(0, 40) + "'");
  }
  DecodeResult decoded = decode_message(std::string_view(*body));
  if (auto* failure = std::get_if<DecodeFailure>(&decoded)) {
    res.status = 400;
    res.set_content(to_wire(make_error_response(failure->id, failure->error)), "application/json");
    return;
  }
  const Message& message = std::get<Message>(decoded);
  const bool is_initialize = message.kind == MessageKind::kRequest && message.method == kInitialize;
  std::string session_id;
  std::shared_ptr<SessionUse> in_use;
  if (is_initialize) {
    session_id = new_session_id();
  } else {
    session_id = req.get_header_value(kSessionHeader);
    if (session_id.empty()) {
      return reject(res, 400, "Bad Request: Mcp-Session-Id header is required (initialize first)");
    }
    SessionTable::Ended ended;
    const bool live = sessions->begin(session_id, ended);
    end_sessions(ended);
    if (!live) {
      return reject(res, 404,
                    "Not Found: unknown, ended or expired session; initialize a new one");
    }
    in_use = std::make_shared<SessionUse>(*sessions, session_id);
  }
  if (message.kind != MessageKind::kRequest) {
    if (!enqueue(IncomingMessage{*body, std::make_shared<DiscardChannel>(), session_id})) {
      return reject(res, 503, "Service Unavailable: the server is shutting down");
    }
    res.status = 202;
    return;
  }
  auto channel = std::make_shared<HttpChannel>();
  if (!enqueue(IncomingMessage{std::move(*body), channel, session_id})) {
    return reject(res, 503, "Service Unavailable: the server is shutting down");
  }
  if (!is_initialize && progress_token(message.params)) {
    answer_stream(channel, message, session_id, std::move(in_use), res);
  } else {
    answer_json(channel, message, session_id, res);
  }
}

void HttpTransport::State::answer_json(const std::shared_ptr<HttpChannel>& channel,
                                       const Message& message, const std::string& session_id,
                                       httplib::Response& res) {
  std::deque<json> ignored;  // no progress token, so no notifications are expected
  std::optional<json> reply;
  while (!channel->drain(ignored, reply)) {
    if (is_closed()) return reject(res, 503, "Service Unavailable: the server is shutting down");
  }
  if (!reply) {  // cancelled by the client: nothing to say
    res.status = 202;
    return;
  }
  if (message.method == kInitialize && reply->contains("result")) {
    SessionTable::Ended ended;
    const bool opened = sessions->open(session_id, ended);
    end_sessions(ended);
    if (!opened) {
      end_sessions({session_id});  // the dispatcher initialized it already
      return reject(res, 503,
                    "Service Unavailable: all " +
                        std::to_string(sessions->limits().max_sessions) +
                        " sessions have requests running; retry later or end a session (DELETE)");
    }
    res.set_header(kSessionHeader, session_id);
  }
  res.status = 200;
  res.set_content(to_wire(*reply), "application/json");
}

void HttpTransport::State::answer_stream(const std::shared_ptr<HttpChannel>& channel,
                                         const Message& message, const std::string& session_id,
                                         std::shared_ptr<void> in_use, httplib::Response& res) {
  const json request_id = message.id->value();
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [this, channel, request_id, session_id,
                                                        in_use = std::move(in_use)](
                                                           std::size_t, httplib::DataSink& sink) {
    std::deque<json> events;
    std::optional<json> reply;
    const bool done = channel->drain(events, reply);
    if (reply) events.push_back(*reply);
    for (const json& event : events) {
      const std::string frame = sse_event(event);
      if (!sink.is_writable() || !sink.write(frame.data(), frame.size())) {
        // The client went away: cancel its request rather than work for nobody.
        enqueue(IncomingMessage{
            to_wire(make_notification(kCancelledNotification, {{"requestId", request_id},
                                                               {"reason", "client disconnected"}})),
            std::make_shared<DiscardChannel>(), session_id});
        return false;
      }
    }
    if (done || is_closed()) sink.done();
    return true;
  });
}

void HttpTransport::State::handle_delete(const httplib::Request& req, httplib::Response& res) {
  const std::string session_id = req.get_header_value(kSessionHeader);
  if (session_id.empty()) return reject(res, 400, "Bad Request: Mcp-Session-Id header is required");
  if (!sessions->erase(session_id)) {
    return reject(res, 404, "Not Found: unknown, ended or expired session");
  }
  IncomingMessage ended;
  ended.reply = std::make_shared<DiscardChannel>();
  ended.session_id = session_id;
  ended.session_ended = true;
  enqueue(std::move(ended));
  res.status = 200;
}

HttpTransport::HttpTransport(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpTransport::~HttpTransport() {
  close();
  if (state_->listener.joinable()) state_->listener.join();
}

Result<std::unique_ptr<HttpTransport>> HttpTransport::start(const HttpTransportOptions& options) {
  const bool loopback = is_loopback_host(options.address.host);
  if (!loopback && (!options.bearer_token || options.bearer_token->empty())) {
    return make_error(ErrorCode::kInvalidInput,
                      "listening on " + options.address.host +
                          " exposes the server beyond this machine; set a bearer token "
                          "(FAPO_MCP_TOKEN) or listen on 127.0.0.1");
  }
  auto state = std::make_unique<State>();
  State* s = state.get();
  s->options = options;
  s->sessions = std::make_unique<SessionTable>(options.sessions, options.clock);
  s->server.new_task_queue = [threads = options.threads] {
    return new httplib::ThreadPool(threads);
  };
  s->server.set_payload_max_length(options.max_body_bytes);
  s->server.set_keep_alive_timeout(5);
  s->server.set_pre_routing_handler([s](const httplib::Request& req, httplib::Response& res) {
    return s->check_access(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                     : httplib::Server::HandlerResponse::Handled;
  });
  s->server.Post(kEndpoint, [s](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& read_body) {
    s->handle_post(req, res, read_body);
  });
  s->server.Delete(kEndpoint, [s](const httplib::Request& req, httplib::Response& res) {
    s->handle_delete(req, res);
  });
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST, DELETE");
    reject(res, 405, "Method Not Allowed: this server takes POST (and DELETE to end a session)");
  };
  s->server.Get(kEndpoint, not_allowed);
  s->server.Put(kEndpoint, not_allowed);
  s->server.Patch(kEndpoint, not_allowed);
  s->server.Options(kEndpoint, not_allowed);

  // "localhost" may resolve to ::1 or 127.0.0.1 depending on the resolver; bind the one the
  // printed URL names.
  const std::string host = options.address.host == "localhost" ? "127.0.0.1" : options.address.host;
  const int port =
      options.address.port == 0
          ? s->server.bind_to_any_port(host)
          : (s->server.bind_to_port(host, options.address.port) ? options.address.port : -1);
  if (port <= 0) {
    return make_error(ErrorCode::kIo, "cannot listen on " + host + ":" +
                                          std::to_string(options.address.port) +
                                          " (address in use or not available)");
  }
  s->policy = HostPolicy{static_cast<std::uint16_t>(port), loopback};
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s->url = "http://" + shown_host + ":" + std::to_string(port) + kEndpoint;
  s->listener = std::thread([s] { s->server.listen_after_bind(); });
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(state)));
}

std::uint16_t HttpTransport::port() const { return state_->policy.port; }

std::string HttpTransport::url() const { return state_->url; }

std::optional<IncomingMessage> HttpTransport::receive() {
  std::unique_lock lock(state_->queue_mutex);
  state_->queue_changed.wait(lock, [this] { return state_->closed || !state_->queue.empty(); });
  if (state_->closed) return std::nullopt;
  IncomingMessage message = std::move(state_->queue.front());
  state_->queue.pop_front();
  return message;
}

void HttpTransport::close() {
  std::deque<IncomingMessage> unhandled;
  {
    std::lock_guard lock(state_->queue_mutex);
    if (state_->closed) return;
    state_->closed = true;
    unhandled.swap(state_->queue);
  }
  state_->queue_changed.notify_all();
  for (IncomingMessage& message : unhandled) message.reply->finish(std::nullopt);
  state_->server.stop();
}

}  // namespace fapo::mcp
