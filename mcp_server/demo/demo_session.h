// A demo session: the running `fapo mcp` child, the narrator, and the one way the demo calls a
// tool. Every call is printed with its key arguments before it is sent; a tool the server does
// not list, a JSON-RPC error or a tool result flagged isError all come back as an Error whose
// message says which tool and why, so the demo stops at the step that needed it.
//
// Not thread-safe: owned by the thread that runs the demo.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "mcp_server/client/stdio_client.h"
#include "mcp_server/demo/narrator.h"

namespace fapo::demo {

class DemoSession {
 public:
  // `client` is the started server; `narrator` must outlive the session.
  DemoSession(std::unique_ptr<mcp::StdioClient> client, Narrator& narrator);

  Narrator& narrator() { return narrator_; }
  mcp::StdioClient& client() { return *client_; }

  // Records the tools the server listed (tools/list).
  void set_offered_tools(std::vector<std::string> names);
  bool offers(const std::string& tool) const { return offered_.count(tool) > 0; }
  const std::vector<std::string>& offered_tools() const { return offered_list_; }

  // Calls `tool` with `arguments` and returns its structuredContent (or the text parsed as
  // JSON when a server sends no structured content). `shown` lists the argument names printed
  // with the call; tenant_id is never shown (it is the same on every call).
  Result<nlohmann::json> call(const std::string& tool, const nlohmann::json& arguments,
                              const std::vector<std::string>& shown);

  // Ends the server (stdin closed, then signals after a grace period); returns its status.
  int shutdown() { return client_->shutdown(); }

 private:
  std::unique_ptr<mcp::StdioClient> client_;
  Narrator& narrator_;
  std::set<std::string> offered_;
  std::vector<std::string> offered_list_;
  int next_token_ = 1;
};

// "split=train trials=3": the named arguments, strings unquoted, long values cut.
std::string describe_arguments(const nlohmann::json& arguments,
                               const std::vector<std::string>& shown);

}  // namespace fapo::demo
