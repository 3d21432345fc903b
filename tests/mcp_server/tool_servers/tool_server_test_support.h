// Helpers for the tool-server tests: the scripted fake server (fake_tool_server.py, found in
// the source tree), configurations that start it, and a census of this process's open fds,
// threads and child processes, taken before and after a scenario to prove nothing leaked.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/tools/tool_servers.h"
#include "mcp_server/tool_servers/mcp_tool_provider.h"
#include "tests/test_support.h"

namespace fapo::mcp::testing {

inline std::string fake_server_path() {
  return (fapo::testing::source_dir() / "tests/mcp_server/tool_servers/fake_tool_server.py")
      .string();
}

// The fake server started through python3 on PATH, with a short startup timeout.
inline ToolServerConfig fake_config(const std::vector<std::string>& flags = {},
                                    std::vector<std::string> allowed = {"lookup", "slow", "pid"}) {
  ToolServerConfig config;
  config.name = "fake";
  config.command = "python3";
  config.args = {fake_server_path()};
  config.args.insert(config.args.end(), flags.begin(), flags.end());
  config.allowed_tools = std::move(allowed);
  config.startup_timeout_s = 5;
  config.max_restarts = 3;
  return config;
}

inline ToolServerLaunch launch_in(const fapo::testing::TempDir& dir, int workers = 1) {
  ToolServerLaunch launch;
  launch.tenant_dir = dir.path();
  launch.log_path = dir.path() / "tool_servers.log";
  launch.workers = workers;
  return launch;
}

// Short grace periods: a stuck fake is killed quickly when a test ends.
inline McpToolServerOptions fast_options() {
  McpToolServerOptions options;
  options.exit_grace = std::chrono::milliseconds(300);
  options.terminate_grace = std::chrono::milliseconds(300);
  return options;
}

inline ToolCallContext no_context() { return ToolCallContext{}; }

using fapo::testing::Census;
using fapo::testing::count_entries;
using fapo::testing::read_proc_file;
using fapo::testing::take_census;

// The census once it equals `expected`, or the last one taken after about half a second. A
// thread that was joined may still be listed in /proc for a moment after the join returns;
// something that leaked stays and makes the comparison fail.
inline Census settled_census(const Census& expected) {
  Census census = take_census();
  for (int i = 0; i < 50 && !(census == expected); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    census = take_census();
  }
  return census;
}

}  // namespace fapo::mcp::testing
