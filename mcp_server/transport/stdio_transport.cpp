#include "mcp_server/transport/stdio_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "mcp_server/protocol/json_rpc.h"

namespace fapo::mcp {
namespace {

nlohmann::json oversized_reply(std::size_t limit) {
  return make_error_response(
      std::nullopt, RpcError{kInvalidRequest,
                             "message longer than the server's limit of " + std::to_string(limit) +
                                 " bytes; send smaller arguments",
                             nullptr});
}

}  // namespace

// Every message to the client goes through here, one whole line per write under the mutex.
// Once a write fails (the client closed its end) the output is broken and later writes are
// dropped; the transport then stops receiving.
class StdioTransport::Output : public ReplyChannel {
 public:
  explicit Output(int fd) : fd_(fd) {}

  void notify(const nlohmann::json& message) override { write_line(to_wire(message)); }
  void finish(std::optional<nlohmann::json> message) override {
    if (message) write_line(to_wire(*message));
  }
  bool is_broken() const { return broken_.load(); }

 private:
  void write_line(std::string line) {
    line += '\n';
    std::lock_guard lock(mutex_);
    if (broken_.load()) return;
    std::size_t written = 0;
    while (written < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::warn("stdout closed by the client ({}); dropping further output",
                     n < 0 ? std::strerror(errno) : "short write");
        broken_.store(true);
        return;
      }
      written += static_cast<std::size_t>(n);
    }
  }

  int fd_;
  std::mutex mutex_;  // guards writes to fd_
  std::atomic<bool> broken_{false};
};

StdioTransport::StdioTransport(int in_fd, int out_fd, std::size_t max_message_bytes)
    : in_fd_(in_fd),
      max_message_bytes_(max_message_bytes),
      output_(std::make_shared<Output>(out_fd)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    spdlog::error("cannot create the stdio wake pipe: {}", std::strerror(errno));
  }
}

StdioTransport::~StdioTransport() {
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

std::unique_ptr<StdioTransport> StdioTransport::for_process(std::size_t max_message_bytes) {
  const int protocol_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    spdlog::warn("cannot move the protocol stream off fd 1 ({}); writing to stdout directly",
                 std::strerror(errno));
    return std::make_unique<StdioTransport>(STDIN_FILENO, STDOUT_FILENO, max_message_bytes);
  }
  return std::make_unique<StdioTransport>(STDIN_FILENO, protocol_fd, max_message_bytes);
}

void StdioTransport::close() {
  if (wake_pipe_[1] >= 0) {
    const char byte = 'x';
    [[maybe_unused]] ssize_t n = ::write(wake_pipe_[1], &byte, 1);
  }
}

bool StdioTransport::fill_buffer() {
  pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  while (true) {
    const int ready = ::poll(fds, wake_pipe_[0] >= 0 ? 2 : 1, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (fds[1].revents != 0) return false;  // close() was called
    char chunk[65536];
    const ssize_t n = ::read(in_fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::optional<std::string> StdioTransport::take_line() {
  const std::size_t newline = buffer_.find('\n');
  if (discarding_) {
    if (newline == std::string::npos) {
      buffer_.clear();
      return std::nullopt;
    }
    buffer_.erase(0, newline + 1);
    discarding_ = false;
    return take_line();
  }
  if (newline == std::string::npos) {
    if (buffer_.size() > max_message_bytes_) {
      // Too long to be a message we accept: drop it as it streams in, answer once.
      discarding_ = true;
      buffer_.clear();
      spdlog::warn("dropping an incoming message longer than {} bytes", max_message_bytes_);
      output_->finish(oversized_reply(max_message_bytes_));
    }
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  if (line.size() > max_message_bytes_) {
    output_->finish(oversized_reply(max_message_bytes_));
    return take_line();
  }
  return line;
}

std::optional<IncomingMessage> StdioTransport::receive() {
  while (!output_->is_broken()) {
    if (auto line = take_line()) {
      if (!line->empty() && line->back() == '\r') line->pop_back();
      if (line->find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      return IncomingMessage{std::move(*line), output_, "", false};
    }
    if (at_eof_) {
      // A last message without a trailing newline still counts.
      if (discarding_ || buffer_.find_first_not_of(" \t\r") == std::string::npos) {
        return std::nullopt;
      }
      std::string last = std::move(buffer_);
      buffer_.clear();
      return IncomingMessage{std::move(last), output_, "", false};
    }
    if (!fill_buffer()) at_eof_ = true;
  }
  return std::nullopt;
}

}  // namespace fapo::mcp
