#include "engine/tools/tool_servers.h"

#include <future>
#include <mutex>

#include "engine/tools/corpus_search.h"

namespace fapo {
namespace {

std::mutex factory_mutex;
ToolServerFactory& registered_factory() {
  static ToolServerFactory factory;
  return factory;
}

// Stands in for a server no factory can start: no tools, and the reason.
class UnavailableServer : public ToolProvider {
 public:
  UnavailableServer(const ToolServerConfig& config, std::string reason)
      : name_(config.name), allowed_(config.allowed_tools), reason_(std::move(reason)) {}
  const std::string& name() const override { return name_; }
  const std::vector<ToolDefinition>& tools() const override { return tools_; }
  std::optional<std::string> start_error() const override { return reason_; }
  std::vector<std::string> allowed_tools() const override { return allowed_; }
  ToolResult call(const std::string& tool, const nlohmann::json&, std::chrono::milliseconds,
                  const ToolCallContext&) override {
    return {"error: tool '" + tool + "' is unavailable", ToolErrorKind::kOther, reason_};
  }

 private:
  std::string name_;
  std::vector<std::string> allowed_;
  std::vector<ToolDefinition> tools_;
  std::string reason_;
};

}  // namespace

void set_tool_server_factory(ToolServerFactory factory) {
  std::lock_guard lock(factory_mutex);
  registered_factory() = std::move(factory);
}

std::shared_ptr<ToolSet> start_tools(const ToolsConfig& tools,
                                     std::shared_ptr<const Bm25Index> index,
                                     const ToolServerLaunch& launch) {
  std::vector<std::unique_ptr<ToolProvider>> providers;
  if (tools.search && index) providers.push_back(make_corpus_search(std::move(index)));
  ToolServerFactory factory;
  {
    std::lock_guard lock(factory_mutex);
    factory = registered_factory();
  }
  // Servers start concurrently: a slow one (npm packages take a second or two) does not
  // delay the others.
  std::vector<std::future<std::unique_ptr<ToolProvider>>> starting;
  for (const ToolServerConfig& server : tools.servers) {
    if (!factory) {
      providers.push_back(std::make_unique<UnavailableServer>(
          server, "tool server '" + server.name + "': no tool-server client is registered in "
                  "this program"));
      continue;
    }
    starting.push_back(std::async(std::launch::async, [&factory, &server, &launch] {
      return factory(server, launch);
    }));
  }
  for (auto& started : starting) providers.push_back(started.get());
  return std::make_shared<ToolSet>(std::move(providers));
}

bool declares_tools(const ToolsConfig& tools, bool has_corpus) {
  return !tools.servers.empty() || (tools.search && has_corpus);
}

}  // namespace fapo
