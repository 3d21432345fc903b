// The `fapo mcp` entry point: builds the tool table, the dispatcher and the transport (stdio by
// default, Streamable HTTP with http_listen), serves until stdin closes or SIGINT/SIGTERM
// arrives, then cancels in-flight work and returns. Logs go to stderr only. Call it once per
// process, from the main thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace fapo::mcp {

struct McpServerOptions {
  std::filesystem::path workspace = ".";
  // "HOST:PORT" to serve Streamable HTTP instead of stdio; port 0 picks a free port. The URL is
  // printed to stderr as "fapo mcp listening on http://HOST:PORT/mcp".
  std::optional<std::string> http_listen;
  // Bearer token HTTP clients must send; when absent, the FAPO_MCP_TOKEN environment variable
  // is used if set. Required for a non-loopback http_listen.
  std::optional<std::string> bearer_token;
  // Largest accepted message (one stdio line or one HTTP body).
  std::size_t max_body_bytes = 4 * 1024 * 1024;
};

// Exit status: 0 after a clean shutdown, 2 for bad options (message on stderr), 1 when the
// server could not start (e.g. the port is taken).
int run_mcp_server(const McpServerOptions& options);

}  // namespace fapo::mcp
