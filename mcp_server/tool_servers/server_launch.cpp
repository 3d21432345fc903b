#include "mcp_server/tool_servers/server_launch.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "engine/base/strings.h"

namespace fapo::mcp {
namespace {

namespace fs = std::filesystem;

// Shorter values ("1", "yes") are not secrets, and masking them would garble the whole tail.
constexpr std::size_t kShortestMasked = 4;

bool is_executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

std::string server_label(const ToolServerConfig& config) {
  return "tool server '" + config.name + "'";
}

Result<fs::path> resolve_in_tenant(const ToolServerConfig& config, const fs::path& tenant_dir) {
  fs::path given(config.command);
  if (given.is_absolute()) return given.lexically_normal();
  fs::path resolved = (tenant_dir / given).lexically_normal();
  fs::path inside = resolved.lexically_relative(tenant_dir);
  if (inside.empty() || *inside.begin() == "..") {
    return make_error(ErrorCode::kInvalidInput,
                      server_label(config) + ": command '" + config.command +
                          "' leaves the tenant directory " + tenant_dir.string() +
                          " (use an absolute path for a program outside it)");
  }
  return resolved;
}

// Looks `name` up on the PATH the server will see, as execvp would; relative PATH entries
// mean directories under the tenant directory, the server's working directory.
Result<fs::path> resolve_on_path(const ToolServerConfig& config, const std::string& path_value,
                                 const fs::path& tenant_dir) {
  for (const std::string& entry : split(path_value, ':')) {
    if (entry.empty()) continue;
    fs::path dir(entry);
    fs::path candidate = (dir.is_absolute() ? dir : tenant_dir / dir) / config.command;
    if (is_executable_file(candidate)) return candidate.lexically_normal();
  }
  return make_error(ErrorCode::kNotFound,
                    server_label(config) + ": no program '" + config.command + "' on PATH");
}

}  // namespace

std::map<std::string, std::string> tool_server_environment(const ToolServerConfig& config) {
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  for (const auto& [name, value] : config.env) env[name] = value;
  for (const std::string& name : config.pass_env) {
    if (const char* value = std::getenv(name.c_str())) env[name] = value;
  }
  return env;
}

std::map<std::string, std::string> secret_environment(const ToolServerConfig& config) {
  std::map<std::string, std::string> secrets = config.env;
  for (const std::string& name : config.pass_env) {
    if (const char* value = std::getenv(name.c_str())) secrets[name] = value;
  }
  return secrets;
}

Result<ServerCommand> resolve_server_command(const ToolServerConfig& config,
                                             const ToolServerLaunch& launch) {
  std::error_code error;
  fs::path tenant_dir = fs::absolute(launch.tenant_dir, error).lexically_normal();
  if (error || !fs::is_directory(tenant_dir, error)) {
    return make_error(ErrorCode::kNotFound, server_label(config) + ": the tenant directory " +
                                                tenant_dir.string() + " does not exist");
  }
  for (const std::string& name : config.pass_env) {
    if (std::getenv(name.c_str()) == nullptr) {
      return make_error(ErrorCode::kNotFound,
                        server_label(config) + ": environment variable " + name +
                            " (pass_env) is not set in fapo's environment");
    }
  }
  ServerCommand command;
  command.env = tool_server_environment(config);
  command.working_dir = tenant_dir;
  fs::path program;
  if (config.command.find('/') != std::string::npos) {
    FAPO_ASSIGN_OR_RETURN(program, resolve_in_tenant(config, tenant_dir));
    if (!is_executable_file(program)) {
      return make_error(ErrorCode::kNotFound, server_label(config) + ": command '" +
                                                  config.command +
                                                  "' is not an executable "
                                                  "file (" +
                                                  program.string() + ")");
    }
  } else {
    auto path_value = command.env.find("PATH");
    FAPO_ASSIGN_OR_RETURN(program, resolve_on_path(config,
                                                   path_value == command.env.end()
                                                       ? std::string("/usr/local/bin:/usr/bin:/bin")
                                                       : path_value->second,
                                                   tenant_dir));
  }
  command.argv.push_back(program.string());
  command.argv.insert(command.argv.end(), config.args.begin(), config.args.end());
  return command;
}

std::uintmax_t log_size(const std::filesystem::path& log) {
  std::error_code error;
  if (log.empty()) return 0;
  std::uintmax_t size = fs::file_size(log, error);
  return error ? 0 : size;
}

std::string log_tail(const std::filesystem::path& log, std::uintmax_t offset, std::size_t max_bytes,
                     const std::map<std::string, std::string>& masked) {
  std::uintmax_t size = log_size(log);
  if (size <= offset) return "";
  // Read a little more than kept, so a value cut in half at the start is still masked whole.
  std::size_t longest = 0;
  for (const auto& [name, value] : masked) longest = std::max(longest, value.size());
  std::uintmax_t wanted = max_bytes + longest;
  std::uintmax_t from = std::max<std::uintmax_t>(offset, size > wanted ? size - wanted : 0);
  std::ifstream in(log, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(static_cast<std::size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  for (const auto& [name, value] : masked) {
    if (value.size() < kShortestMasked) continue;
    for (std::size_t at = text.find(value); at != std::string::npos;
         at = text.find(value, at + 3)) {
      text.replace(at, value.size(), "***");
    }
  }
  if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
  // Start on a character boundary when the cut fell inside a UTF-8 sequence.
  std::size_t start = 0;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  text.erase(0, start);
  std::vector<std::string> lines;
  for (const std::string& line : split(text, '\n')) {
    if (!trim(line).empty()) lines.push_back(trim(line));
  }
  return join(lines, " / ");
}

}  // namespace fapo::mcp
