// `fapo mcp [--http HOST:PORT] [--token-env NAME]`: serves the MCP protocol over stdio (the
// default, for clients that start fapo themselves) or Streamable HTTP.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "mcp_server/cli/cli.h"
#include "mcp_server/server/mcp_main.h"

namespace fapo::cli {

void add_mcp_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand("mcp", "Serve the MCP protocol (stdio by default)");
  auto http = std::make_shared<std::string>();
  auto token_env = std::make_shared<std::string>("FAPO_MCP_TOKEN");
  command->add_option("--http", *http,
                      "Serve Streamable HTTP on HOST:PORT instead of stdio (e.g. 127.0.0.1:8765)");
  command->add_option("--token-env", *token_env,
                      "Environment variable holding the bearer token HTTP clients must send");
  command->callback([&options, &exit_code, http, token_env] {
    mcp::McpServerOptions server;
    server.workspace = options.workspace;
    if (!http->empty()) server.http_listen = *http;
    if (const char* token = std::getenv(token_env->c_str()); token && *token) {
      server.bearer_token = token;
    }
    exit_code = mcp::run_mcp_server(server);
  });
}

}  // namespace fapo::cli
