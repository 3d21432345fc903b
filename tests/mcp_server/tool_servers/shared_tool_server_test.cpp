// "shared" tool servers: one process, calls multiplexed on one connection. Concurrent calls
// overlap on the server, replies find their own callers whatever their order, a hung call
// times out without taking the others down, a run of timeouts restarts a hung server, and a
// crash fails every call in flight at once. Every scenario ends with the fds, threads and
// child processes it began with.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mcp_server/tool_servers/mcp_tool_provider.h"
#include "tests/mcp_server/tool_servers/tool_server_test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
using nlohmann::json;
using namespace fapo::mcp::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kAllowed = {"lookup", "slow", "pid", "stats"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ToolResult call(McpToolProvider& provider, const std::string& tool, json arguments = json::object(),
                std::chrono::milliseconds timeout = 5s) {
  return provider.call(tool, arguments, timeout, no_context());
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// What the fake server saw: {"max_concurrent": n, "cancelled": [request ids]}.
json server_stats(McpToolProvider& provider) {
  ToolResult stats = call(provider, "stats");
  REQUIRE_MESSAGE(stats.ok(), stats.error);
  return json::parse(stats.content);
}

TEST_CASE("shared: 8 concurrent slow calls overlap on one process instead of queueing") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--concurrent"}, kAllowed), launch_in(dir, 8),
                             fast_options());
    REQUIRE_MESSAGE(!provider.start_error(), provider.start_error().value_or(""));
    REQUIRE(provider.multiplexed());
    std::atomic<bool> go{false};
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        ToolResult result = call(provider, "slow", {{"seconds", 0.2}, {"tag", t}});
        if (!result.ok() || !contains(result.content, "\"tag\": " + std::to_string(t) + "}")) {
          ++failed;
        }
      });
    }
    auto started = Clock::now();
    go = true;
    for (std::thread& thread : threads) thread.join();
    long long wall = elapsed_ms(started);
    MESSAGE("8 calls of 200 ms on one shared server took " << wall << " ms");
    CHECK(failed == 0);
    CHECK(wall < 900);  // serialised, they take 1600 ms
    CHECK(server_stats(provider)["max_concurrent"].get<int>() >= 6);
    CHECK(provider.running_processes() == 1);
    CHECK(take_census().children == before.children + 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: replies that come back out of order reach their own callers") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--concurrent"}, kAllowed), launch_in(dir, 5),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    // Sent longest first, so the server answers in the reverse order of the requests.
    const std::vector<double> seconds = {0.5, 0.4, 0.3, 0.2, 0.1};
    std::vector<ToolResult> results(seconds.size());
    std::mutex order_mutex;
    std::vector<std::size_t> finished;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seconds.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] =
            call(provider, "slow", {{"seconds", seconds[i]}, {"tag", "call-" + std::to_string(i)}});
        std::lock_guard lock(order_mutex);
        finished.push_back(i);
      });
      std::this_thread::sleep_for(20ms);  // a definite order of requests
    }
    for (std::thread& thread : threads) thread.join();
    for (std::size_t i = 0; i < seconds.size(); ++i) {
      CAPTURE(i);
      REQUIRE(results[i].ok());
      CHECK(contains(results[i].content, "\"tag\": \"call-" + std::to_string(i) + "\""));
      CHECK(contains(results[i].content, "\"seconds\": " + json(seconds[i]).dump()));
    }
    REQUIRE(finished.size() == seconds.size());
    CHECK(finished.front() == seconds.size() - 1);  // the last sent came back first
    CHECK(finished.back() == 0);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: a hung call times out while other calls on the same server keep succeeding") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--concurrent", "--hang-on-call", "2"}, kAllowed),
                             launch_in(dir, 2), fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult pid = call(provider, "pid");  // call 1
    REQUIRE(pid.ok());
    ToolResult hung;
    long long hung_ms = 0;
    std::thread waiter([&] {
      auto started = Clock::now();
      hung = call(provider, "lookup", {{"key", "stuck"}}, 600ms);  // call 2 never answers
      hung_ms = elapsed_ms(started);
    });
    std::this_thread::sleep_for(100ms);
    int answered = 0;
    for (int i = 0; i < 5; ++i) {
      std::string key = "k" + std::to_string(i);
      ToolResult result = call(provider, "lookup", {{"key", key}});
      if (result.ok() && result.content == "value of " + key) ++answered;
    }
    waiter.join();
    CHECK(answered == 5);
    CHECK(hung.error_kind == ToolErrorKind::kTimeout);
    CHECK(contains(hung.content, "did not answer within 600 ms"));
    CHECK(contains(hung.error, "the server keeps running"));
    CHECK(hung_ms < 1500);
    CHECK(provider.running_processes() == 1);
    CHECK(call(provider, "pid").content == pid.content);  // the same process throughout
    json stats = server_stats(provider);
    // Ids: initialize 1, tools/list 2, pid 3, the hung lookup 4.
    CHECK(stats["cancelled"] == json::array({4}));
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: kHungAfterTimeouts timeouts in a row restart a server that answers nothing") {
  REQUIRE(kHungAfterTimeouts == 3);
  TempDir dir;
  Census before = take_census();
  {
    // Without --concurrent, a hung call stops the whole fake server: nothing is answered.
    McpToolProvider provider(fake_config({"--hang-on-call", "2"}, kAllowed), launch_in(dir, 2),
                             fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult first_pid = call(provider, "pid");
    REQUIRE(first_pid.ok());
    for (int i = 1; i <= kHungAfterTimeouts; ++i) {
      CAPTURE(i);
      ToolResult timed_out = call(provider, "lookup", {{"key", "k"}}, 300ms);
      CHECK(timed_out.error_kind == ToolErrorKind::kTimeout);
      if (i < kHungAfterTimeouts) {
        CHECK(contains(timed_out.error, std::to_string(i) + " of 3 timeouts in a row"));
        CHECK(provider.running_processes() == 1);
      } else {
        CHECK(contains(timed_out.error, "3 calls in a row got no reply"));
        CHECK(contains(timed_out.error, "restarts on the next call"));
        CHECK(provider.running_processes() == 0);
        CHECK(take_census().children == before.children);
      }
    }
    ToolResult new_pid = call(provider, "pid");
    REQUIRE(new_pid.ok());
    CHECK(new_pid.content != first_pid.content);
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: a crash fails every call in flight at once; the next call gets a new process") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({"--concurrent", "--crash-on-call", "5"}, kAllowed),
                             launch_in(dir, 4), fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult first_pid = call(provider, "pid");  // call 1
    REQUIRE(first_pid.ok());
    std::vector<ToolResult> slow(3);
    std::vector<long long> slow_ms(3);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < slow.size(); ++i) {  // calls 2 to 4: ten seconds each
      threads.emplace_back([&, i] {
        auto started = Clock::now();
        slow[i] = call(provider, "slow", {{"seconds", 10}}, 8s);
        slow_ms[i] = elapsed_ms(started);
      });
    }
    std::this_thread::sleep_for(300ms);
    ToolResult crashed = call(provider, "lookup", {{"key", "k"}});  // call 5: the crash
    for (std::thread& thread : threads) thread.join();
    CHECK(crashed.error_kind == ToolErrorKind::kOther);
    CHECK(contains(crashed.error, "tool server 'fake' exited during the call to 'lookup'"));
    CHECK(contains(crashed.error, "exited with status 7"));
    for (std::size_t i = 0; i < slow.size(); ++i) {
      CAPTURE(i);
      CHECK(slow[i].error_kind == ToolErrorKind::kOther);
      CHECK(contains(slow[i].error, "tool server 'fake' exited during the call to 'slow'"));
      CHECK(slow_ms[i] < 2500);  // at the crash, not at their timeout
    }
    CHECK(provider.running_processes() == 0);
    CHECK(take_census().zombies == 0);
    ToolResult again = call(provider, "pid");
    REQUIRE(again.ok());
    CHECK(again.content != first_pid.content);
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: a server that died between calls is restarted by the next call") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolProvider provider(fake_config({}, kAllowed), launch_in(dir), fast_options());
    REQUIRE_FALSE(provider.start_error());
    ToolResult pid = call(provider, "pid");
    REQUIRE(pid.ok());
    ::kill(std::stoi(pid.content), SIGKILL);
    // Wait (bounded) until it is gone, then a moment for the connection to read its end.
    for (int i = 0; i < 200 && take_census().zombies == 0; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(200ms);
    ToolResult again = call(provider, "pid");
    REQUIRE_MESSAGE(again.ok(), again.error);
    CHECK(again.content != pid.content);
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("shared: an over-long reply fails its own call while the others in flight succeed") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolServerOptions options = fast_options();
    options.max_line_bytes = 1024 * 1024;
    McpToolProvider provider(fake_config({"--concurrent", "--oversized", "3000000"}, kAllowed),
                             launch_in(dir, 2), options);
    REQUIRE_FALSE(provider.start_error());
    ToolResult slow;
    std::thread slow_call([&] { slow = call(provider, "slow", {{"seconds", 0.3}}); });
    std::this_thread::sleep_for(50ms);
    ToolResult huge = call(provider, "lookup", {{"key", "k"}});
    slow_call.join();
    CHECK(huge.error_kind == ToolErrorKind::kOther);
    CHECK(contains(huge.error, "longer than 1048576 bytes"));
    CHECK(slow.ok());
    CHECK(call(provider, "pid").ok());
    CHECK(provider.running_processes() == 1);
  }
  CHECK(settled_census(before) == before);
}

TEST_CASE("serialise_shared keeps the old exclusive slot: concurrent calls queue") {
  TempDir dir;
  Census before = take_census();
  {
    McpToolServerOptions options = fast_options();
    options.serialise_shared = true;
    McpToolProvider provider(fake_config({"--concurrent"}, kAllowed), launch_in(dir, 4), options);
    REQUIRE_FALSE(provider.start_error());
    CHECK_FALSE(provider.multiplexed());
    CHECK(provider.slot_count() == 1);
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        if (call(provider, "slow", {{"seconds", 0.1}}).ok()) ++answered;
      });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(answered == 3);
    CHECK(server_stats(provider)["max_concurrent"] == 1);
  }
  CHECK(settled_census(before) == before);
}

}  // namespace
}  // namespace fapo::mcp
