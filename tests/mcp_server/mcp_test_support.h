// In-process stand-ins for the MCP server tests: a reply channel that records what the
// dispatcher sends, a tool table built from tools and schemas written in the test, and a
// harness that plays the client against a Dispatcher. Waiting uses condition variables with a
// generous deadline that only turns a hang into a failure; no test depends on timing.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp_server/server/dispatcher.h"
#include "mcp_server/tools/tool_table.h"
#include "mcp_server/transport/transport.h"
#include "tests/test_support.h"

namespace fapo::mcp::testing {

using nlohmann::json;

inline constexpr auto kHangGuard = std::chrono::seconds(20);

class RecordingChannel : public ReplyChannel {
 public:
  void notify(const json& message) override {
    std::lock_guard lock(mutex_);
    events_.push_back(Event{false, message});
    changed_.notify_all();
  }
  void finish(std::optional<json> message) override {
    std::lock_guard lock(mutex_);
    events_.push_back(Event{true, message.value_or(json())});
    ++finishes_;
    changed_.notify_all();
  }

  // Waits until finish() was called `count` times in all; false on the hang guard.
  bool wait_finishes(std::size_t count = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return finishes_ >= count; });
  }
  // Waits until `count` messages (of either kind) arrived.
  bool wait_events(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return events_.size() >= count; });
  }

  struct Event {
    bool is_finish;
    json message;  // null for finish(nullopt)
  };
  std::vector<Event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t finishes() {
    std::lock_guard lock(mutex_);
    return finishes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::size_t finishes_ = 0;
};

// A one-shot gate a test opens and a tool waits on (or the reverse).
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

inline constexpr char kObjectSchema[] = R"({"type": "object"})";

// Schema files for tools whose input and output are any object, unless given.
inline SchemaFiles schemas_for(const std::vector<ToolSpec>& specs,
                               const std::map<std::string, std::string>& overrides = {}) {
  static std::vector<std::unique_ptr<std::string>> storage;  // keeps views valid
  SchemaFiles files;
  for (const ToolSpec& spec : specs) {
    for (const std::string& name : {input_schema_file(spec.name), output_schema_file(spec.name)}) {
      auto found = overrides.find(name);
      storage.push_back(std::make_unique<std::string>(
          found != overrides.end() ? found->second : std::string(kObjectSchema)));
      files[name] = *storage.back();
    }
  }
  return files;
}

inline ToolSpec make_tool(std::string name, ToolHandler handler) {
  ToolSpec spec;
  spec.name = std::move(name);
  spec.title = "Test tool";
  spec.description = "A tool that exists only in tests.";
  spec.handler = std::move(handler);
  return spec;
}

inline json request(const json& id, std::string method, json params = nullptr) {
  json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", std::move(method)}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

inline json notification(std::string method, json params = nullptr) {
  json message{{"jsonrpc", "2.0"}, {"method", std::move(method)}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

inline json initialize_params(std::string version = "2025-11-25") {
  return json{{"protocolVersion", std::move(version)},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", "test-client"}, {"version", "1.0"}}}};
}

// A dispatcher with the given tools over a private temporary workspace, driven like a client.
class Harness {
 public:
  explicit Harness(std::vector<ToolSpec> specs, DispatcherOptions options = {},
                   const std::map<std::string, std::string>& schema_overrides = {})
      : context_{workspace_.path()} {
    auto table = ToolTable::make(specs, schemas_for(specs, schema_overrides));
    REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.error().message));
    table_ = std::make_unique<ToolTable>(std::move(table).value());
    options.identity = ServerIdentity{"fapo", "0.0.0-test", ""};
    dispatcher_ = std::make_unique<Dispatcher>(*table_, context_, options);
  }

  Dispatcher& dispatcher() { return *dispatcher_; }
  const std::filesystem::path& workspace() const { return workspace_.path(); }

  // Sends raw text; the channel records what comes back.
  std::shared_ptr<RecordingChannel> send_text(std::string text, std::string session = "") {
    auto channel = std::make_shared<RecordingChannel>();
    dispatcher_->handle(IncomingMessage{std::move(text), channel, std::move(session), false});
    return channel;
  }
  std::shared_ptr<RecordingChannel> send(const json& message, std::string session = "") {
    return send_text(message.dump(), std::move(session));
  }

  // Sends a request and returns its reply (null when none came).
  json call(const json& message, std::string session = "") {
    auto channel = send(message, std::move(session));
    REQUIRE(channel->wait_finishes());
    return channel->events().back().message;
  }

  json initialize(std::string version = "2025-11-25", std::string session = "") {
    json reply = call(request(0, "initialize", initialize_params(std::move(version))), session);
    send(notification("notifications/initialized"), session);
    return reply;
  }

 private:
  fapo::testing::TempDir workspace_;
  ServerContext context_;
  std::unique_ptr<ToolTable> table_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace fapo::mcp::testing
