// MultiplexedClient on its own, against the fake server and tiny scripted servers: late replies,
// over-long lines, kill with calls waiting, a write cut off half way, and the messages a server
// sends unasked. Each scenario ends with the fds, threads and children it began with.
#include "mcp_server/client/multiplexed_client.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "mcp_server/tool_servers/server_launch.h"
#include "tests/mcp_server/tool_servers/tool_server_test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
using nlohmann::json;
using namespace fapo::mcp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

StdioClientOptions short_graces(StdioClientOptions options) {
  options.exit_grace = 300ms;
  options.terminate_grace = 300ms;
  options.own_process_group = true;
  return options;
}

// The fake server run by python3 from PATH, as the provider would start it.
StdioClientOptions fake_server(const TempDir& dir, const std::vector<std::string>& flags) {
  auto command = resolve_server_command(fake_config(flags), launch_in(dir));
  REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
  StdioClientOptions options;
  options.argv = command->argv;
  options.env = command->env;
  options.working_dir = command->working_dir;
  return short_graces(options);
}

StdioClientOptions script(const TempDir& dir, const std::string& body) {
  auto path = dir.path() / "server.sh";
  fapo::testing::write_text(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  StdioClientOptions options;
  options.argv = {path.string()};
  return short_graces(options);
}

std::unique_ptr<MultiplexedClient> started_fake(const TempDir& dir,
                                                const std::vector<std::string>& flags) {
  auto client = MultiplexedClient::start(fake_server(dir, flags));
  REQUIRE_MESSAGE(client.ok(), (client.ok() ? "" : client.error().message));
  auto initialized = (*client)->initialize("test", "1.0", "2025-11-25", 5s);
  REQUIRE_MESSAGE(initialized.ok(), (initialized.ok() ? "" : initialized.error().message));
  return std::move(*client);
}

TEST_CASE("a call that times out is cancelled on the server and its late reply dropped") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = started_fake(dir, {"--concurrent"});
    RequestFailureDetail failure;
    auto started = Clock::now();
    auto late = client->call_tool("slow", {{"seconds", 0.4}}, 100ms, nullptr, &failure);
    CHECK(elapsed_ms(started) < 350);
    REQUIRE_FALSE(late.ok());
    CHECK(failure.kind == RequestFailure::kTimeout);
    CHECK(late.error().message.find("did not answer tools/call within 100 ms") !=
          std::string::npos);
    CHECK(client->consecutive_timeouts() == 1);
    CHECK(client->in_flight() == 0);
    CHECK(client->alive());
    for (int i = 0; i < 100 && client->dropped_replies() == 0; ++i)
      std::this_thread::sleep_for(10ms);
    CHECK(client->dropped_replies() == 1);
    CHECK(client->consecutive_timeouts() == 0);  // the server does answer
    auto stats = client->call_tool("stats", json::object(), 5s);
    REQUIRE(stats.ok());
    CHECK(json::parse(stats->text)["cancelled"] == json::array({2}));  // initialize was 1
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("an over-long reply fails its own request; the connection stays in step") {
  TempDir dir;
  Census before = take_census();
  {
    StdioClientOptions options = fake_server(dir, {"--oversized", "3000000"});
    options.max_line_bytes = 1024 * 1024;
    auto client = MultiplexedClient::start(options);
    REQUIRE(client.ok());
    REQUIRE((*client)->initialize("test", "1.0", "2025-11-25", 5s).ok());
    RequestFailureDetail failure;
    auto huge = (*client)->call_tool("lookup", {{"key", "k"}}, 5s, nullptr, &failure);
    REQUIRE_FALSE(huge.ok());
    CHECK(failure.kind == RequestFailure::kLineTooLong);
    CHECK(huge.error().message.find("longer than 1048576 bytes") != std::string::npos);
    auto pid = (*client)->call_tool("pid", json::object(), 5s);
    REQUIRE(pid.ok());
    CHECK(std::stoi(pid->text) == (*client)->pid());
    CHECK((*client)->dropped_replies() == 0);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("an over-long line without an id is dropped and counted; the next reply arrives") {
  TempDir dir;
  Census before = take_census();
  {
    StdioClientOptions options =
        script(dir,
               "read first\n"
               "head -c 300000 /dev/zero | tr '\\000' x\necho\n"
               "echo 'not json at all'\n"
               "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}'\n"
               "read rest\n");
    options.max_line_bytes = 1000;
    auto client = MultiplexedClient::start(options);
    REQUIRE(client.ok());
    auto reply = (*client)->request("ping", nullptr, 5s);
    REQUIRE_MESSAGE(reply.ok(), (reply.ok() ? "" : reply.error().message));
    CHECK((*reply)["ok"] == true);
    CHECK((*client)->dropped_replies() == 1);
    CHECK((*client)->skipped_lines() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("kill fails every waiting call at once, and later calls fail without waiting") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = started_fake(dir, {"--concurrent"});
    std::vector<RequestFailureDetail> failures(3);
    std::vector<std::string> errors(3);
    std::vector<long long> waited(3);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < failures.size(); ++i) {
      threads.emplace_back([&, i] {
        auto started = Clock::now();
        auto result = client->call_tool("slow", {{"seconds", 10}}, 8s, nullptr, &failures[i]);
        waited[i] = elapsed_ms(started);
        if (!result.ok()) errors[i] = result.error().message;
      });
    }
    for (int i = 0; i < 200 && client->in_flight() < 3; ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(client->in_flight() == 3);
    client->kill("stopped by the test");
    for (std::thread& thread : threads) thread.join();
    for (std::size_t i = 0; i < failures.size(); ++i) {
      CAPTURE(i);
      CHECK(failures[i].kind == RequestFailure::kExited);
      CHECK(errors[i].find("stopped by the test") != std::string::npos);
      CHECK(waited[i] < 2000);
    }
    CHECK_FALSE(client->alive());
    CHECK(client->death_reason() == "stopped by the test");
    RequestFailureDetail after;
    auto started = Clock::now();
    CHECK_FALSE(client->call_tool("pid", json::object(), 5s, nullptr, &after).ok());
    CHECK(after.kind == RequestFailure::kExited);
    CHECK(elapsed_ms(started) < 100);
    CHECK(take_census().children == before.children);  // killed and reaped already
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a request cut off half way by a server that stops reading ends the connection") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = MultiplexedClient::start(script(dir, "exec sleep 600\n"));
    REQUIRE(client.ok());
    json big{{"blob", std::string(4 * 1024 * 1024, 'b')}};  // far more than a pipe holds
    RequestFailureDetail failure;
    auto started = Clock::now();
    auto result = (*client)->request("tools/call", big, 300ms, nullptr, &failure);
    CHECK(elapsed_ms(started) < 2000);
    REQUIRE_FALSE(result.ok());
    // The server would read the rest as garbage: nothing more can be sent on this pipe.
    CHECK(failure.kind == RequestFailure::kExited);
    CHECK_FALSE((*client)->alive());
    CHECK((*client)->death_reason().find("cut off") != std::string::npos);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("cancellation ends one wait; the connection keeps serving") {
  TempDir dir;
  Census before = take_census();
  {
    auto client = started_fake(dir, {"--concurrent"});
    std::atomic<bool> cancel{false};
    std::thread canceller([&cancel] {
      std::this_thread::sleep_for(150ms);
      cancel = true;
    });
    RequestFailureDetail failure;
    auto started = Clock::now();
    auto result = client->call_tool("slow", {{"seconds", 10}}, 8s, &cancel, &failure);
    canceller.join();
    CHECK(elapsed_ms(started) < 1000);
    REQUIRE_FALSE(result.ok());
    CHECK(failure.kind == RequestFailure::kCancelled);
    CHECK(result.error().code == ErrorCode::kCancelled);
    CHECK(client->consecutive_timeouts() == 0);  // a cancellation is not a timeout
    CHECK(client->call_tool("pid", json::object(), 5s).ok());
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("server requests are refused and notifications handed over on the reader thread") {
  TempDir dir;
  auto seen = dir.path() / "seen";
  Census before = take_census();
  {
    std::atomic<int> notifications{0};
    std::atomic<bool> on_caller_thread{false};
    const auto caller = std::this_thread::get_id();
    auto client = MultiplexedClient::start(
        script(dir,
               "read line\n"
               "echo '{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}'\n"
               "echo '{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"roots/list\"}'\n"
               "read reply\necho \"$reply\" > '" +
                   seen.string() +
                   "'\n"
                   "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}'\n"
                   "read rest\n"),
        [&](const json&) {
          ++notifications;
          if (std::this_thread::get_id() == caller) on_caller_thread = true;
        });
    REQUIRE(client.ok());
    auto result = (*client)->request("ping", nullptr, 5s);
    REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
    CHECK((*result)["ok"] == true);
    CHECK(notifications == 1);
    CHECK_FALSE(on_caller_thread);
    json reply = json::parse(fapo::testing::read_text(seen));
    CHECK(reply["id"] == "s1");
    CHECK(reply["error"]["code"] == -32601);
  }
  CHECK(settled_census(before) == before);
}

}  // namespace
}  // namespace fapo::mcp
