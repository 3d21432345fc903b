// Drives the built `fapo` binary the way a user does: validate, init, eval, resume.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace fs = std::filesystem;
using fapo::testing::TempDir;
using fapo::testing::run_process;
using fapo::testing::write_text;

namespace {

fapo::testing::ProcessResult fapo_cli(const fs::path& workspace, std::vector<std::string> args) {
  std::vector<std::string> argv = {fapo::testing::fapo_binary().string(), "--workspace",
                                   workspace.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

std::vector<nlohmann::json> read_results(const fs::path& file) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

fs::path only_run_dir(const fs::path& workspace, const std::string& tenant) {
  fs::path runs = workspace / ".fapo" / tenant / "runs";
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(runs)) dirs.push_back(entry.path());
  REQUIRE(dirs.size() == 1);
  return dirs.front();
}

// A one-step tenant with `cases` cases whose simulated answers depend on the case and trial.
void write_big_tenant(const fs::path& workspace, int cases) {
  fs::path dir = workspace / "tenants" / "big";
  nlohmann::json tenant = {
      {"tenant_id", "big"},
      {"task_model", {{"provider", "sim"}, {"model", "sim-1"}, {"temperature", 1.0}}},
      {"splits", {{"train", 0.9}, {"validation", 0.05}, {"test", 0.05}, {"seed", 2}}},
      {"scorer", {{"type", "exact_match"}, {"field", "label"}}},
      {"sim",
       {{"seed", 9},
        {"noise", {{"per_temperature", 0.1}}},
        {"rules",
         {{{"name", "verbose"}, {"when", {{"prompt_lacks_all", {"one word"}}}},
           {"probability", 0.4}, {"reply", "It is ${expected.label}, I believe."}},
          {{"name", "label"}, {"when", nlohmann::json::object()},
           {"reply", "${expected.label}"}}}}}}};
  write_text(dir / "tenant.json", tenant.dump());
  write_text(dir / "chain.json", R"J({"steps": [{"id": "a", "kind": "llm", "prompt": "a.md"}]})J");
  write_text(dir / "prompts" / "a.md", "Label: ${text}\n");
  std::string dataset;
  for (int i = 0; i < cases; ++i) {
    nlohmann::json line = {{"case_id", "c" + std::to_string(i)},
                           {"task_type", "t"},
                           {"context", {{"text", "item " + std::to_string(i)}}},
                           {"expected", {{"label", i % 2 ? "odd" : "even"}}}};
    dataset += line.dump() + "\n";
  }
  write_text(dir / "dataset.jsonl", dataset);
}

}  // namespace

TEST_CASE("validate accepts the example tenant and describes it") {
  TempDir workspace;
  fapo::testing::copy_tenant("multihop_qa", workspace.path());
  auto result = fapo_cli(workspace.path(), {"validate", "multihop_qa"});
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.out.find("multihop_qa: valid") != std::string::npos);
  CHECK(result.out.find("simulated") != std::string::npos);
}

TEST_CASE("validate reports every problem of a broken tenant at once, naming file and line") {
  TempDir workspace;
  fapo::testing::copy_tenant("multihop_qa", workspace.path());
  fs::path dir = workspace.path() / "tenants" / "multihop_qa";
  std::string dataset = fapo::testing::read_text(dir / "dataset.jsonl");
  std::size_t second_line = dataset.find('\n') + 1;
  std::string first = dataset.substr(0, second_line);
  // Line 2 duplicates line 1; line 3 is not JSON; line 4 has a number in its context.
  dataset = first + first + "{not json\n" +
            R"J({"case_id": "n1", "context": {"question": 7}, "expected": {"answer": "x"}})J" +
            "\n" + dataset.substr(second_line);
  write_text(dir / "dataset.jsonl", dataset);
  std::string answer = fapo::testing::read_text(dir / "prompts" / "answer.md");
  write_text(dir / "prompts" / "answer.md", answer + "\n${questoin}\n");
  auto result = fapo_cli(workspace.path(), {"validate", "multihop_qa"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("dataset.jsonl:2") != std::string::npos);
  CHECK(result.err.find("duplicate") != std::string::npos);
  CHECK(result.err.find("dataset.jsonl:3") != std::string::npos);
  CHECK(result.err.find("dataset.jsonl:4") != std::string::npos);
  CHECK(result.err.find("context.question") != std::string::npos);
  CHECK(result.err.find("did you mean ${question}?") != std::string::npos);
}

TEST_CASE("validate names an unknown step kind and an empty corpus") {
  TempDir workspace;
  fapo::testing::copy_tenant("multihop_qa", workspace.path());
  fs::path dir = workspace.path() / "tenants" / "multihop_qa";
  write_text(dir / "corpus.jsonl", "");
  auto empty = fapo_cli(workspace.path(), {"validate", "multihop_qa"});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("corpus is empty") != std::string::npos);
  write_text(dir / "chain.json",
             R"J({"steps": [{"id": "a", "kind": "retreive", "query": "${question}"}]})J");
  auto kind = fapo_cli(workspace.path(), {"validate", "multihop_qa"});
  CHECK(kind.exit_code == 2);
  CHECK(kind.err.find("unknown step kind 'retreive'") != std::string::npos);
  CHECK(kind.err.find("did you mean 'retrieve'?") != std::string::npos);
}

TEST_CASE("init scaffolds a tenant that validates and evaluates") {
  TempDir workspace;
  auto init = fapo_cli(workspace.path(), {"init", "reviews"});
  REQUIRE_MESSAGE(init.exit_code == 0, init.err);
  auto again = fapo_cli(workspace.path(), {"init", "reviews"});
  CHECK(again.exit_code == 3);
  CHECK(again.err.find("already exists") != std::string::npos);
  auto valid = fapo_cli(workspace.path(), {"validate", "reviews"});
  CHECK_MESSAGE(valid.exit_code == 0, valid.err);
  auto eval = fapo_cli(workspace.path(), {"eval", "reviews", "--json"});
  REQUIRE_MESSAGE(eval.exit_code == 0, eval.err);
  auto summary = nlohmann::json::parse(eval.out);
  CHECK(summary["status"] == "complete");
  CHECK(summary["simulated"] == true);
  auto bad = fapo_cli(workspace.path(), {"init", "../escape"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("every tenant shipped under tenants/ validates and evaluates on train") {
  for (const auto& entry : fs::directory_iterator(fapo::testing::source_dir() / "tenants")) {
    if (!fs::exists(entry.path() / "tenant.json")) continue;
    std::string name = entry.path().filename().string();
    CAPTURE(name);
    TempDir workspace;
    fapo::testing::copy_tenant(name, workspace.path());
    auto valid = fapo_cli(workspace.path(), {"validate", name});
    CHECK_MESSAGE(valid.exit_code == 0, valid.err);
    auto eval = fapo_cli(workspace.path(), {"eval", name, "--split", "train", "--json"});
    REQUIRE_MESSAGE(eval.exit_code == 0, eval.err);
    auto summary = nlohmann::json::parse(eval.out);
    CHECK(summary["status"] == "complete");
    CHECK(summary["results"] == summary["cases"]);
    CHECK(summary["infrastructure_failures"] == 0);
  }
}

TEST_CASE("a run killed with SIGKILL resumes, scoring every case exactly once, identically") {
  TempDir killed_ws;
  TempDir clean_ws;
  write_big_tenant(killed_ws.path(), 30000);
  write_big_tenant(clean_ws.path(), 30000);
  std::vector<std::string> eval_args = {fapo::testing::fapo_binary().string(), "--workspace",
                                        killed_ws.path().string(), "eval", "big", "--trials", "2",
                                        "--concurrency", "1", "--quiet"};
  pid_t pid = fapo::testing::spawn_process(eval_args, killed_ws.path() / "out",
                                           killed_ws.path() / "err");
  // Wait (bounded) until some results are on disk, then kill without warning.
  fs::path runs = killed_ws.path() / ".fapo" / "big" / "runs";
  bool started = false;
  for (int i = 0; i < 20000 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!fs::exists(runs)) continue;
    for (const auto& entry : fs::directory_iterator(runs)) {
      std::error_code ec;
      started = fs::file_size(entry.path() / "results.jsonl", ec) > 20000 && !ec;
    }
  }
  REQUIRE(started);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  fs::path run_dir = only_run_dir(killed_ws.path(), "big");
  CHECK_FALSE(fs::exists(run_dir / "manifest.json"));
  std::size_t before = read_results(run_dir / "results.jsonl").size();
  std::string run_id = run_dir.filename().string();

  auto resumed = fapo_cli(killed_ws.path(), {"eval", "big", "--resume", run_id, "--json"});
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  auto clean = fapo_cli(clean_ws.path(), {"eval", "big", "--trials", "2", "--json"});
  REQUIRE_MESSAGE(clean.exit_code == 0, clean.err);

  auto key = [](const nlohmann::json& line) {
    return line["case_id"].get<std::string>() + "#" + std::to_string(line["trial"].get<int>());
  };
  std::map<std::string, nlohmann::json> resumed_lines;
  for (const auto& line : read_results(run_dir / "results.jsonl")) {
    CHECK_MESSAGE(resumed_lines.emplace(key(line), line).second, "scored twice: " << key(line));
  }
  std::map<std::string, nlohmann::json> clean_lines;
  for (const auto& line : read_results(only_run_dir(clean_ws.path(), "big") / "results.jsonl")) {
    clean_lines.emplace(key(line), line);
  }
  CHECK(before < clean_lines.size());
  REQUIRE(resumed_lines.size() == clean_lines.size());
  for (const auto& [id, line] : clean_lines) {
    REQUIRE(resumed_lines.count(id));
    CHECK(resumed_lines[id]["score"] == line["score"]);
    CHECK(resumed_lines[id]["final_output"] == line["final_output"]);
  }
  auto resumed_summary = nlohmann::json::parse(resumed.out);
  auto clean_summary = nlohmann::json::parse(clean.out);
  CHECK(resumed_summary["mean"] == clean_summary["mean"]);
  CHECK(resumed_summary["status"] == "complete");
  auto again = fapo_cli(killed_ws.path(), {"eval", "big", "--resume", run_id});
  CHECK(again.exit_code == 3);
  CHECK(again.err.find("already complete") != std::string::npos);
}

TEST_CASE("a command scorer that crashes stops the run before any model call") {
  TempDir workspace;
  write_big_tenant(workspace.path(), 40);
  fs::path dir = workspace.path() / "tenants" / "big";
  write_text(dir / "crash.sh", "#!/bin/sh\necho 'boom: cannot import numpy' >&2\nexit 3\n");
  fs::permissions(dir / "crash.sh", fs::perms::owner_all);
  auto config = nlohmann::json::parse(fapo::testing::read_text(dir / "tenant.json"));
  config["scorer"] = {{"type", "command"}, {"command", {"crash.sh"}}};
  write_text(dir / "tenant.json", config.dump());
  auto eval = fapo_cli(workspace.path(), {"eval", "big"});
  CHECK(eval.exit_code != 0);
  CHECK(eval.err.find("crash.sh") != std::string::npos);
  fs::path runs = workspace.path() / ".fapo" / "big" / "runs";
  CHECK((!fs::exists(runs) || fs::is_empty(runs)));
}

TEST_CASE("evaluating an unknown tenant or a variant outside the workspace is refused") {
  TempDir workspace;
  fapo::testing::copy_tenant("multihop_qa", workspace.path());
  auto missing = fapo_cli(workspace.path(), {"eval", "nope"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no tenant 'nope'") != std::string::npos);
  auto outside = fapo_cli(workspace.path(), {"eval", "multihop_qa", "--variant", "/etc"});
  CHECK(outside.exit_code == 2);
}
