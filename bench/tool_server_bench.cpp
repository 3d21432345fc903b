// Throughput of a tool server's calls under the three ways fapo can share it, against the fake
// server's "slow" tool (tests/mcp_server/tool_servers/fake_tool_server.py, run with
// --concurrent so one process can work on many calls at once):
//   shared      one process, calls multiplexed on one connection (fapo's "shared")
//   per_worker  up to `workers` processes, one call at a time each
//   serialised  one process, one call at a time (what "shared" did before multiplexing)
// `calls` calls of `latency-ms` each come from `workers` threads. Prints calls per second
// against the ideal (workers / latency), and this process's fds and threads before and after
// each mode. Measures; asserts nothing.
//   tool_server_bench [--source DIR] [--calls 400] [--workers 8] [--latency-ms 20]
// --source is the repository root holding the fake server (default: the current directory).
#include <dirent.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mcp_server/tool_servers/mcp_tool_provider.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Mode {
  const char* name;
  std::string sharing;
  bool serialise_shared = false;
};

struct Counts {
  int fds = 0;
  int threads = 0;
};

int count_entries(const char* dir_path) {
  int count = 0;
  DIR* dir = ::opendir(dir_path);
  if (dir == nullptr) return -1;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

Counts take_counts() {
  // The listing of /proc/self/fd holds its own descriptor while it is read.
  return Counts{count_entries("/proc/self/fd") - 1, count_entries("/proc/self/task")};
}

struct Outcome {
  double wall_s = 0;
  int failures = 0;
  int processes = 0;
  std::string first_error;
};

// `calls` calls of "slow" from `workers` threads; returns the wall time.
Outcome run_calls(fapo::mcp::McpToolProvider& provider, int calls, int workers, double latency_s) {
  Outcome outcome;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::mutex error_mutex;
  const json arguments{{"seconds", latency_s}};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i = next++; i < calls; i = next++) {
        fapo::ToolResult result =
            provider.call("slow", arguments, std::chrono::seconds(30), fapo::ToolCallContext{});
        if (result.ok()) continue;
        ++failures;
        std::lock_guard lock(error_mutex);
        if (outcome.first_error.empty()) outcome.first_error = result.error;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.failures = failures.load();
  outcome.processes = provider.running_processes();
  return outcome;
}

fapo::ToolServerConfig fake_config(const fs::path& fake_server) {
  fapo::ToolServerConfig config;
  config.name = "bench";
  config.command = "python3";
  config.args = {fake_server.string(), "--concurrent"};
  config.allowed_tools = {"slow"};
  config.startup_timeout_s = 10;
  return config;
}

// Runs one mode and prints its line; false when the server could not start.
bool bench_mode(const Mode& mode, const fs::path& fake_server, const fs::path& work, int calls,
                int workers, double latency_ms) {
  const double latency_s = latency_ms / 1000.0;
  const double ideal = workers / latency_s;
  Counts before = take_counts();
  Outcome outcome;
  {
    fapo::ToolServerConfig config = fake_config(fake_server);
    config.sharing = mode.sharing;
    fapo::ToolServerLaunch launch;
    launch.tenant_dir = work;
    launch.log_path = work / "tool_servers.log";
    launch.workers = workers;
    fapo::mcp::McpToolServerOptions options;
    options.serialise_shared = mode.serialise_shared;
    fapo::mcp::McpToolProvider provider(config, launch, options);
    if (provider.start_error()) {
      std::fprintf(stderr, "tool_server_bench: %s\n", provider.start_error()->c_str());
      return false;
    }
    // Untimed warm-up: overlapping calls start every process a mode will use.
    (void)run_calls(provider, workers, workers, latency_s);
    outcome = run_calls(provider, calls, workers, latency_s);
  }
  Counts after = take_counts();
  double rate = calls / outcome.wall_s;
  std::printf(
      "  %-11s %8.1f calls/s  %5.3f of ideal  wall %6.3f s  processes %d  failures %d"
      "  fds %d -> %d  threads %d -> %d\n",
      mode.name, rate, rate / ideal, outcome.wall_s, outcome.processes, outcome.failures,
      before.fds, after.fds, before.threads, after.threads);
  if (!outcome.first_error.empty()) {
    std::printf("    first failure: %s\n", outcome.first_error.c_str());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Throughput of a tool server's calls: shared (multiplexed), per_worker, serialised"};
  std::string source = ".";
  int calls = 400;
  int workers = 8;
  double latency_ms = 20;
  app.add_option("--source", source, "Repository root holding the fake tool server");
  app.add_option("--calls", calls, "calls per mode")->check(CLI::PositiveNumber);
  app.add_option("--workers", workers, "threads calling at once")->check(CLI::PositiveNumber);
  app.add_option("--latency-ms", latency_ms, "how long each call sleeps in the server")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const fs::path fake_server =
      fs::absolute(fs::path(source) / "tests/mcp_server/tool_servers/fake_tool_server.py");
  if (!fs::exists(fake_server)) {
    std::fprintf(stderr, "tool_server_bench: no fake server at %s (pass --source REPO)\n",
                 fake_server.c_str());
    return 1;
  }
  const fs::path work =
      fs::temp_directory_path() / ("fapo_tool_server_bench_" + std::to_string(::getpid()));
  fs::create_directories(work);

  const double ideal = workers / (latency_ms / 1000.0);
  std::printf("tool_server_bench: %d calls of %.0f ms from %d workers; ideal %.1f calls/s\n", calls,
              latency_ms, workers, ideal);
  const Mode modes[] = {{"shared", "shared", false},
                        {"per_worker", "per_worker", false},
                        {"serialised", "shared", true}};
  bool all_ran = true;
  for (const Mode& mode : modes) {
    all_ran = bench_mode(mode, fake_server, work, calls, workers, latency_ms) && all_ran;
  }
  std::error_code ignored;
  fs::remove_all(work, ignored);
  return all_ran ? 0 : 1;
}
