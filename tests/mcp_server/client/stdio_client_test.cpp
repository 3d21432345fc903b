// Drives the built `fapo mcp` (and a few tiny scripted servers) through StdioClient.
#include "mcp_server/client/stdio_client.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <set>

#include "tests/test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using fapo::testing::TempDir;

StdioClientOptions fapo_server(const TempDir& workspace) {
  StdioClientOptions options;
  options.argv = {fapo::testing::fapo_binary().string(), "mcp", "--workspace",
                  workspace.path().string()};
  options.stderr_path = workspace.path() / "server.log";
  options.reply_timeout = std::chrono::seconds(60);
  return options;
}

// A shell script standing in for a server, so odd but legal behaviour can be scripted.
StdioClientOptions script_server(const TempDir& dir, const std::string& body) {
  auto path = dir.path() / "server.sh";
  fapo::testing::write_text(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  StdioClientOptions options;
  options.argv = {path.string()};
  return options;
}

// True when `pid` is neither running nor a zombie waiting to be reaped by this process.
bool is_gone(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) < 0 && errno == ECHILD && ::kill(pid, 0) != 0;
}

TEST_CASE("initialize gets fapo's identity and the protocol version the client asked for") {
  TempDir workspace;
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE_MESSAGE(client.ok(), (client.ok() ? "" : client.error().message));
  auto result = (*client)->initialize("stdio-client-test", "1.0", "2025-06-18");
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  CHECK((*result)["serverInfo"]["name"] == "fapo");
  CHECK((*result)["protocolVersion"] == "2025-06-18");
  CHECK((*result)["capabilities"].contains("tools"));
}

TEST_CASE("tools/list names the evaluation tools with their input schemas") {
  TempDir workspace;
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("stdio-client-test", "1.0").ok());
  auto listed = (*client)->list_tools();
  REQUIRE_MESSAGE(listed.ok(), (listed.ok() ? "" : listed.error().message));
  std::set<std::string> names;
  for (const json& tool : *listed) {
    names.insert(tool["name"].get<std::string>());
    CHECK(tool["inputSchema"]["type"] == "object");
  }
  for (const char* name : {"evaluate", "get_run", "list_cases", "get_case", "budget"}) {
    CHECK_MESSAGE(names.count(name) == 1, name);
  }
}

TEST_CASE("an unknown tool is a JSON-RPC error naming the method and the code") {
  TempDir workspace;
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("stdio-client-test", "1.0").ok());
  auto result = (*client)->call_tool("no_such_tool", json::object());
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ErrorCode::kInvalidInput);
  CHECK(result.error().message.find("tools/call") != std::string::npos);
  CHECK(result.error().message.find("-32602") != std::string::npos);
  auto method = (*client)->request("no/such/method");
  REQUIRE_FALSE(method.ok());
  CHECK(method.error().message.find("-32601") != std::string::npos);
}

TEST_CASE("a tool refusing its arguments is a tool result with isError and the reason") {
  TempDir workspace;
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("stdio-client-test", "1.0").ok());
  auto result = (*client)->call_tool("get_run", {{"tenant_id", "nobody"}});
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  CHECK(result->is_error);
  CHECK(result->text.find("run_id") != std::string::npos);
}

TEST_CASE("progress notifications reach the handler before the tool's reply") {
  TempDir workspace;
  fapo::testing::copy_tenant("multihop_qa", workspace.path());
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("stdio-client-test", "1.0").ok());
  std::vector<json> progress;
  (*client)->set_notification_handler([&](const json& message) {
    if (message["method"] == "notifications/progress") progress.push_back(message["params"]);
  });
  auto result = (*client)->call_tool(
      "evaluate", {{"tenant_id", "multihop_qa"}, {"split", "train"}, {"wait_seconds", 50}},
      "evaluation-1");
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  REQUIRE_FALSE(result->is_error);
  CHECK(result->structured["run"]["state"] == "complete");
  REQUIRE_FALSE(progress.empty());
  CHECK(progress.front()["progressToken"] == "evaluation-1");
  CHECK(progress.back()["progress"] == progress.back()["total"]);
}

TEST_CASE("shutdown closes stdin, the server exits 0 and no child process is left") {
  TempDir workspace;
  auto client = StdioClient::start(fapo_server(workspace));
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("stdio-client-test", "1.0").ok());
  pid_t pid = (*client)->pid();
  CHECK((*client)->shutdown() == 0);
  CHECK_FALSE((*client)->running());
  CHECK(is_gone(pid));
  CHECK((*client)->shutdown() == 0);  // idempotent
}

TEST_CASE("a server that ignores the end of its input is terminated and reaped") {
  TempDir dir;
  auto options = script_server(dir, "trap '' TERM\nexec sleep 600\n");
  options.exit_grace = std::chrono::milliseconds(50);
  options.terminate_grace = std::chrono::milliseconds(50);
  auto client = StdioClient::start(options);
  REQUIRE(client.ok());
  pid_t pid = (*client)->pid();
  CHECK((*client)->shutdown() == -1);  // ended by a signal
  CHECK(is_gone(pid));
}

TEST_CASE("a server that does not answer in time is reported with the method and the wait") {
  TempDir dir;
  auto options = script_server(dir, "exec sleep 600\n");
  options.reply_timeout = std::chrono::milliseconds(100);
  options.exit_grace = std::chrono::milliseconds(50);
  auto client = StdioClient::start(options);
  REQUIRE(client.ok());
  auto result = (*client)->request("ping");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ErrorCode::kIo);
  CHECK(result.error().message.find("did not answer ping") != std::string::npos);
}

TEST_CASE("a server that exits is reported with its exit status") {
  TempDir dir;
  auto client = StdioClient::start(script_server(dir, "read line\nexit 3\n"));
  REQUIRE(client.ok());
  auto result = (*client)->request("ping");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ErrorCode::kIo);
  CHECK(result.error().message.find("exited with status 3") != std::string::npos);
}

TEST_CASE("server requests are refused and notifications handled while a reply is awaited") {
  TempDir dir;
  auto seen = dir.path() / "seen";
  auto client = StdioClient::start(script_server(
      dir, "read line\n"
           "echo '{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}'\n"
           "echo '{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"roots/list\"}'\n"
           "read reply\necho \"$reply\" > '" + seen.string() + "'\n"
           "echo '{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}'\n"
           "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}'\n"
           "read rest\n"));
  REQUIRE(client.ok());
  int notifications = 0;
  (*client)->set_notification_handler([&](const json&) { ++notifications; });
  auto result = (*client)->request("ping");
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  CHECK((*result)["ok"] == true);
  CHECK(notifications == 1);
  json reply = json::parse(fapo::testing::read_text(seen));
  CHECK(reply["id"] == "s1");
  CHECK(reply["error"]["code"] == -32601);
}

TEST_CASE("tools/list follows nextCursor until the last page") {
  TempDir dir;
  auto client = StdioClient::start(script_server(
      dir, "read first\n"
           "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"}],"
           "\"nextCursor\":\"page2\"}}'\n"
           "read second\necho \"$second\" > '" + (dir.path() / "second").string() + "'\n"
           "echo '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"b\"}]}}'\n"
           "read rest\n"));
  REQUIRE(client.ok());
  auto tools = (*client)->list_tools();
  REQUIRE_MESSAGE(tools.ok(), (tools.ok() ? "" : tools.error().message));
  REQUIRE(tools->size() == 2);
  CHECK((*tools)[0]["name"] == "a");
  CHECK((*tools)[1]["name"] == "b");
  json second = json::parse(fapo::testing::read_text(dir.path() / "second"));
  CHECK(second["params"]["cursor"] == "page2");
}

TEST_CASE("a program that cannot be executed is an error naming it") {
  StdioClientOptions options;
  options.argv = {"/nonexistent/fapo-server"};
  auto client = StdioClient::start(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.error().message.find("/nonexistent/fapo-server") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
