#include "mcp_server/tool_servers/server_launch.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "tests/test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ToolServerConfig server(const std::string& command) {
  ToolServerConfig config;
  config.name = "srv";
  config.command = command;
  config.args = {"--flag", "value"};
  config.allowed_tools = {"t"};
  return config;
}

ToolServerLaunch tenant(const TempDir& dir) {
  ToolServerLaunch launch;
  launch.tenant_dir = dir.path();
  return launch;
}

void write_program(const fs::path& path) {
  fapo::testing::write_text(path, "#!/bin/sh\nexit 0\n");
  ::chmod(path.c_str(), 0755);
}

TEST_CASE("the environment is PATH, HOME and LANG plus the declared variables") {
  ::setenv("FAPO_TEST_LAUNCH_SECRET", "sk-x", 1);
  ToolServerConfig config = server("tool");
  config.env = {{"API_BASE", "http://127.0.0.1:9"}, {"LANG", "C.UTF-8"}};
  auto env = tool_server_environment(config);
  ::unsetenv("FAPO_TEST_LAUNCH_SECRET");
  CHECK(env.count("FAPO_TEST_LAUNCH_SECRET") == 0);
  CHECK(env["API_BASE"] == "http://127.0.0.1:9");
  CHECK(env["LANG"] == "C.UTF-8");  // a declared value wins
  REQUIRE(std::getenv("PATH") != nullptr);
  CHECK(env["PATH"] == std::getenv("PATH"));
  for (const auto& [name, value] : env) {
    bool expected = name == "PATH" || name == "HOME" || name == "LANG" || name == "API_BASE";
    CHECK_MESSAGE(expected, name);
  }
}

TEST_CASE("pass_env hands a variable of fapo's environment to the server by name, or refuses") {
  ::setenv("FAPO_TEST_PASSED_KEY", "sk-passed-value", 1);
  ToolServerConfig config = server("python3");
  config.pass_env = {"FAPO_TEST_PASSED_KEY"};
  auto env = tool_server_environment(config);
  CHECK(env["FAPO_TEST_PASSED_KEY"] == "sk-passed-value");
  CHECK(secret_environment(config)["FAPO_TEST_PASSED_KEY"] == "sk-passed-value");
  TempDir dir;
  CHECK(resolve_server_command(config, tenant(dir)).ok());
  ::unsetenv("FAPO_TEST_PASSED_KEY");
  auto refused = resolve_server_command(config, tenant(dir));
  REQUIRE(!refused.ok());
  CHECK(refused.error().message.find("FAPO_TEST_PASSED_KEY (pass_env) is not set") !=
        std::string::npos);
  CHECK(tool_server_environment(config).count("FAPO_TEST_PASSED_KEY") == 0);
}

TEST_CASE("a relative command is resolved in the tenant directory and must stay inside it") {
  TempDir dir;
  write_program(dir.path() / "bin" / "server");
  auto command = resolve_server_command(server("./bin/../bin/server"), tenant(dir));
  REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
  CHECK(command->argv ==
        std::vector<std::string>{(fs::absolute(dir.path()) / "bin" / "server").string(), "--flag",
                                 "value"});
  CHECK(command->working_dir == fs::absolute(dir.path()).lexically_normal());

  auto escaped = resolve_server_command(server("bin/../../server"), tenant(dir));
  REQUIRE_FALSE(escaped.ok());
  CHECK(contains(escaped.error().message, "tool server 'srv'"));
  CHECK(contains(escaped.error().message, "leaves the tenant directory"));

  auto missing = resolve_server_command(server("bin/nothing"), tenant(dir));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message, "'bin/nothing' is not an executable file"));

  fapo::testing::write_text(dir.path() / "plain.txt", "not a program");
  CHECK_FALSE(resolve_server_command(server("./plain.txt"), tenant(dir)).ok());
}

TEST_CASE("an absolute command is taken as written and a bare name is looked up on PATH") {
  TempDir dir;
  write_program(dir.path() / "tools" / "my-server");
  auto absolute =
      resolve_server_command(server((dir.path() / "tools" / "my-server").string()), tenant(dir));
  REQUIRE(absolute.ok());
  CHECK(absolute->argv[0] == (dir.path() / "tools" / "my-server").string());

  // The PATH the server will see is the one searched, declared values included.
  ToolServerConfig on_path = server("my-server");
  on_path.env = {{"PATH", "/nonexistent:" + (dir.path() / "tools").string()}};
  auto found = resolve_server_command(on_path, tenant(dir));
  REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().message));
  CHECK(found->argv[0] == (dir.path() / "tools" / "my-server").string());

  auto sh = resolve_server_command(server("sh"), tenant(dir));
  REQUIRE(sh.ok());
  CHECK(fs::path(sh->argv[0]).is_absolute());

  auto unknown = resolve_server_command(server("fapo-surely-not-a-program"), tenant(dir));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(contains(unknown.error().message,
                 "tool server 'srv': no program 'fapo-surely-not-a-program' on PATH"));
}

TEST_CASE("the log tail starts at the offset, joins lines and masks declared values") {
  TempDir dir;
  auto log = dir.path() / "servers.log";
  fapo::testing::write_text(log, "old line from another start\n");
  auto offset = log_size(log);
  CHECK(offset > 0);
  fapo::testing::write_text(log,
                            "old line from another start\nstarting\n\nfailed: key=sk-123456 x\n");
  CHECK(log_tail(log, offset, 1000, {{"KEY", "sk-123456"}, {"SHORT", "x"}}) ==
        "starting / failed: key=*** x");
  CHECK(log_tail(log, offset, 6, {}) == "456 x");
  CHECK(log_tail(log, log_size(log), 1000, {}).empty());
  CHECK(log_tail(dir.path() / "missing.log", 0, 1000, {}).empty());
  CHECK(log_tail("", 0, 1000, {}).empty());
}

}  // namespace
}  // namespace fapo::mcp
