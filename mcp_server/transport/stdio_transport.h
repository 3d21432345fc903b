// MCP over stdio: one JSON message per line in both directions. stdout carries nothing but
// protocol messages (logs go to stderr); the server ends when stdin reaches EOF. A line longer
// than the message limit is skipped and answered with an error instead of being buffered.
//
// receive() is called from one thread; close() and every write may come from any thread. Writes
// are serialised by a mutex so concurrent replies never interleave within a line.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "mcp_server/transport/transport.h"

namespace fapo::mcp {

class StdioTransport : public Transport {
 public:
  // Reads messages from `in_fd` and writes them to `out_fd`; neither is closed here.
  StdioTransport(int in_fd, int out_fd, std::size_t max_message_bytes);
  ~StdioTransport() override;
  StdioTransport(const StdioTransport&) = delete;
  StdioTransport& operator=(const StdioTransport&) = delete;

  // The process's own stdin and stdout. Moves the protocol stream to a private duplicate of
  // stdout and points file descriptor 1 at stderr, so a stray printf anywhere in the process
  // (ours or a library's) lands in the log instead of corrupting the protocol.
  static std::unique_ptr<StdioTransport> for_process(std::size_t max_message_bytes);

  std::optional<IncomingMessage> receive() override;
  void close() override;

 private:
  class Output;

  // Reads more input into buffer_; false on EOF, error or close().
  bool fill_buffer();
  // Takes the next complete line out of buffer_, if there is one.
  std::optional<std::string> take_line();

  int in_fd_;
  int wake_pipe_[2] = {-1, -1};  // close() writes here to interrupt a blocked read
  std::size_t max_message_bytes_;
  std::shared_ptr<Output> output_;

  // Touched only by the receiving thread.
  std::string buffer_;
  bool discarding_ = false;  // inside an oversized line, dropping bytes up to its newline
  bool at_eof_ = false;
};

}  // namespace fapo::mcp
