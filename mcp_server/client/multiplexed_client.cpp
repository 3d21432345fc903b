#include "mcp_server/client/multiplexed_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <system_error>

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Error io_error(const std::string& what) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

// One request waiting for its reply; guarded by the client's mutex_.
struct MultiplexedClient::Pending {
  std::condition_variable answered;
  bool done = false;
  json reply;                                      // the reply, when one came
  RequestFailure failure = RequestFailure::kNone;  // without a reply: why it ended
  std::string error;                               // without a reply: what to say
};

Result<std::unique_ptr<MultiplexedClient>> MultiplexedClient::start(
    StdioClientOptions options, NotificationHandler on_notification) {
  FAPO_ASSIGN_OR_RETURN(StdioProcess process, StdioProcess::start(options));
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return io_error("cannot create the MCP client's wake-up descriptor");
  std::unique_ptr<MultiplexedClient> client(new MultiplexedClient(
      std::move(options), std::move(on_notification), std::move(process), wake_fd));
  try {
    client->reader_ = std::thread([raw = client.get()] { raw->read_replies(); });
  } catch (const std::system_error& thrown) {
    client->kill("the MCP client's reader thread could not start");
    return make_error(ErrorCode::kIo,
                      std::string("cannot start the MCP client's reader thread: ") + thrown.what());
  }
  return client;
}

MultiplexedClient::MultiplexedClient(StdioClientOptions options,
                                     NotificationHandler on_notification, StdioProcess process,
                                     int wake_fd)
    : options_(std::move(options)),
      on_notification_(std::move(on_notification)),
      pid_(process.pid()),
      process_(std::move(process)),
      wake_fd_(wake_fd) {}

MultiplexedClient::~MultiplexedClient() {
  shutdown();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

// ---- the reader thread ----

void MultiplexedClient::read_replies() {
  reader_id_ = std::this_thread::get_id();
  // The thread's entry point: nothing may escape it (a handler or an allocation may throw).
  try {
    read_until_closed();
  } catch (const std::exception& thrown) {
    mark_dead(std::string("the MCP client stopped reading: ") + thrown.what());
  }
}

void MultiplexedClient::read_until_closed() {
  LineBuffer lines(options_.max_line_bytes);
  bool long_line_answered = false;  // the over-long line being dropped already failed its call
  std::vector<char> chunk(65536);
  while (true) {
    pollfd fds[2] = {{process_.from_server(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int ready = ::poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return mark_dead(io_error("cannot wait for the MCP server").message);
    if (fds[1].revents != 0) return;  // stopping: the stopper has marked the client dead
    ssize_t n = ::read(process_.from_server(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return mark_dead(io_error("cannot read from the MCP server").message);
    if (n == 0) return mark_dead("the MCP server closed its output" + exit_suffix());
    lines.append(chunk.data(), static_cast<std::size_t>(n));
    while (auto event = lines.next()) {
      if (event->kind == LineBuffer::Event::Kind::kLine) {
        handle_line(event->line);
        continue;
      }
      // An over-long line fails the call it answers, once, as soon as its id is known.
      if (event->id && !long_line_answered) {
        deliver(*event->id, nullptr, RequestFailure::kLineTooLong);
        long_line_answered = true;
      }
      if (event->kind == LineBuffer::Event::Kind::kLongLineEnded) {
        if (!long_line_answered) deliver(nullptr, nullptr, RequestFailure::kLineTooLong);
        long_line_answered = false;
      }
    }
  }
}

std::string MultiplexedClient::exit_suffix() {
  // The pipe closes a moment before the process becomes waitable: allow it a second, unless
  // the client is being stopped. The process is left for the stopper to reap.
  for (int i = 0; i < 100; ++i) {
    if (auto how = process_.peek_exit()) return " and " + *how;
    pollfd wake{wake_fd_, POLLIN, 0};
    if (::poll(&wake, 1, 10) != 0) break;
  }
  return "";
}

void MultiplexedClient::handle_line(const std::string& line) {
  if (line.empty()) return;
  json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object() ||
      (!message.contains("id") && !message.contains("method"))) {
    std::lock_guard lock(mutex_);
    ++skipped_lines_;
    return;
  }
  if (is_server_request(message)) {
    RequestFailure ignored = RequestFailure::kNone;
    (void)send(method_not_found_reply(message["id"]).dump(), Clock::now() + 1s, nullptr, ignored);
    return;
  }
  if (is_notification(message)) {
    if (on_notification_) on_notification_(message);
    return;
  }
  json id = message["id"];
  deliver(id, std::move(message), RequestFailure::kNone);
}

void MultiplexedClient::deliver(const json& id, json reply, RequestFailure failure) {
  std::lock_guard lock(mutex_);
  consecutive_timeouts_ = 0;  // whoever it was for, the server answers
  auto found = id.is_number_integer() ? pending_.find(id.get<long long>()) : pending_.end();
  if (found == pending_.end()) {
    ++dropped_replies_;  // late (its caller gave up), unknown, or too long to tell
    return;
  }
  Pending& pending = *found->second;
  pending.done = true;
  pending.reply = std::move(reply);
  pending.failure = failure;
  if (failure == RequestFailure::kLineTooLong) {
    pending.error = "the MCP server sent a line longer than " +
                    std::to_string(options_.max_line_bytes) + " bytes";
  }
  pending.answered.notify_one();
  pending_.erase(found);
}

// ---- callers ----

Status MultiplexedClient::send(const std::string& line, SteadyTime deadline,
                               const std::atomic<bool>* cancel, RequestFailure& failure) {
  auto written = write_in_turn(line, deadline, cancel, failure);
  if (written.ok()) return written;
  bool stream_intact = failure == RequestFailure::kTimeout || failure == RequestFailure::kCancelled;
  if (stream_intact) return written;
  // The pipe broke, a line was cut off half way (the server would read garbage), or the
  // client is stopping: this connection is over, for every call.
  mark_dead(written.error().message);
  failure = RequestFailure::kExited;
  return make_error(ErrorCode::kIo, death_reason());
}

Status MultiplexedClient::take_write_turn(std::optional<SteadyTime> deadline,
                                          const std::atomic<bool>* cancel,
                                          RequestFailure& failure) {
  std::unique_lock lock(mutex_);
  // Another caller's write may be stuck on a server that stopped reading: wait no longer
  // than this caller's own deadline. Sliced so a raised cancel flag is seen within 50 ms.
  while (writing_ && !(deadline && stopping_)) {
    if (cancel != nullptr && cancel->load()) {
      failure = RequestFailure::kCancelled;
      return make_error(ErrorCode::kCancelled, "cancelled while waiting for the MCP server");
    }
    auto now = Clock::now();
    if (deadline && now >= *deadline) {
      failure = RequestFailure::kTimeout;
      return make_error(ErrorCode::kIo, "the MCP server stopped reading its input");
    }
    write_turn_free_.wait_until(lock, deadline ? std::min(*deadline, now + 50ms) : now + 50ms);
  }
  if (deadline && (stopping_ || dead_)) {
    failure = RequestFailure::kExited;
    return make_error(ErrorCode::kIo, death_reason_);
  }
  writing_ = true;
  return ok_status();
}

void MultiplexedClient::end_write_turn() {
  {
    std::lock_guard lock(mutex_);
    writing_ = false;
  }
  write_turn_free_.notify_one();
}

Status MultiplexedClient::write_in_turn(const std::string& line, SteadyTime deadline,
                                        const std::atomic<bool>* cancel, RequestFailure& failure) {
  FAPO_RETURN_IF_ERROR(take_write_turn(deadline, cancel, failure));
  WriteReport report;
  Status written = ok_status();
  try {
    StopCheck stop = [this, cancel] {
      return stopping_.load() || (cancel != nullptr && cancel->load());
    };
    written = process_.write_line(line, deadline, stop, report);
  } catch (...) {
    end_write_turn();
    throw;
  }
  end_write_turn();
  if (written.ok()) return written;
  failure = report.failure;
  if (stopping_) {
    failure = RequestFailure::kExited;
  } else if (report.bytes_written > 0) {
    failure = RequestFailure::kIo;  // a partial line: the stream is out of step
    return written.error().with_context("a message was cut off after " +
                                        std::to_string(report.bytes_written) + " bytes");
  } else if ((failure == RequestFailure::kExited || failure == RequestFailure::kIo) &&
             std::this_thread::get_id() != reader_id_.load()) {
    // The reader usually sees the end of file a moment later, with the exit status: prefer
    // its account (the reader itself, answering a server request, must not wait for itself).
    std::unique_lock lock(mutex_);
    died_.wait_for(lock, 1s, [this] { return dead_; });
  }
  return written;
}

Result<json> MultiplexedClient::request(const std::string& method, json params,
                                        std::chrono::milliseconds timeout,
                                        const std::atomic<bool>* cancel,
                                        RequestFailureDetail* failure_out) {
  RequestFailureDetail unused;
  RequestFailureDetail& failure = failure_out != nullptr ? *failure_out : unused;
  failure = {};
  const auto deadline = Clock::now() + timeout;
  auto pending = std::make_shared<Pending>();
  long long id = 0;
  {
    std::lock_guard lock(mutex_);
    if (dead_) {
      failure.kind = RequestFailure::kExited;
      return make_error(ErrorCode::kIo, death_reason_).with_context("sending " + method);
    }
    id = next_id_++;
    // Registered before the write: the reply may come before the write call returns.
    pending_.emplace(id, pending);
  }
  RequestFailure write_failure = RequestFailure::kNone;
  auto sent =
      send(request_message(id, method, std::move(params)).dump(), deadline, cancel, write_failure);
  if (!sent.ok()) {
    std::lock_guard lock(mutex_);
    pending_.erase(id);
    if (write_failure == RequestFailure::kTimeout) ++consecutive_timeouts_;
    failure.kind = write_failure;
    return sent.error().with_context("sending " + method);
  }
  return await_reply(id, pending, method, timeout, deadline, cancel, failure);
}

Result<json> MultiplexedClient::await_reply(long long id, const std::shared_ptr<Pending>& pending,
                                            const std::string& method,
                                            std::chrono::milliseconds timeout, SteadyTime deadline,
                                            const std::atomic<bool>* cancel,
                                            RequestFailureDetail& failure) {
  std::unique_lock lock(mutex_);
  bool cancelled = false;
  while (!pending->done) {
    cancelled = cancel != nullptr && cancel->load();
    auto now = Clock::now();
    if (cancelled || now >= deadline) break;
    // Sliced so a raised cancel flag is seen within 50 ms.
    pending->answered.wait_until(lock,
                                 cancel != nullptr ? std::min(deadline, now + 50ms) : deadline);
  }
  if (pending->done) {
    lock.unlock();
    if (pending->failure != RequestFailure::kNone) {
      failure.kind = pending->failure;
      return make_error(ErrorCode::kIo, pending->error)
          .with_context("waiting for the reply to " + method);
    }
    if (auto error = reply_error(pending->reply, method, failure)) return *error;
    return pending->reply.value("result", json::object());
  }
  pending_.erase(id);  // its reply, if it ever comes, is dropped
  if (!cancelled) ++consecutive_timeouts_;
  lock.unlock();
  // The server may still be working on it; tell it nobody waits any more.
  RequestFailure ignored = RequestFailure::kNone;
  (void)send(cancelled_notification(id).dump(), Clock::now() + 100ms, nullptr, ignored);
  if (cancelled) {
    failure.kind = RequestFailure::kCancelled;
    return make_error(ErrorCode::kCancelled, "cancelled while waiting for the MCP server")
        .with_context("waiting for the reply to " + method);
  }
  failure.kind = RequestFailure::kTimeout;
  return make_error(ErrorCode::kIo, "the MCP server did not answer " + method + " within " +
                                        describe_wait(timeout));
}

Status MultiplexedClient::notify(const std::string& method, json params) {
  RequestFailure ignored = RequestFailure::kNone;
  return send(notification_message(method, std::move(params)).dump(),
              Clock::now() + options_.reply_timeout, nullptr, ignored);
}

Result<json> MultiplexedClient::initialize(const std::string& client_name,
                                           const std::string& client_version,
                                           const std::string& protocol_version,
                                           std::chrono::milliseconds timeout) {
  FAPO_ASSIGN_OR_RETURN(
      json result,
      request("initialize", initialize_params(client_name, client_version, protocol_version),
              timeout));
  FAPO_RETURN_IF_ERROR(notify("notifications/initialized"));
  return result;
}

Result<std::vector<json>> MultiplexedClient::list_tools(std::chrono::milliseconds timeout) {
  return list_all_tools(
      [this](json params, std::chrono::milliseconds left) {
        return request("tools/list", std::move(params), left);
      },
      Clock::now() + timeout);
}

Result<ToolCallResult> MultiplexedClient::call_tool(const std::string& name, const json& arguments,
                                                    std::chrono::milliseconds timeout,
                                                    const std::atomic<bool>* cancel,
                                                    RequestFailureDetail* failure) {
  FAPO_ASSIGN_OR_RETURN(
      json result, request("tools/call", tool_call_params(name, arguments, std::nullopt), timeout,
                           cancel, failure));
  return to_tool_call_result(std::move(result));
}

// ---- state ----

bool MultiplexedClient::alive() const {
  std::lock_guard lock(mutex_);
  return !dead_;
}

std::string MultiplexedClient::death_reason() const {
  std::lock_guard lock(mutex_);
  return death_reason_;
}

int MultiplexedClient::consecutive_timeouts() const {
  std::lock_guard lock(mutex_);
  return consecutive_timeouts_;
}

std::size_t MultiplexedClient::in_flight() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

std::size_t MultiplexedClient::skipped_lines() const {
  std::lock_guard lock(mutex_);
  return skipped_lines_;
}

std::size_t MultiplexedClient::dropped_replies() const {
  std::lock_guard lock(mutex_);
  return dropped_replies_;
}

void MultiplexedClient::mark_dead(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (dead_) return;
  dead_ = true;
  death_reason_ = reason;
  for (auto& [id, pending] : pending_) {
    pending->done = true;
    pending->failure = RequestFailure::kExited;
    pending->error = reason;
    pending->answered.notify_one();
  }
  pending_.clear();
  died_.notify_all();
}

// ---- stopping ----

void MultiplexedClient::stop_reader(const std::string& reason) {
  mark_dead(reason);
  stopping_ = true;
  if (!reader_.joinable()) return;
  std::uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // An eventfd write fails only when its counter is full, i.e. the reader is already woken.
  }
  reader_.join();
}

// Each stopper waits for the write turn (a writer gives it up within 50 ms once stopping_ is
// set), so no write is under way while the pipes close.

void MultiplexedClient::close_input() {
  std::lock_guard stop(stop_mutex_);
  stop_reader("the MCP client closed the connection");
  RequestFailure ignored = RequestFailure::kNone;
  (void)take_write_turn(std::nullopt, nullptr, ignored);
  process_.close_pipes();
  end_write_turn();
}

int MultiplexedClient::shutdown() {
  std::lock_guard stop(stop_mutex_);
  stop_reader("the MCP server was shut down");
  RequestFailure ignored = RequestFailure::kNone;
  (void)take_write_turn(std::nullopt, nullptr, ignored);
  int status = process_.shutdown(options_.exit_grace, options_.terminate_grace);
  end_write_turn();
  return status;
}

void MultiplexedClient::kill(const std::string& reason) {
  std::lock_guard stop(stop_mutex_);
  stop_reader(reason);
  RequestFailure ignored = RequestFailure::kNone;
  (void)take_write_turn(std::nullopt, nullptr, ignored);
  process_.kill();
  end_write_turn();
}

}  // namespace fapo::mcp
