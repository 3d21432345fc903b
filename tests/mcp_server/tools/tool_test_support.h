// A fixture for the evaluation tools: a private workspace holding a copy of the example tenant
// multihop_qa, a ServerContext with a run manager, and the real tool table, so every call goes
// through tools/call as a client's would (argument schema, handler, sanitising, output schema).
// Waiting uses the run manager's bounded waits; no test depends on timing.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "engine/base/embedded_schemas.h"
#include "engine/run/run_manager.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/server/tool_runner.h"
#include "mcp_server/tools/tool_table.h"
#include "tests/test_support.h"

namespace fapo::mcp::testing {

using nlohmann::json;

inline constexpr char kTenant[] = "multihop_qa";

class RecordingProgress : public ProgressSink {
 public:
  void report(double progress, std::optional<double> total, std::string_view message) override {
    std::lock_guard lock(mutex_);
    reports_.push_back(Report{progress, total, std::string(message)});
  }
  struct Report {
    double progress;
    std::optional<double> total;
    std::string message;
  };
  std::vector<Report> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  std::mutex mutex_;
  std::vector<Report> reports_;
};

class ToolFixture {
 public:
  explicit ToolFixture(RunManagerOptions options = {}, bool copy_example = true) {
    if (copy_example) fapo::testing::copy_tenant(kTenant, workspace_dir_.path());
    auto workspace = Workspace::open(workspace_dir_.path());
    REQUIRE(workspace.ok());
    context_.workspace = workspace_dir_.path();
    context_.runs = std::make_shared<RunManager>(*workspace, std::move(options));
    auto table = ToolTable::make(builtin_tools(), embedded_schemas());
    REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.error().message));
    table_ = std::make_unique<ToolTable>(std::move(table).value());
  }

  // The tools/call result object; a successful result is checked against the output schema.
  json call(const std::string& tool, const json& arguments) {
    CancellationToken cancel;
    return call(tool, arguments, cancel);
  }
  json call(const std::string& tool, const json& arguments, const CancellationToken& cancel) {
    ToolContext context{context_, progress, cancel};
    Reply reply = call_tool(*table_, json{{"name", tool}, {"arguments", arguments}}, context,
                            ToolCallLimits{kDefaultResultTokenBudget});
    REQUIRE_FALSE(reply.is_error());
    json result = reply.result();
    if (result.contains("structuredContent")) {
      const RegisteredTool* registered = table_->find(tool);
      auto violations = registered->output_validator.validate(result["structuredContent"]);
      CHECK_MESSAGE(violations.empty(),
                    (violations.empty() ? "" : violations[0].path + ": " + violations[0].message));
    }
    return result;
  }

  static std::string text(const json& result) { return result["content"][0]["text"]; }

  // Starts a run through evaluate, waits for it through get_run, and returns its run id.
  std::string finished_run(const std::string& split = "train", int trials = 1) {
    json started = call("evaluate", {{"tenant_id", kTenant}, {"split", split}, {"trials", trials}});
    REQUIRE_MESSAGE(started["isError"] == false, text(started));
    const std::string run_id = started["structuredContent"]["run"]["run_id"];
    for (int attempt = 0; attempt < 10; ++attempt) {
      json run = call("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}, {"wait_seconds", 50}});
      if (run["structuredContent"]["run"]["state"] != "running") break;
    }
    return run_id;
  }

  const std::filesystem::path& workspace() const { return workspace_dir_.path(); }
  RunManager& runs() { return *context_.runs; }
  const ServerContext& context() const { return context_; }

  RecordingProgress progress;

 private:
  fapo::testing::TempDir workspace_dir_;
  ServerContext context_;
  std::unique_ptr<ToolTable> table_;
};

}  // namespace fapo::mcp::testing
