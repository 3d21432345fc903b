// The StdioClient features tool servers rely on: an exact environment and working directory,
// children holding only fds 0-2, writes and waits that honour deadlines and cancellation, and
// a too-long line that fails one request without desynchronising the next.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "mcp_server/client/stdio_client.h"
#include "tests/mcp_server/tool_servers/tool_server_test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
using nlohmann::json;
using namespace fapo::mcp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

StdioClientOptions script(const TempDir& dir, const std::string& body) {
  auto path = dir.path() / "server.sh";
  fapo::testing::write_text(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  StdioClientOptions options;
  options.argv = {path.string()};
  options.exit_grace = 200ms;
  options.terminate_grace = 200ms;
  return options;
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

TEST_CASE("the server gets exactly the given environment and working directory") {
  TempDir dir;
  auto work = dir.path() / "work";
  std::filesystem::create_directories(work);
  ::setenv("FAPO_TEST_CLIENT_SECRET", "sk-not-for-servers", 1);
  Census before = take_census();
  {
    StdioClientOptions options =
        script(dir, "env > '" + (dir.path() / "env").string() + "'\npwd > '" +
                        (dir.path() / "cwd").string() + "'\nread line\n");
    options.env = std::map<std::string, std::string>{{"ONLY", "this"}};
    options.working_dir = work;
    auto client = StdioClient::start(options);
    REQUIRE(client.ok());
    (void)(*client)->request("ping", nullptr, 2s);  // the script answers nothing; it reads
  }
  ::unsetenv("FAPO_TEST_CLIENT_SECRET");
  std::string env = fapo::testing::read_text(dir.path() / "env");
  CHECK(env.find("ONLY=this") != std::string::npos);
  CHECK(env.find("FAPO_TEST_CLIENT_SECRET") == std::string::npos);
  CHECK(env.find("HOME=") == std::string::npos);
  std::string cwd = fapo::testing::read_text(dir.path() / "cwd");
  if (!cwd.empty() && cwd.back() == '\n') cwd.pop_back();
  CHECK(std::filesystem::equivalent(cwd, work));
  CHECK(settled_census(before) == before);
}

TEST_CASE("the server holds only fds 0 to 2, even ones this process opened without O_CLOEXEC") {
  TempDir dir;
  int inheritable = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(inheritable >= 0);
  auto client = StdioClient::start(script(dir, "exec sleep 600\n"));
  REQUIRE(client.ok());
  std::string fd_dir = "/proc/" + std::to_string((*client)->pid()) + "/fd";
  // Wait (bounded) for the exec of sleep, after which the fds are the program's.
  int fds = -1;
  for (int i = 0; i < 500; ++i) {
    std::string comm = read_proc_file("/proc/" + std::to_string((*client)->pid()) + "/comm");
    if (comm.rfind("sleep", 0) == 0) {
      fds = count_entries(fd_dir.c_str());
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  CHECK_MESSAGE(fds == 3, "fds of the server: " << fds);
  (*client)->kill();
  CHECK_FALSE((*client)->running());
  ::close(inheritable);
}

// True when `pid` no longer runs (gone, or a zombie its new parent has not reaped yet).
bool has_ended(pid_t pid) {
  std::string stat = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  std::size_t end = stat.rfind(')');
  return stat.empty() ||
         (end != std::string::npos && end + 2 < stat.size() && stat[end + 2] == 'Z');
}

TEST_CASE("with its own process group, killing the server also ends what it started") {
  TempDir dir;
  auto grandchild_file = dir.path() / "grandchild";
  StdioClientOptions options =
      script(dir, "sleep 600 &\necho $! > '" + grandchild_file.string() + "'\nexec sleep 600\n");
  options.own_process_group = true;
  auto client = StdioClient::start(options);
  REQUIRE(client.ok());
  pid_t grandchild = 0;
  for (int i = 0; i < 500 && grandchild == 0; ++i) {
    std::string text = fapo::testing::read_text(grandchild_file);
    if (!text.empty() && text.back() == '\n') grandchild = std::stoi(text);
    if (grandchild == 0) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(grandchild > 0);
  CHECK_FALSE(has_ended(grandchild));
  (*client)->kill();
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    ended = has_ended(grandchild);
    if (!ended) std::this_thread::sleep_for(10ms);
  }
  CHECK(ended);
}

TEST_CASE("a write to a server that stops reading ends at the deadline") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = StdioClient::start(script(dir, "exec sleep 600\n"));
    REQUIRE(client.ok());
    json big{{"blob", std::string(4 * 1024 * 1024, 'b')}};  // far more than a pipe holds
    auto started = Clock::now();
    auto result = (*client)->request("tools/call", big, 300ms);
    CHECK(elapsed_ms(started) < 2000);
    REQUIRE_FALSE(result.ok());
    CHECK((*client)->last_failure().kind == RequestFailure::kTimeout);
    CHECK(result.error().message.find("stopped reading its input") != std::string::npos);
    (*client)->kill();
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a raised cancel flag ends the wait for a reply") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = StdioClient::start(script(dir, "exec sleep 600\n"));
    REQUIRE(client.ok());
    std::atomic<bool> cancel{false};
    (*client)->set_cancel_flag(&cancel);
    std::thread canceller([&cancel] {
      std::this_thread::sleep_for(100ms);
      cancel = true;
    });
    auto started = Clock::now();
    auto result = (*client)->request("ping", nullptr, 10s);
    canceller.join();
    CHECK(elapsed_ms(started) < 1500);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == ErrorCode::kCancelled);
    CHECK((*client)->last_failure().kind == RequestFailure::kCancelled);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a line over max_line_bytes fails its request and the next reply still arrives") {
  TempDir dir;
  Census before = take_census();
  {
    StdioClientOptions options =
        script(dir,
               "read first\n"
               "head -c 300000 /dev/zero | tr '\\000' x\necho\n"
               "read second\n"
               "echo '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"ok\":true}}'\n"
               "read rest\n");
    options.max_line_bytes = 1000;
    auto client = StdioClient::start(options);
    REQUIRE(client.ok());
    auto first = (*client)->request("ping", nullptr, 5s);
    REQUIRE_FALSE(first.ok());
    CHECK((*client)->last_failure().kind == RequestFailure::kLineTooLong);
    CHECK(first.error().message.find("longer than 1000 bytes") != std::string::npos);
    auto second = (*client)->request("ping", nullptr, 5s);
    REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().message));
    CHECK((*second)["ok"] == true);
    CHECK((*client)->last_failure().kind == RequestFailure::kNone);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("lines that are not JSON objects are skipped and counted when asked") {
  TempDir dir;
  StdioClientOptions options =
      script(dir,
             "read first\necho 'starting up...'\necho '[1,2]'\n"
             "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}'\nread rest\n");
  options.skip_non_json_lines = true;
  auto client = StdioClient::start(options);
  REQUIRE(client.ok());
  auto result = (*client)->request("ping", nullptr, 5s);
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  CHECK((*client)->skipped_lines() == 2);
}

TEST_CASE("a JSON-RPC error reply records its code and message") {
  TempDir dir;
  auto client = StdioClient::start(script(
      dir,
      "read first\n"
      "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,\"message\":\"bad\"}}'\n"
      "read rest\n"));
  REQUIRE(client.ok());
  auto result = (*client)->request("tools/call", json::object(), 5s);
  REQUIRE_FALSE(result.ok());
  CHECK((*client)->last_failure().kind == RequestFailure::kRpcError);
  CHECK((*client)->last_failure().rpc_code == -32602);
  CHECK((*client)->last_failure().rpc_message == "bad");
}

}  // namespace
}  // namespace fapo::mcp
