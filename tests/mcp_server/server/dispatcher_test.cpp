#include "mcp_server/server/dispatcher.h"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/mcp_server/mcp_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::Gate;
using testing::Harness;
using testing::make_tool;
using testing::notification;
using testing::request;

ToolSpec echo_tool() {
  return make_tool("echo", [](const json& arguments, ToolContext&) {
    return ToolResult::success(json{{"echo", arguments}}, "echoed");
  });
}

TEST_CASE("initialize echoes each supported protocol version") {
  for (const std::string version : {"2025-03-26", "2025-06-18", "2025-11-25"}) {
    Harness harness({echo_tool()});
    const json reply = harness.initialize(version);
    CHECK(reply["id"] == 0);
    CHECK(reply["result"]["protocolVersion"] == version);
  }
}

TEST_CASE("initialize answers the newest version when the client asks for an unknown one") {
  Harness harness({echo_tool()});
  const json reply = harness.initialize("2024-11-05");
  CHECK(reply["result"]["protocolVersion"] == "2025-11-25");
}

TEST_CASE("initialize names the server and advertises tools, resources and prompts") {
  Harness harness({echo_tool()});
  const json result = harness.initialize()["result"];
  CHECK(result["serverInfo"]["name"] == "fapo");
  CHECK(result["serverInfo"]["version"] == "0.0.0-test");
  CHECK(result["capabilities"]["tools"]["listChanged"] == false);
  CHECK(result["capabilities"].contains("resources"));
  CHECK(result["capabilities"].contains("prompts"));
}

TEST_CASE("initialize without protocolVersion is an invalid-params error") {
  Harness harness({echo_tool()});
  const json reply = harness.call(request(1, "initialize", json::object()));
  CHECK(reply["error"]["code"] == kInvalidParams);
  CHECK(reply["error"]["message"].get<std::string>().find("protocolVersion") != std::string::npos);
}

TEST_CASE("a second initialize on the same session is refused") {
  Harness harness({echo_tool()});
  harness.initialize();
  const json reply = harness.call(request(9, "initialize", testing::initialize_params()));
  CHECK(reply["error"]["code"] == kInvalidRequest);
  CHECK(reply["error"]["message"].get<std::string>().find("already initialized") !=
        std::string::npos);
}

TEST_CASE("requests before initialize get an error naming initialize, and ping still works") {
  Harness harness({echo_tool()});
  const json refused = harness.call(request("a", "tools/list"));
  CHECK(refused["id"] == "a");
  CHECK(refused["error"]["code"] == kInvalidRequest);
  CHECK(refused["error"]["message"].get<std::string>().find("initialize") != std::string::npos);

  const json pong = harness.call(request(2, "ping"));
  CHECK(pong["result"] == json::object());
}

TEST_CASE("ping answers an empty result under the request's id") {
  Harness harness({echo_tool()});
  harness.initialize();
  const json reply = harness.call(request("ping-7", "ping"));
  CHECK(reply["jsonrpc"] == "2.0");
  CHECK(reply["id"] == "ping-7");
  CHECK(reply["result"] == json::object());
}

TEST_CASE("an unknown method is -32601 naming the method") {
  Harness harness({echo_tool()});
  harness.initialize();
  const json reply = harness.call(request(3, "tools/frobnicate"));
  CHECK(reply["error"]["code"] == kMethodNotFound);
  CHECK(reply["error"]["message"].get<std::string>().find("tools/frobnicate") != std::string::npos);
}

TEST_CASE("malformed JSON is -32700 with a null id") {
  Harness harness({echo_tool()});
  auto channel = harness.send_text("{\"jsonrpc\": \"2.0\", \"id\": 1, ");
  REQUIRE(channel->wait_finishes());
  const json reply = channel->events().back().message;
  CHECK(reply["error"]["code"] == kParseError);
  CHECK(reply["id"].is_null());
}

TEST_CASE("a batch is rejected with -32600") {
  Harness harness({echo_tool()});
  harness.initialize();
  auto channel = harness.send(json::array({request(1, "ping"), request(2, "ping")}));
  REQUIRE(channel->wait_finishes());
  const auto events = channel->events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].message["error"]["code"] == kInvalidRequest);
  CHECK(events[0].message["error"]["message"].get<std::string>().find("batch") !=
        std::string::npos);
}

TEST_CASE("non-object messages and bad ids are invalid requests") {
  Harness harness({echo_tool()});
  for (const std::string text :
       {"42", "\"ping\"", "null", R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})",
        R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
        R"({"jsonrpc":"1.0","id":1,"method":"ping"})"}) {
    CAPTURE(text);
    auto channel = harness.send_text(text);
    REQUIRE(channel->wait_finishes());
    CHECK(channel->events().back().message["error"]["code"] == kInvalidRequest);
  }
}

TEST_CASE("a notification is never answered") {
  Harness harness({echo_tool()});
  harness.initialize();
  for (const json& message : {notification("notifications/initialized"),
                              notification("notifications/unknown_thing", {{"x", 1}}),
                              notification("tools/call", {{"name", "echo"}})}) {
    auto channel = harness.send(message);
    REQUIRE(channel->wait_finishes());
    const auto events = channel->events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].message.is_null());
  }
}

TEST_CASE("a method that throws is answered with -32603 and the server keeps serving") {
  Harness harness({echo_tool()});
  harness.dispatcher().add_method("test/explode", [](const json&, RequestContext&) -> Reply {
    throw std::runtime_error("boom");
  });
  harness.initialize();
  const json reply = harness.call(request(5, "test/explode"));
  CHECK(reply["id"] == 5);
  CHECK(reply["error"]["code"] == kInternalError);
  CHECK(reply["error"]["message"].get<std::string>().find("boom") != std::string::npos);
  CHECK(harness.call(request(6, "ping"))["result"] == json::object());
}

TEST_CASE("tools/call runs the tool and returns structured content and text") {
  Harness harness({echo_tool()});
  harness.initialize();
  const json reply =
      harness.call(request(4, "tools/call", {{"name", "echo"}, {"arguments", {{"word", "hi"}}}}));
  const json result = reply["result"];
  CHECK(result["isError"] == false);
  CHECK(result["structuredContent"] == json{{"echo", {{"word", "hi"}}}});
  CHECK(result["content"][0]["type"] == "text");
  CHECK(result["content"][0]["text"].get<std::string>().find("echoed") == 0);
}

TEST_CASE("tools/call of an unknown tool is -32602 with a suggestion") {
  Harness harness({echo_tool()});
  harness.initialize();
  const json reply = harness.call(request(4, "tools/call", {{"name", "ecko"}}));
  CHECK(reply["error"]["code"] == kInvalidParams);
  const std::string message = reply["error"]["message"];
  CHECK(message.find("Unknown tool 'ecko'") != std::string::npos);
  CHECK(message.find("Did you mean 'echo'") != std::string::npos);
}

TEST_CASE("tools/call without a tool name or with non-object arguments is -32602") {
  Harness harness({echo_tool()});
  harness.initialize();
  CHECK(harness.call(request(1, "tools/call", json::object()))["error"]["code"] == kInvalidParams);
  CHECK(harness.call(request(2, "tools/call",
                             {{"name", "echo"}, {"arguments", json::array()}}))["error"]["code"] ==
        kInvalidParams);
}

TEST_CASE("arguments that break the input schema give an isError result naming the argument") {
  const std::map<std::string, std::string> schemas = {
      {"tool_echo.input.json",
       R"({"type":"object","properties":{"limit":{"type":"integer"}},"required":["limit"],
           "additionalProperties":false})"}};
  Harness harness({echo_tool()}, {}, schemas);
  harness.initialize();
  const json wrong_type =
      harness.call(request(1, "tools/call", {{"name", "echo"}, {"arguments", {{"limit", "ten"}}}}));
  CHECK(wrong_type["result"]["isError"] == true);
  const std::string text = wrong_type["result"]["content"][0]["text"];
  CHECK(text.find("argument 'limit': must be integer, got string") != std::string::npos);
  CHECK(text.find("Accepted arguments: limit (integer, required)") != std::string::npos);

  const json missing = harness.call(request(2, "tools/call", {{"name", "echo"}}));
  CHECK(missing["result"]["content"][0]["text"].get<std::string>().find(
            "missing required argument 'limit'") != std::string::npos);

  const json unknown = harness.call(
      request(3, "tools/call", {{"name", "echo"}, {"arguments", {{"limit", 1}, {"lmit", 2}}}}));
  CHECK(unknown["result"]["content"][0]["text"].get<std::string>().find(
            "unknown argument 'lmit'") != std::string::npos);
}

TEST_CASE("a tool that throws gives an isError result, not a protocol error") {
  Harness harness({make_tool("fragile", [](const json&, ToolContext&) -> ToolResult {
    throw std::logic_error("invariant broken");
  })});
  harness.initialize();
  const json reply = harness.call(request(1, "tools/call", {{"name", "fragile"}}));
  CHECK(reply["result"]["isError"] == true);
  CHECK(reply["result"]["content"][0]["text"].get<std::string>().find("invariant broken") !=
        std::string::npos);
}

TEST_CASE("tools/list pages with an opaque cursor and refuses a foreign one") {
  DispatcherOptions options;
  options.tools_page_size = 1;
  Harness harness({echo_tool(), make_tool("second", nullptr)}, options);
  harness.initialize();
  const json first = harness.call(request(1, "tools/list"))["result"];
  REQUIRE(first["tools"].size() == 1);
  CHECK(first["tools"][0]["name"] == "echo");
  CHECK(first["tools"][0]["inputSchema"]["type"] == "object");
  CHECK(first["tools"][0]["annotations"]["readOnlyHint"] == true);
  REQUIRE(first.contains("nextCursor"));

  const json second =
      harness.call(request(2, "tools/list", {{"cursor", first["nextCursor"]}}))["result"];
  REQUIRE(second["tools"].size() == 1);
  CHECK(second["tools"][0]["name"] == "second");
  CHECK_FALSE(second.contains("nextCursor"));

  const json bad = harness.call(request(3, "tools/list", {{"cursor", "bm90LWEtY3Vyc29y"}}));
  CHECK(bad["error"]["code"] == kInvalidParams);
  CHECK(bad["error"]["message"].get<std::string>().find("without a cursor") != std::string::npos);
}

TEST_CASE("resources and prompts list empty until their providers are registered") {
  Harness harness({echo_tool()});
  harness.initialize();
  CHECK(harness.call(request(1, "resources/list"))["result"]["resources"] == json::array());
  CHECK(harness.call(request(2, "prompts/list"))["result"]["prompts"] == json::array());
  CHECK(harness.call(request(3, "resources/read", {{"uri", "fapo://x"}}))["error"]["code"] ==
        kResourceNotFound);
}

TEST_CASE("a long tool call does not block ping") {
  Gate release;
  Gate started;
  Harness harness({make_tool("slow", [&](const json&, ToolContext&) {
    started.open();
    release.wait();
    return ToolResult::success(json::object(), "done");
  })});
  harness.initialize();
  auto slow = harness.send(request(1, "tools/call", {{"name", "slow"}}));
  REQUIRE(started.wait());
  CHECK(harness.call(request(2, "ping"))["result"] == json::object());
  CHECK(slow->finishes() == 0);
  release.open();
  REQUIRE(slow->wait_finishes());
  CHECK(slow->events().back().message["result"]["isError"] == false);
}

TEST_CASE("calls waiting for a run, more than the workers, do not hold back quick tool calls") {
  Gate release;
  std::atomic<int> waiting{0};
  Gate all_waiting;
  constexpr int kWaits = 4;
  DispatcherOptions options;
  options.worker_threads = 2;
  options.waiting_threads = kWaits;
  Harness harness({make_tool("get_run",
                             [&](const json&, ToolContext&) {
                               if (++waiting == kWaits) all_waiting.open();
                               release.wait();
                               return ToolResult::success(json::object(), "finished");
                             }),
                   echo_tool()},
                  options);
  harness.initialize();
  std::vector<std::shared_ptr<testing::RecordingChannel>> waits;
  for (int i = 0; i < kWaits; ++i) {
    waits.push_back(harness.send(request(
        100 + i, "tools/call",
        {{"name", "get_run"}, {"arguments", {{"run_id", "r1"}, {"wait_seconds", 50}}}})));
  }
  REQUIRE(all_waiting.wait());  // every wait holds a thread now

  json quick = harness.call(
      request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"tenant_id", "qa"}}}}));
  CHECK(quick["result"]["structuredContent"]["echo"]["tenant_id"] == "qa");
  CHECK(harness.call(request(3, "ping"))["result"] == json::object());
  for (auto& wait : waits) CHECK(wait->finishes() == 0);

  release.open();
  for (auto& wait : waits) {
    REQUIRE(wait->wait_finishes());
    CHECK(wait->events().back().message["result"]["isError"] == false);
  }
}

TEST_CASE("notifications/cancelled stops a running tool and its reply is not sent") {
  Gate started;
  std::atomic<bool> saw_cancel{false};
  Harness harness({make_tool("spin", [&](const json&, ToolContext& context) {
    started.open();
    while (!context.cancel.is_cancelled()) std::this_thread::yield();
    saw_cancel = true;
    return ToolResult::failure("cancelled");
  })});
  harness.initialize();
  auto call = harness.send(request("job-1", "tools/call", {{"name", "spin"}}));
  REQUIRE(started.wait());
  harness.send(
      notification("notifications/cancelled", {{"requestId", "job-1"}, {"reason", "user"}}));
  REQUIRE(call->wait_finishes());
  CHECK(saw_cancel);
  const auto events = call->events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].message.is_null());
}

TEST_CASE("ending an HTTP session cancels its running requests") {
  Gate started;
  Harness harness({make_tool("spin", [&](const json&, ToolContext& context) {
    started.open();
    while (!context.cancel.is_cancelled()) std::this_thread::yield();
    return ToolResult::failure("cancelled");
  })});
  harness.initialize("2025-11-25", "session-a");
  auto call = harness.send(request(1, "tools/call", {{"name", "spin"}}), "session-a");
  REQUIRE(started.wait());
  auto end = std::make_shared<testing::RecordingChannel>();
  harness.dispatcher().handle(IncomingMessage{"", end, "session-a", true});
  REQUIRE(call->wait_finishes());
  CHECK(call->events().back().message.is_null());
}

TEST_CASE("sessions are separate: initializing one leaves another uninitialized") {
  Harness harness({echo_tool()});
  harness.initialize("2025-06-18", "a");
  CHECK(harness.call(request(1, "tools/list"), "a").contains("result"));
  CHECK(harness.call(request(1, "tools/list"), "b")["error"]["code"] == kInvalidRequest);
}

TEST_CASE("shutdown cancels running tools but still sends their replies") {
  Gate started;
  Harness harness({make_tool("spin", [&](const json&, ToolContext& context) {
    started.open();
    while (!context.cancel.is_cancelled()) std::this_thread::yield();
    return ToolResult::failure("stopped: the server is shutting down");
  })});
  harness.initialize();
  auto call = harness.send(request(1, "tools/call", {{"name", "spin"}}));
  REQUIRE(started.wait());
  CHECK(harness.dispatcher().shutdown(std::chrono::seconds(20)));
  REQUIRE(call->wait_finishes());
  const json reply = call->events().back().message;
  CHECK(reply["id"] == 1);
  CHECK(reply["result"]["content"][0]["text"].get<std::string>().find("shutting down") !=
        std::string::npos);
}

TEST_CASE("a request id already running is refused rather than answered twice") {
  Gate release;
  Gate started;
  Harness harness({make_tool("slow", [&](const json&, ToolContext&) {
    started.open();
    release.wait();
    return ToolResult::success(json::object(), "done");
  })});
  harness.initialize();
  auto first = harness.send(request(7, "tools/call", {{"name", "slow"}}));
  REQUIRE(started.wait());
  const json duplicate = harness.call(request(7, "tools/call", {{"name", "slow"}}));
  CHECK(duplicate["error"]["code"] == kInvalidRequest);
  CHECK(duplicate["error"]["message"].get<std::string>().find("already in use") !=
        std::string::npos);
  release.open();
  REQUIRE(first->wait_finishes());
  CHECK(first->events().size() == 1);
}

TEST_CASE("progress is reported as notifications before the reply when a token was sent") {
  Harness harness({make_tool("steps", [](const json&, ToolContext& context) {
    context.progress.report(1, 3, "first");
    context.progress.report(1, 3, "repeated value is dropped");
    context.progress.report(2, 3, "second\x1b[31m");
    return ToolResult::success(json::object(), "done");
  })});
  harness.initialize();
  auto with_token = harness.send(
      request(1, "tools/call", {{"name", "steps"}, {"_meta", {{"progressToken", "tok"}}}}));
  REQUIRE(with_token->wait_finishes());
  const auto events = with_token->events();
  REQUIRE(events.size() == 3);
  CHECK(events[0].message["method"] == "notifications/progress");
  CHECK(events[0].message["params"] ==
        json{{"progressToken", "tok"}, {"progress", 1.0}, {"total", 3.0}, {"message", "first"}});
  CHECK(events[1].message["params"]["message"] == "second");  // escape sequence stripped
  CHECK(events[2].is_finish);
  CHECK(events[2].message["id"] == 1);

  auto without = harness.send(request(2, "tools/call", {{"name", "steps"}}));
  REQUIRE(without->wait_finishes());
  CHECK(without->events().size() == 1);
}

TEST_CASE("every request of a burst gets exactly one reply") {
  Harness harness({echo_tool()});
  harness.initialize();
  std::vector<std::shared_ptr<testing::RecordingChannel>> channels;
  for (int i = 0; i < 50; ++i) {
    channels.push_back(harness.send(request(i, "tools/call", {{"name", "echo"}})));
  }
  for (int i = 0; i < 50; ++i) {
    REQUIRE(channels[i]->wait_finishes());
    const auto events = channels[i]->events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].message["id"] == i);
  }
}

}  // namespace
}  // namespace fapo::mcp
