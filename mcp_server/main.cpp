// The `fapo` executable: every subcommand is wired in mcp_server/cli/.
#include "engine/tools/tool_servers.h"
#include "mcp_server/cli/cli.h"
#include "mcp_server/tool_servers/mcp_tool_provider.h"

int main(int argc, char** argv) {
  // react steps reach a tenant's tool servers over MCP stdio; the engine only sees the factory.
  fapo::set_tool_server_factory(fapo::mcp::make_mcp_tool_server);
  return fapo::cli::run(argc, argv);
}
