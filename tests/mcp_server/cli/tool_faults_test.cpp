// A react agent whose tool server misbehaves: it fails to start, crashes mid-run, hangs, returns
// errors, returns oversized results or prints garbage. Every run must complete with each case
// recording what happened, and a long-lived `fapo mcp` must hold as many descriptors and child
// processes after such a run as before it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "mcp_server/client/stdio_client.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using fapo::testing::TempDir;
using fapo::testing::write_text;
using nlohmann::json;

namespace {

constexpr int kCases = 12;

fs::path fake_server() {
  return fapo::testing::source_dir() / "tests/mcp_server/tool_servers/fake_tool_server.py";
}

// A one-step react tenant whose only tool, "lookup", is served by the fake server run with
// `flags`. The simulated agent looks the case's key up and answers from the result.
void write_faulty_tenant(const fs::path& workspace, const std::vector<std::string>& flags,
                         double tool_timeout_s = 1) {
  fs::path dir = workspace / "tenants" / "faulty";
  fs::create_directories(dir / "prompts");
  std::string dataset;
  for (int i = 1; i <= kCases; ++i) {
    std::string key = "k" + std::to_string(i);
    dataset += json{{"case_id", "c" + std::to_string(i)},
                    {"task_type", "lookup"},
                    {"context", {{"question", "Look up " + key}}},
                    {"expected", {{"answer", "value of " + key}}},
                    {"metadata", {{"key", key}}}}.dump() + "\n";
  }
  write_text(dir / "dataset.jsonl", dataset);
  write_text(dir / "prompts/agent.md", "User:\n${question}\n");
  write_text(dir / "chain.json", json{{"steps", {{{"id", "agent"}, {"kind", "react"},
                                                   {"prompt", "agent.md"},
                                                   {"tools", {"lookup"}},
                                                   {"max_iterations", 3},
                                                   {"max_result_chars", 2000},
                                                   {"tool_timeout_s", tool_timeout_s}}}},
                                      {"output", "agent"}}.dump());
  std::vector<std::string> args = {fake_server().string()};
  args.insert(args.end(), flags.begin(), flags.end());
  json tenant = {
      {"tenant_id", "faulty"},
      {"task_model", {{"provider", "sim"}, {"temperature", 0}, {"concurrency", 2}}},
      {"splits", {{"train", 1.0}, {"validation", 0.0}, {"test", 0.0}, {"stratify", nullptr}}},
      {"scorer", {{"type", "exact_match"}, {"field", "answer"}}},
      {"tools", {{"search", false},
                 {"servers", {{{"name", "fake"}, {"command", "python3"}, {"args", args},
                               {"allowed_tools", {"lookup"}}, {"startup_timeout_s", 5},
                               {"max_restarts", 2}}}}}},
      {"sim", {{"rules", {{{"name", "answer"}, {"when", {{"evidence_present", "answer"}}},
                           {"reply", "${expected.answer}"}},
                          {{"name", "give_up"}, {"when", {{"tool_result_present", true}}},
                           {"reply", "no answer"}},
                          {{"name", "call"},
                           {"tool_call", {{"name", "lookup"},
                                          {"arguments", {{"key", "${metadata.key}"}}}}}}}}}}};
  write_text(dir / "tenant.json", tenant.dump(2));
}

struct FaultyRun {
  json summary;
  std::vector<json> results;
  std::string server_log;
};

FaultyRun eval_faulty(const fs::path& workspace) {
  auto eval = fapo::testing::run_process({fapo::testing::fapo_binary().string(), "--workspace",
                                          workspace.string(), "eval", "faulty", "--json"});
  REQUIRE_MESSAGE(eval.exit_code == 0, eval.err);
  FaultyRun run;
  run.summary = json::parse(eval.out);
  fs::path dir = workspace / ".fapo/faulty/runs" / run.summary["run_id"].get<std::string>();
  std::ifstream in(dir / "results.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) run.results.push_back(json::parse(line));
  }
  if (fs::exists(dir / "tool_servers.log")) {
    run.server_log = fapo::testing::read_text(dir / "tool_servers.log");
  }
  return run;
}

// The react step's trajectory of a result line.
json trajectory_of(const json& result) {
  return result["trace"]["steps"][0]["detail"].value("trajectory", json::array());
}

std::size_t count_calls(const FaultyRun& run, const std::string& error_kind) {
  std::size_t count = 0;
  for (const json& result : run.results) {
    for (const json& call : trajectory_of(result)) {
      if (call.value("error_kind", "") == error_kind) ++count;
    }
  }
  return count;
}

void check_complete(const FaultyRun& run) {
  CHECK(run.summary["status"] == "complete");
  CHECK(run.summary["results"] == kCases);
  CHECK(run.summary["infrastructure_failures"] == 0);
  CHECK(run.results.size() == static_cast<std::size_t>(kCases));
}

json call_tool(fapo::mcp::StdioClient& client, const std::string& name, const json& arguments) {
  auto result = client.call_tool(name, arguments);
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  REQUIRE_MESSAGE(!result->is_error, result->text);
  return result->structured;
}

// Starts an evaluation through the MCP tools and waits (bounded) until it finishes.
json evaluate_over_mcp(fapo::mcp::StdioClient& client) {
  json run = call_tool(client, "evaluate",
                       {{"tenant_id", "faulty"}, {"split", "train"}, {"trials", 1}})["run"];
  for (int i = 0; i < 20 && run["state"] == "running"; ++i) {
    run = call_tool(client, "get_run", {{"tenant_id", "faulty"},
                                        {"run_id", run["run_id"]},
                                        {"wait_seconds", 30}})["run"];
  }
  return run;
}

}  // namespace

TEST_CASE("tool faults: a server that crashes mid-run is restarted, then given up; the run completes") {
  TempDir workspace;
  write_faulty_tenant(workspace.path(), {"--crash-on-call", "3"});
  FaultyRun run = eval_faulty(workspace.path());
  check_complete(run);
  CHECK(count_calls(run, "other") >= 3);  // each crash, then the calls after the last restart
  bool exited = false, down = false;
  for (const json& result : run.results) {
    for (const json& call : trajectory_of(result)) {
      const std::string error = call.value("error", "");
      exited = exited || error.find("exited") != std::string::npos;
      down = down || error.find("restart") != std::string::npos;
    }
  }
  CHECK(exited);
  CHECK(down);
  CHECK(run.summary["mean"].get<double>() > 0);  // calls before the crashes succeeded
  CHECK(run.server_log.find("crashing on call 3") != std::string::npos);
}

TEST_CASE("tool faults: a hung call times out, the server is replaced, later calls succeed") {
  TempDir workspace;
  write_faulty_tenant(workspace.path(), {"--hang-on-call", "4"});
  FaultyRun run = eval_faulty(workspace.path());
  check_complete(run);
  CHECK(count_calls(run, "timeout") >= 1);
  // Results are in completion order: some case finishing after the first timeout still passed.
  bool timed_out = false, recovered = false;
  for (const json& result : run.results) {
    for (const json& call : trajectory_of(result)) {
      timed_out = timed_out || call.value("error_kind", "") == "timeout";
    }
    recovered = recovered || (timed_out && result["score"] == 100.0);
  }
  CHECK(recovered);
}

TEST_CASE("tool faults: a server that fails to start leaves its tools unavailable in every case") {
  TempDir workspace;
  write_faulty_tenant(workspace.path(), {"--exit-at-initialize"});
  FaultyRun run = eval_faulty(workspace.path());
  check_complete(run);
  for (const json& result : run.results) {
    const json& detail = result["trace"]["steps"][0]["detail"];
    REQUIRE(detail.contains("unavailable_tools"));
    CHECK(detail["unavailable_tools"]["lookup"].get<std::string>().find("fake") !=
          std::string::npos);
  }
  CHECK(run.summary["mean"].get<double>() == 0);
}

TEST_CASE("tool faults: tool errors and JSON-RPC errors are recorded with their kinds") {
  TempDir errors;
  write_faulty_tenant(errors.path(), {"--is-error", "lookup failed: backend unavailable"});
  FaultyRun is_error = eval_faulty(errors.path());
  check_complete(is_error);
  CHECK(count_calls(is_error, "other") == static_cast<std::size_t>(kCases));

  TempDir rpc;
  write_faulty_tenant(rpc.path(), {"--rpc-error", "-32602:Invalid arguments for lookup"});
  FaultyRun rpc_error = eval_faulty(rpc.path());
  check_complete(rpc_error);
  CHECK(count_calls(rpc_error, "invalid_arguments") == static_cast<std::size_t>(kCases));
}

TEST_CASE("tool faults: an oversized result is cut before the model sees it; garbage lines are skipped") {
  TempDir big;
  write_faulty_tenant(big.path(), {"--oversized", "5000000"});
  FaultyRun oversized = eval_faulty(big.path());
  check_complete(oversized);
  for (const json& result : oversized.results) {
    const json& step = result["trace"]["steps"][0];
    const json trajectory = trajectory_of(result);
    REQUIRE(!trajectory.empty());
    CHECK(trajectory[0]["truncated"] == true);
    for (const json& message : step["messages"]) {
      CHECK(message["content"].get<std::string>().size() < 2100);
    }
  }

  TempDir noisy;
  write_faulty_tenant(noisy.path(), {"--garbage"});
  FaultyRun garbage = eval_faulty(noisy.path());
  check_complete(garbage);
  CHECK(garbage.summary["mean"].get<double>() == 100);
}

TEST_CASE("tool faults: fapo mcp holds as many descriptors and children after a crashing run") {
  TempDir workspace;
  write_faulty_tenant(workspace.path(), {"--crash-on-call", "3"});
  fapo::mcp::StdioClientOptions options;
  options.argv = {fapo::testing::fapo_binary().string(), "mcp", "--workspace",
                  workspace.path().string()};
  options.stderr_path = workspace.path() / "server.log";
  auto client = fapo::mcp::StdioClient::start(options);
  REQUIRE(client.ok());
  REQUIRE((*client)->initialize("tool-faults-test", "1.0").ok());
  const pid_t server = (*client)->pid();

  // The first run opens what the server keeps for the tenant (journal, split manifest).
  json first = evaluate_over_mcp(**client);
  REQUIRE(first["state"] == "complete");
  const fapo::testing::Census before = fapo::testing::take_census(server);

  json second = evaluate_over_mcp(**client);
  REQUIRE(second["state"] == "complete");
  // Reaping happens as the run's tool set is released; allow it a moment.
  fapo::testing::Census after = fapo::testing::take_census(server);
  for (int i = 0; i < 50 && after.children != before.children; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = fapo::testing::take_census(server);
  }
  MESSAGE("fapo mcp around a run with a crashing tool server: descriptors " << before.open_fds
          << " -> " << after.open_fds << ", child processes " << before.children << " -> "
          << after.children << ", zombies " << after.zombies);
  CHECK(before.children == 0);
  CHECK(after.children == 0);
  CHECK(after.zombies == 0);
  CHECK(after.open_fds == before.open_fds);
  CHECK((*client)->shutdown() == 0);
}

TEST_CASE("tool faults: validate --tools starts the servers, lists their tools, names a failure") {
  TempDir healthy;
  write_faulty_tenant(healthy.path(), {});
  auto listed = fapo::testing::run_process({fapo::testing::fapo_binary().string(), "--workspace",
                                            healthy.path().string(), "validate", "faulty",
                                            "--tools"});
  CHECK_MESSAGE(listed.exit_code == 0, listed.err);
  CHECK(listed.out.find("fake: lookup") != std::string::npos);

  TempDir broken;
  write_faulty_tenant(broken.path(), {"--exit-at-initialize"});
  auto failed = fapo::testing::run_process({fapo::testing::fapo_binary().string(), "--workspace",
                                            broken.path().string(), "validate", "faulty",
                                            "--tools", "--json"});
  CHECK(failed.exit_code == 2);
  json report = json::parse(failed.out);
  REQUIRE(report["tools"].size() == 1);
  CHECK(report["tools"][0]["provider"] == "fake");
  CHECK(report["tools"][0]["error"].get<std::string>().find("failed to start") !=
        std::string::npos);
}
