#include "mcp_server/client/stdio_client.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Error io_error(const std::string& what) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<StdioClient>> StdioClient::start(StdioClientOptions options) {
  FAPO_ASSIGN_OR_RETURN(StdioProcess process, StdioProcess::start(options));
  return std::unique_ptr<StdioClient>(new StdioClient(std::move(options), std::move(process)));
}

StdioClient::StdioClient(StdioClientOptions options, StdioProcess process)
    : options_(std::move(options)), process_(std::move(process)), lines_(options_.max_line_bytes) {}

StdioClient::~StdioClient() { shutdown(); }

void StdioClient::set_notification_handler(NotificationHandler handler) {
  on_notification_ = std::move(handler);
}

Error StdioClient::fail(RequestFailure kind, Error error) {
  failure_ = RequestFailureDetail{kind, 0, ""};
  return error;
}

StopCheck StdioClient::cancel_check() const {
  if (cancel_ == nullptr) return {};
  return [cancel = cancel_] { return cancel->load(); };
}

Result<int> StdioClient::wait_ready(int fd, short events, SteadyTime deadline) {
  auto ready = wait_for_fd(fd, events, deadline, cancel_check());
  if (ready.ok()) return ready;
  return fail(ready.error().code == ErrorCode::kCancelled ? RequestFailure::kCancelled
                                                          : RequestFailure::kIo,
              ready.error());
}

Status StdioClient::write_line(const std::string& line, SteadyTime deadline) {
  WriteReport report;
  auto written = process_.write_line(line, deadline, cancel_check(), report);
  if (!written.ok()) return fail(report.failure, written.error());
  return written;
}

Result<std::optional<std::string>> StdioClient::read_line(SteadyTime deadline) {
  if (process_.from_server() < 0) {
    return fail(RequestFailure::kExited,
                make_error(ErrorCode::kIo, "the MCP server's output is closed"));
  }
  while (true) {
    while (auto event = lines_.next()) {
      if (event->kind == LineBuffer::Event::Kind::kLine) {
        return std::optional<std::string>(std::move(event->line));
      }
      if (event->kind == LineBuffer::Event::Kind::kTooLong) {
        // The request waiting now is the one this line failed; its end is dropped later.
        return fail(
            RequestFailure::kLineTooLong,
            make_error(ErrorCode::kIo, "the MCP server sent a line longer than " +
                                           std::to_string(options_.max_line_bytes) + " bytes"));
      }
    }
    auto ready = wait_ready(process_.from_server(), POLLIN, deadline);
    if (!ready.ok()) return ready.error();
    if (*ready == 0) return std::optional<std::string>();
    char chunk[65536];
    ssize_t n = ::read(process_.from_server(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(RequestFailure::kIo, io_error("cannot read from the MCP server"));
    if (n == 0) {
      std::string why = "the MCP server closed its output";
      // The pipe closes a moment before the process becomes waitable; give it that moment.
      if (auto status = process_.reap_within(std::chrono::milliseconds(1000))) {
        why += " and " + describe_wait_status(*status);
      }
      return fail(RequestFailure::kExited, make_error(ErrorCode::kIo, why));
    }
    lines_.append(chunk, static_cast<std::size_t>(n));
  }
}

void StdioClient::handle_other(const json& message) {
  if (is_server_request(message)) {
    RequestFailureDetail kept = failure_;
    (void)write_line(method_not_found_reply(message["id"]).dump(),
                     Clock::now() + std::chrono::seconds(1));
    failure_ = kept;
    return;
  }
  if (is_notification(message) && on_notification_) on_notification_(message);
  // Anything else is a reply to a request that timed out earlier: nobody waits for it.
}

Result<json> StdioClient::request(const std::string& method, json params,
                                  std::optional<std::chrono::milliseconds> timeout) {
  failure_ = {};
  long long id = next_id_++;
  json message = request_message(id, method, std::move(params));
  auto wait = timeout.value_or(options_.reply_timeout);
  auto deadline = Clock::now() + wait;
  if (auto sent = write_line(message.dump(), deadline); !sent.ok()) {
    return sent.error().with_context("sending " + method);
  }
  while (true) {
    auto line = read_line(deadline);
    if (!line.ok() || !line->has_value()) {
      // The server may still be working on it; tell it nobody waits any more.
      RequestFailureDetail kept = failure_;
      (void)write_line(cancelled_notification(id).dump(),
                       Clock::now() + std::chrono::milliseconds(100));
      failure_ = kept;
    }
    if (!line.ok()) return line.error().with_context("waiting for the reply to " + method);
    if (!line->has_value()) {
      return fail(RequestFailure::kTimeout,
                  make_error(ErrorCode::kIo, "the MCP server did not answer " + method +
                                                 " within " + describe_wait(wait)));
    }
    if ((*line)->empty()) continue;
    json reply = json::parse(**line, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
      if (options_.skip_non_json_lines) {
        ++skipped_lines_;
        continue;
      }
      return fail(
          RequestFailure::kNotJson,
          make_error(ErrorCode::kIo, "the MCP server wrote a line that is not a JSON object: " +
                                         (*line)->substr(0, 200)));
    }
    if (!reply.contains("id") || reply.contains("method") || reply["id"] != json(id)) {
      handle_other(reply);
      continue;
    }
    failure_ = {};
    if (auto error = reply_error(reply, method, failure_)) return *error;
    return reply.value("result", json::object());
  }
}

Status StdioClient::notify(const std::string& method, json params) {
  return write_line(notification_message(method, std::move(params)).dump(),
                    Clock::now() + options_.reply_timeout);
}

Result<json> StdioClient::initialize(const std::string& client_name,
                                     const std::string& client_version,
                                     const std::string& protocol_version,
                                     std::optional<std::chrono::milliseconds> timeout) {
  FAPO_ASSIGN_OR_RETURN(
      json result,
      request("initialize", initialize_params(client_name, client_version, protocol_version),
              timeout));
  FAPO_RETURN_IF_ERROR(notify("notifications/initialized"));
  return result;
}

Result<std::vector<json>> StdioClient::list_tools(
    std::optional<std::chrono::milliseconds> timeout) {
  auto deadline = Clock::now() + timeout.value_or(options_.reply_timeout);
  return list_all_tools(
      [this](json params, std::chrono::milliseconds left) {
        return request("tools/list", std::move(params), left);
      },
      deadline);
}

Result<ToolCallResult> StdioClient::call_tool(const std::string& name, const json& arguments,
                                              std::optional<std::string> progress_token,
                                              std::optional<std::chrono::milliseconds> timeout) {
  FAPO_ASSIGN_OR_RETURN(
      json result,
      request("tools/call", tool_call_params(name, arguments, progress_token), timeout));
  return to_tool_call_result(std::move(result));
}

void StdioClient::close_input() { process_.close_pipes(); }

int StdioClient::shutdown() {
  return process_.shutdown(options_.exit_grace, options_.terminate_grace);
}

void StdioClient::kill() { process_.kill(); }

}  // namespace fapo::mcp
