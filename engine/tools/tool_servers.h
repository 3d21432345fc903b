// Starting the tools of a run. The built-in corpus search lives in the engine; external tool
// servers are started by a ToolServerFactory that the front end registers once at startup
// (fapo registers its MCP stdio client, mcp_server/tool_servers). Without a registered factory,
// a tenant's servers start as unavailable providers, each saying why, so the engine never
// needs to know how a server is spoken to.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "engine/data/tenant_config.h"
#include "engine/retrieve/bm25.h"
#include "engine/tools/tool_set.h"

namespace fapo {

// Where and how wide a run starts its servers.
struct ToolServerLaunch {
  std::filesystem::path tenant_dir;  // working directory; relative commands resolve here
  std::filesystem::path log_path;    // servers' stderr is appended here; empty discards it
  int workers = 1;                   // concurrent cases: the process count of "per_worker"
};

// Builds the provider of one declared server. It must not throw: a server that cannot start
// becomes a provider whose start_error() says why and whose tools are empty.
using ToolServerFactory =
    std::function<std::unique_ptr<ToolProvider>(const ToolServerConfig&, const ToolServerLaunch&)>;

// Process-wide; set once before any run starts (later calls replace it for later runs).
void set_tool_server_factory(ToolServerFactory factory);

// The tools of a run: the built-in search (when `tools.search` and `index` is not null) and
// every declared server. Servers start now, concurrently; the set stops them when destroyed.
std::shared_ptr<ToolSet> start_tools(const ToolsConfig& tools,
                                     std::shared_ptr<const Bm25Index> index,
                                     const ToolServerLaunch& launch);

// Whether a tenant's react steps could need tools at all (false: no server and no search).
bool declares_tools(const ToolsConfig& tools, bool has_corpus);

}  // namespace fapo
