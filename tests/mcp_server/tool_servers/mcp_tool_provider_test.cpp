// Drives McpToolProvider against the scripted fake server: starting, listing, calling, each
// way a server fails, and the sharing modes. Every scenario ends with the same open fds and
// child processes as it began with (no leaked pipe, no zombie).
#include "mcp_server/tool_servers/mcp_tool_provider.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "tests/mcp_server/tool_servers/tool_server_test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
using nlohmann::json;
using namespace fapo::mcp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> tool_names(const ToolProvider& provider) {
  std::vector<std::string> names;
  for (const ToolDefinition& tool : provider.tools()) names.push_back(tool.name);
  return names;
}

ToolResult call(McpToolProvider& provider, const std::string& tool, json arguments = json::object(),
                std::chrono::milliseconds timeout = 5s) {
  return provider.call(tool, arguments, timeout, no_context());
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

TEST_CASE("starts the server, keeps the allowed tools in order and calls one") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({}, {"pid", "lookup"}), launch_in(dir), fast_options());
    REQUIRE_MESSAGE(!provider.start_error(), provider.start_error().value_or(""));
    CHECK(provider.name() == "fake");
    CHECK(tool_names(provider) == std::vector<std::string>{"pid", "lookup"});
    CHECK(provider.warnings().empty());
    CHECK(provider.running_processes() == 1);
    CHECK(take_census().children == before.children + 1);
    ToolResult result = call(provider, "lookup", {{"key", "orvell bridge"}});
    CHECK(result.ok());
    CHECK(result.content == "value of orvell bridge");
    CHECK(result.error.empty());
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("converts schemas, warns about missing allowed tools and refuses others") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({}, {"lookup", "bare", "vanished"}), launch_in(dir),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    REQUIRE(tool_names(provider) == std::vector<std::string>{"lookup", "bare"});
    const json& lookup = provider.tools()[0].parameters;
    CHECK_FALSE(lookup.contains("$schema"));
    CHECK(lookup["properties"]["key"]["type"] == "string");
    CHECK(lookup["required"] == json::array({"key"}));
    CHECK(provider.tools()[0].description == "Looks a key up.");
    CHECK(provider.tools()[1].parameters == json{{"type", "object"}});
    REQUIRE(provider.warnings().size() == 1);
    CHECK(contains(provider.warnings()[0], "'vanished'"));
    CHECK(provider.allowed_tools() == std::vector<std::string>{"lookup", "bare", "vanished"});

    ToolResult secret = call(provider, "secret");
    CHECK(secret.error_kind == ToolErrorKind::kPermission);
    CHECK(contains(secret.error, "not among the tenant's allowed tools"));
    ToolResult vanished = call(provider, "vanished");
    CHECK(vanished.error_kind == ToolErrorKind::kUnknownTool);
    CHECK(call(provider, "bare").content == "bare ok");
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a server offering none of the allowed tools fails to start, listing what it has") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({}, {"weather"}), launch_in(dir), fast_options());
    REQUIRE(provider.start_error());
    CHECK(contains(*provider.start_error(), "tool server 'fake' offers none of the allowed tools"));
    CHECK(contains(*provider.start_error(), "lookup, slow"));
    CHECK(provider.tools().empty());
    CHECK(provider.running_processes() == 0);
    ToolResult result = call(provider, "weather");
    CHECK(result.error_kind == ToolErrorKind::kOther);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a command that cannot be found or leaves the tenant directory fails to start") {
  TempDir dir;
  Census before = take_census();
  {
    ToolServerConfig missing = fake_config();
    missing.command = "fapo-no-such-program";
    McpToolProvider provider(missing, launch_in(dir), fast_options());
    REQUIRE(provider.start_error());
    CHECK(contains(*provider.start_error(), "tool server 'fake'"));
    CHECK(contains(*provider.start_error(), "no program 'fapo-no-such-program' on PATH"));
    CHECK(provider.tools().empty());
    CHECK(provider.allowed_tools() == std::vector<std::string>{"lookup", "slow", "pid"});
    ToolResult result = call(provider, "lookup", {{"key", "k"}});
    CHECK(result.error_kind == ToolErrorKind::kOther);
    CHECK(result.error == *provider.start_error());

    ToolServerConfig outside = fake_config();
    outside.command = "../elsewhere/server";
    McpToolProvider escaped(outside, launch_in(dir), fast_options());
    REQUIRE(escaped.start_error());
    CHECK(contains(*escaped.start_error(), "leaves the tenant directory"));
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a relative command runs in the tenant directory with only the minimal environment") {
  TempDir dir;
  auto script = dir.path() / "bin" / "server.sh";
  fapo::testing::write_text(script,
                            "#!/bin/sh\nexec python3 '" + fake_server_path() + "' \"$@\"\n");
  ::chmod(script.c_str(), 0755);
  ::setenv("FAPO_TEST_PROVIDER_KEY", "sk-must-not-leak", 1);
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({}, {"env"});
    config.command = "bin/server.sh";
    config.args.clear();
    config.env = {{"FAKE_TOKEN", "tok-12345"}};
    McpToolProvider provider(config, launch_in(dir), fast_options());
    REQUIRE_MESSAGE(!provider.start_error(), provider.start_error().value_or(""));
    ToolResult result = call(provider, "env");
    REQUIRE(result.ok());
    json seen = json::parse(result.content);
    CHECK(std::filesystem::equivalent(seen["cwd"].get<std::string>(), dir.path()));
    const json& env = seen["env"];
    CHECK(env["FAKE_TOKEN"] == "tok-12345");
    CHECK(env.contains("PATH"));
    CHECK_FALSE(env.contains("FAPO_TEST_PROVIDER_KEY"));
    // Nothing else of this process's environment gets through (the shell and a python
    // version manager may add their own variables).
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string name(*entry, std::strchr(*entry, '=') - *entry);
      if (name == "PATH" || name == "HOME" || name == "LANG" || name == "PWD" || name == "SHLVL" ||
          name == "_" || name.rfind("PYENV", 0) == 0) {
        continue;
      }
      CHECK_MESSAGE(!env.contains(name), name);
    }
  }
  ::unsetenv("FAPO_TEST_PROVIDER_KEY");
  CHECK(settled_census(before) == before);
}

TEST_CASE("a server exiting at initialize fails to start, quoting its stderr but no env value") {
  TempDir dir;
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({"--exit-at-initialize"});
    config.env = {{"FAKE_TOKEN", "tok-secret-98765"}};
    McpToolProvider provider(config, launch_in(dir), fast_options());
    REQUIRE(provider.start_error());
    const std::string error = provider.start_error().value_or("");
    CHECK(contains(error, "tool server 'fake' failed to start"));
    CHECK(contains(error, "initialize"));
    CHECK(contains(error, "exited with status 3"));
    CHECK(contains(error, "fatal: no configuration (token=***)"));
    CHECK_FALSE(contains(error, "tok-secret-98765"));
    CHECK(provider.running_processes() == 0);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a server hanging at initialize fails after the startup timeout") {
  TempDir dir;
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({"--hang-at-initialize"});
    config.startup_timeout_s = 0.5;
    auto started = Clock::now();
    McpToolProvider provider(config, launch_in(dir), fast_options());
    CHECK(elapsed_ms(started) < 3000);
    REQUIRE(provider.start_error());
    CHECK(contains(*provider.start_error(), "did not answer initialize within 500 ms"));
    CHECK(provider.tools().empty());
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a crash during a call is reported and the next call runs on a restarted server") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--crash-on-call", "2"}), launch_in(dir), fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult first = call(provider, "pid");
    REQUIRE(first.ok());
    ToolResult crashed = call(provider, "lookup", {{"key", "k"}});
    CHECK(crashed.error_kind == ToolErrorKind::kOther);
    CHECK(contains(crashed.error, "tool server 'fake' exited during the call to 'lookup'"));
    CHECK(contains(crashed.error, "status 7"));
    CHECK(provider.running_processes() == 0);
    CHECK(take_census().zombies == 0);
    ToolResult again = call(provider, "pid");
    REQUIRE(again.ok());
    CHECK(again.content != first.content);  // a new process
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("after max_restarts restarts a slot's calls fail at once") {
  TempDir dir;
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({"--crash-on-call", "1"});
    config.max_restarts = 2;
    McpToolProvider provider(config, launch_in(dir), fast_options());
    REQUIRE_FALSE(provider.start_error());
    for (int attempt = 0; attempt < 3; ++attempt) {
      ToolResult crashed = call(provider, "lookup", {{"key", "k"}});
      CHECK(crashed.error_kind == ToolErrorKind::kOther);
      CHECK(contains(crashed.error, "exited during the call"));
    }
    auto started = Clock::now();
    ToolResult down = call(provider, "lookup", {{"key", "k"}});
    CHECK(elapsed_ms(started) < 100);
    CHECK(down.error_kind == ToolErrorKind::kOther);
    CHECK(contains(down.error, "tool server 'fake' is down after 2 restarts"));
    CHECK(provider.running_processes() == 0);
  }
  CHECK(settled_census(before) == before);
}

// In "shared" mode one timeout no longer stops the server (shared_tool_server_test.cpp); a
// process of "per_worker" answers one call at a time and is still replaced at once.
TEST_CASE("per_worker: a hung call times out, the process is killed, the next call recovers") {
  TempDir dir;
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({"--hang-on-call", "2"});
    config.sharing = "per_worker";
    McpToolProvider provider(config, launch_in(dir), fast_options());
    REQUIRE_FALSE(provider.multiplexed());
    REQUIRE_FALSE(provider.start_error());
    REQUIRE(call(provider, "lookup", {{"key", "a"}}).ok());
    auto started = Clock::now();
    ToolResult hung = call(provider, "lookup", {{"key", "b"}}, 300ms);
    CHECK(elapsed_ms(started) < 1500);
    CHECK(hung.error_kind == ToolErrorKind::kTimeout);
    CHECK(contains(hung.content, "did not answer within 300 ms"));
    CHECK(contains(hung.error, "the server was stopped and restarts on the next call"));
    CHECK(provider.running_processes() == 0);
    CHECK(take_census().children == before.children);

    ToolResult slow = call(provider, "slow", {{"seconds", 30}}, 300ms);
    CHECK(slow.error_kind == ToolErrorKind::kTimeout);
    ToolResult recovered = call(provider, "lookup", {{"key", "c"}});
    CHECK(recovered.ok());
    CHECK(recovered.content == "value of c");
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("an isError result keeps the tool's text and takes its kind from it") {
  TempDir dir;
  Census before = take_census();
  struct Expectation {
    std::string text;
    ToolErrorKind kind;
  };
  for (const Expectation& expected :
       {Expectation{"Unknown tool: lookup", ToolErrorKind::kUnknownTool},
        Expectation{"Invalid arguments: key must be a string", ToolErrorKind::kInvalidArguments},
        Expectation{"Permission denied: /etc/shadow", ToolErrorKind::kPermission},
        Expectation{"the record was not found", ToolErrorKind::kOther}}) {
    CAPTURE(expected.text);
    McpToolProvider provider(fake_config({"--is-error", expected.text}), launch_in(dir),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult result = call(provider, "lookup", {{"key", "k"}});
    CHECK(result.error_kind == expected.kind);
    CHECK(result.content == expected.text);
    CHECK(contains(result.error, "tool 'lookup' reported an error: " + expected.text));
    CHECK(provider.running_processes() == 1);  // a tool's failure is not the server's
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("JSON-RPC errors become kinds by their code and message") {
  TempDir dir;
  Census before = take_census();
  struct Expectation {
    std::string flag;
    ToolErrorKind kind;
  };
  for (const Expectation& expected :
       {Expectation{"-32602:Invalid params: 'key' is required", ToolErrorKind::kInvalidArguments},
        Expectation{"-32602:Tool lookup not found", ToolErrorKind::kUnknownTool},
        Expectation{"-32601:Method not found", ToolErrorKind::kUnknownTool},
        Expectation{"-32603:Internal error", ToolErrorKind::kOther}}) {
    CAPTURE(expected.flag);
    McpToolProvider provider(fake_config({"--rpc-error", expected.flag}), launch_in(dir),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult result = call(provider, "lookup", {{"key", "k"}});
    CHECK(result.error_kind == expected.kind);
    std::string code = expected.flag.substr(0, expected.flag.find(':'));
    CHECK(contains(result.error, "answered the call to 'lookup' with error " + code));
    CHECK(contains(result.content, expected.flag.substr(expected.flag.find(':') + 1)));
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("an oversized result is cut to the result limit with a note") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--oversized", "5000000"}), launch_in(dir),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult result = call(provider, "lookup", {{"key", "k"}});
    REQUIRE(result.ok());
    CHECK(result.content.size() < 1024 * 1024 + 200);
    CHECK(result.content.substr(0, 5) == "xxxxx");
    CHECK(contains(result.content, "[cut: the tool returned 5000000 bytes; the first 1048576"));
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("a reply longer than max_line_bytes fails that call only, on the same process") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolServerOptions options = fast_options();
    options.max_line_bytes = 1024 * 1024;
    McpToolProvider provider(fake_config({"--oversized", "5000000"}), launch_in(dir), options);
    REQUIRE_FALSE(provider.start_error());
    ToolResult pid = call(provider, "pid");
    REQUIRE(pid.ok());
    ToolResult huge = call(provider, "lookup", {{"key", "k"}});
    CHECK(huge.error_kind == ToolErrorKind::kOther);
    CHECK(contains(huge.error, "longer than 1048576 bytes"));
    for (int i = 0; i < 2; ++i) {
      ToolResult after = call(provider, "pid");
      CHECK(after.ok());
      CHECK(after.content == pid.content);  // no restart, and replies still in step
    }
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("lines that are not JSON are skipped") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--garbage"}), launch_in(dir), fast_options());
    REQUIRE_MESSAGE(!provider.start_error(), provider.start_error().value_or(""));
    for (const char* key : {"a", "b", "c"}) {
      ToolResult result = call(provider, "lookup", {{"key", key}});
      CHECK(result.ok());
      CHECK(result.content == std::string("value of ") + key);
    }
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("non-text content becomes placeholders and structured content its JSON") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({}, {"mixed", "structured"}), launch_in(dir),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    CHECK(call(provider, "mixed").content ==
          "chart follows\n[image: image/png]\n[audio: audio/wav]\n"
          "[resource link: file:///data/r.txt]");
    CHECK(call(provider, "structured").content == R"({"answer":42})");
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("cancellation ends a waiting call early") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config(), launch_in(dir), fast_options());
    REQUIRE_FALSE(provider.start_error());
    std::atomic<bool> cancel{false};
    ToolCallContext context;
    context.cancel = &cancel;
    std::thread canceller([&cancel] {
      std::this_thread::sleep_for(200ms);
      cancel = true;
    });
    auto started = Clock::now();
    ToolResult result = provider.call("slow", {{"seconds", 30}}, 10s, context);
    canceller.join();
    CHECK(elapsed_ms(started) < 2000);
    CHECK(result.error_kind == ToolErrorKind::kOther);
    CHECK(contains(result.error, "cancelled"));
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared mode answers 8 threads calling at once, each with its own reply") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config(), launch_in(dir, 8), fast_options());
    REQUIRE_FALSE(provider.start_error());
    CHECK(provider.slot_count() == 1);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&provider, &wrong, t] {
        for (int i = 0; i < 5; ++i) {
          std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
          ToolResult result = call(provider, "lookup", {{"key", key}});
          if (!result.ok() || result.content != "value of " + key) ++wrong;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(wrong == 0);
    CHECK(provider.running_processes() == 1);
    CHECK(take_census().children == before.children + 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("per_worker runs at most `workers` processes, started as calls overlap") {
  TempDir dir;
  auto pids = dir.path() / "pids";
  std::filesystem::create_directories(pids);
  Census before = take_census();
  {
    ToolServerConfig config = fake_config({"--pid-dir", pids.string()});
    config.sharing = "per_worker";
    McpToolProvider provider(config, launch_in(dir, 3), fast_options());
    REQUIRE_FALSE(provider.start_error());
    CHECK(provider.slot_count() == 3);
    CHECK(provider.running_processes() == 1);  // the others start when needed
    std::atomic<bool> done{false};
    std::atomic<int> most_children{0};
    std::thread monitor([&] {
      while (!done) {
        most_children = std::max(most_children.load(), take_census().children - before.children);
        std::this_thread::sleep_for(10ms);
      }
    });
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&provider, &failed] {
        for (int i = 0; i < 3; ++i) {
          if (!call(provider, "slow", {{"seconds", 0.15}}).ok()) ++failed;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    done = true;
    monitor.join();
    CHECK(failed == 0);
    CHECK(most_children <= 3);
    CHECK(provider.running_processes() == 3);
    int started = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(pids)) ++started;
    CHECK(started == 3);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("the registered factory builds an MCP provider from the tenant's declaration") {
  TempDir dir;
  Census before = take_census();
  {
    std::unique_ptr<ToolProvider> provider = make_mcp_tool_server(fake_config(), launch_in(dir));
    REQUIRE(provider);
    REQUIRE_FALSE(provider->start_error());
    ToolResult result = provider->call("lookup", {{"key", "z"}}, 5s, no_context());
    CHECK(result.content == "value of z");
  }
  CHECK(settled_census(before) == before);
}

}  // namespace
}  // namespace fapo::mcp
