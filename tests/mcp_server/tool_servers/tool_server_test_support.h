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

// What this process holds: open fds, threads, child processes and, among them, zombies.
struct Census {
  int open_fds = 0;
  int threads = 0;
  int children = 0;
  int zombies = 0;

  bool operator==(const Census&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const Census& census) {
  return out << "{fds " << census.open_fds << ", threads " << census.threads << ", children "
             << census.children << ", zombies " << census.zombies << "}";
}

inline int count_entries(const char* dir_path) {
  int count = 0;
  DIR* dir = ::opendir(dir_path);
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

// The start of a /proc file, or "" when it cannot be read (the process has exited).
inline std::string read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[1024];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

inline Census take_census() {
  Census census;
  census.open_fds = count_entries("/proc/self/fd") - 1;  // minus the one reading the listing
  census.threads = count_entries("/proc/self/task");
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return census;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    // Processes come and go while the listing is read: a vanished one reads as empty.
    std::string stat = read_proc_file(std::string("/proc/") + entry->d_name + "/stat");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    std::size_t end = stat.rfind(')');
    if (end == std::string::npos) continue;
    std::istringstream rest(stat.substr(end + 1));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != self) continue;
    ++census.children;
    if (state == 'Z') ++census.zombies;
  }
  ::closedir(proc);
  return census;
}

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
