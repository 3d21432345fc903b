// How a tenant's tool server is started: which program (resolved in the tenant directory or on
// PATH), in which directory, with which environment, and what its log says when it fails.
// The environment is minimal on purpose: PATH, HOME and LANG plus what the tenant declares,
// so the task model's API keys and every other variable of this process never reach a tool
// server. Plain functions; safe from any thread (they read, never change, this process's
// environment).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/data/tenant_config.h"
#include "engine/tools/tool_servers.h"

namespace fapo::mcp {

struct ServerCommand {
  std::vector<std::string> argv;           // argv[0] is an absolute path
  std::map<std::string, std::string> env;  // the server's whole environment
  std::filesystem::path working_dir;       // the tenant directory, absolute
};

// PATH, HOME and LANG of this process (those that are set), then config.env, which may
// override them, then the pass_env variables of this process (a missing one is left out;
// resolve_server_command refuses to start without it).
std::map<std::string, std::string> tool_server_environment(const ToolServerConfig& config);

// The values a server's stderr must never show: config.env and pass_env values.
std::map<std::string, std::string> secret_environment(const ToolServerConfig& config);

// Resolves config.command: with a '/', an absolute path is taken as written and a relative one
// is read from the tenant directory and must stay inside it; without, it is looked up on the
// PATH the server will see. kNotFound / kInvalidInput name the server and the command.
Result<ServerCommand> resolve_server_command(const ToolServerConfig& config,
                                             const ToolServerLaunch& launch);

// The size of a log file (0 when it does not exist): where a new process's output will start.
std::uintmax_t log_size(const std::filesystem::path& log);

// The last `max_bytes` a server wrote to `log` after `offset`, on one line ("a / b"), with
// every value of `masked` (the configured environment) that has 4 or more characters replaced
// by "***". Empty when there is nothing (or no log).
std::string log_tail(const std::filesystem::path& log, std::uintmax_t offset, std::size_t max_bytes,
                     const std::map<std::string, std::string>& masked);

}  // namespace fapo::mcp
