// Latency of the MCP server as a client sees it: starts the built `fapo mcp` over stdio (a child
// process with pipes, exactly as Claude Code or Codex start it) in a temporary workspace holding
// a copy of the example tenant, and measures
//   - the time from spawning the process to the initialize reply (median over --starts starts),
//   - the median and p95 round trip of describe_tenant and of get_run on a finished train run
//     (over --calls calls each, one at a time).
// Measures; asserts nothing.
//   mcp_latency_bench [path/to/fapo] [--calls 200] [--starts 20] [--tenants DIR]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kTenant[] = "multihop_qa";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5)];
}

// One `fapo mcp` child speaking newline-delimited JSON-RPC over its stdin and stdout.
class StdioServer {
 public:
  StdioServer(const fs::path& binary, const fs::path& workspace) {
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) fail("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) {
      posix_spawn_file_actions_addclose(&actions, fd);
    }
    const std::string bin = binary.string();
    const std::string ws = workspace.string();
    std::vector<char*> argv{const_cast<char*>(bin.c_str()), const_cast<char*>("mcp"),
                            const_cast<char*>("--workspace"), const_cast<char*>(ws.c_str()),
                            nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      fail("cannot start " + bin);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    in_ = to_child[1];
    out_ = fdopen(from_child[0], "r");
  }

  ~StdioServer() {
    close(in_);  // EOF on stdin: the server shuts down
    if (out_ != nullptr) fclose(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  StdioServer(const StdioServer&) = delete;
  StdioServer& operator=(const StdioServer&) = delete;

  // Sends a request and returns its reply, skipping notifications.
  json request(const std::string& method, json params) {
    const int id = next_id_++;
    const std::string line =
        json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}
            .dump() +
        "\n";
    if (write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      fail("write to the server failed");
    }
    while (true) {
      json message = json::parse(read_line(), nullptr, false);
      if (message.is_object() && message.contains("id") && message["id"] == id) return message;
    }
  }

  json initialize() {
    json reply = request("initialize", {{"protocolVersion", "2025-11-25"},
                                        {"capabilities", json::object()},
                                        {"clientInfo", {{"name", "latency-bench"}, {"version", "1"}}}});
    const std::string done = R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
                             "\n";
    if (write(in_, done.data(), done.size()) < 0) fail("write to the server failed");
    return reply;
  }

  // The structured content of a successful tool call; exits on anything else.
  json call_tool(const std::string& name, json arguments) {
    json reply = request("tools/call", {{"name", name}, {"arguments", std::move(arguments)}});
    if (!reply.contains("result") || reply["result"].value("isError", false)) {
      fail(name + " failed: " + reply.dump().substr(0, 400));
    }
    return reply["result"]["structuredContent"];
  }

  [[noreturn]] static void fail(const std::string& message) {
    std::fprintf(stderr, "mcp_latency_bench: %s\n", message.c_str());
    std::exit(1);
  }

 private:
  std::string read_line() {
    std::string line;
    int c = 0;
    while ((c = std::fgetc(out_)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
    if (c == EOF && line.empty()) fail("the server closed its output");
    return line;
  }

  pid_t pid_ = -1;
  int in_ = -1;
  FILE* out_ = nullptr;
  int next_id_ = 1;
};

// The `fapo` next to this program, as CMake builds both into one directory.
fs::path default_binary() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).parent_path() / "fapo";
}

// tenants/ of the repository: from the working directory or above the binary's build dir.
std::optional<fs::path> find_tenants() {
  std::error_code ec;
  for (fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    if (fs::is_directory(dir / "tenants" / kTenant)) return dir / "tenants";
    if (dir == dir.root_path()) break;
  }
  if (fs::is_directory(fs::current_path() / "tenants" / kTenant)) return fs::current_path() / "tenants";
  return std::nullopt;
}

struct Series {
  const char* label;
  std::vector<double> ms;
};

void print(const Series& series) {
  std::printf("%-28s median %8.3f ms   p95 %8.3f ms   (n=%zu)\n", series.label,
              percentile(series.ms, 0.5), percentile(series.ms, 0.95), series.ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Latency of fapo mcp over stdio: start-up, describe_tenant, get_run");
  std::string binary = default_binary().string();
  std::string tenants;
  int calls = 200;
  int starts = 20;
  app.add_option("fapo", binary, "the fapo executable (default: next to this program)");
  app.add_option("--calls", calls, "calls of each tool")->check(CLI::PositiveNumber);
  app.add_option("--starts", starts, "server starts timed")->check(CLI::PositiveNumber);
  app.add_option("--tenants", tenants, "the repository's tenants/ directory");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  if (!fs::exists(binary)) StdioServer::fail("no fapo at '" + binary + "'; pass its path");
  std::optional<fs::path> tenants_dir =
      tenants.empty() ? find_tenants() : std::optional<fs::path>(tenants);
  if (!tenants_dir) StdioServer::fail("cannot find tenants/; pass --tenants DIR");

  char pattern[] = "/tmp/fapo-latency-XXXXXX";
  if (mkdtemp(pattern) == nullptr) StdioServer::fail("mkdtemp failed");
  const fs::path workspace = pattern;
  fs::create_directories(workspace / "tenants");
  fs::copy(*tenants_dir / kTenant, workspace / "tenants" / kTenant, fs::copy_options::recursive);

  Series startup{"initialize (spawn to reply)", {}};
  for (int i = 0; i < starts; ++i) {
    const auto start = Clock::now();
    StdioServer server(binary, workspace);
    json reply = server.initialize();
    startup.ms.push_back(ms_since(start));
    if (!reply.contains("result")) StdioServer::fail("initialize failed: " + reply.dump());
  }

  StdioServer server(binary, workspace);
  server.initialize();
  json evaluated = server.call_tool("evaluate", {{"tenant_id", kTenant}, {"wait_seconds", 50}});
  const std::string run_id = evaluated["run"]["run_id"].get<std::string>();
  json run = server.call_tool("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}});

  Series describe{"describe_tenant", {}};
  Series get_run{"get_run (finished run)", {}};
  for (int i = 0; i < calls; ++i) {
    auto start = Clock::now();
    server.call_tool("describe_tenant", {{"tenant_id", kTenant}});
    describe.ms.push_back(ms_since(start));
    start = Clock::now();
    server.call_tool("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}});
    get_run.ms.push_back(ms_since(start));
  }

  std::printf("fapo mcp over stdio: %s, tenant %s, run %s (%s)\n", binary.c_str(), kTenant,
              run_id.c_str(), run["run"].value("state", std::string("?")).c_str());
  print(startup);
  print(describe);
  print(get_run);
  std::error_code ec;
  fs::remove_all(workspace, ec);
  return 0;
}
