#include "engine/run/run_writer.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/run/run_store.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

WallTime start_time() { return WallTime(std::chrono::seconds(1735787045)); }

struct Fixture {
  testing::TempDir temp;
  ManualWallClock clock{start_time()};
  Workspace workspace = *Workspace::open(temp.path());
  RunStore store{workspace, "qa", clock};

  RunWriter create(std::vector<std::string> cases, int trials) {
    RunPlan plan;
    plan.variant_id = "v001";
    plan.split = "train";
    plan.trials = trials;
    plan.case_ids = std::move(cases);
    auto writer = store.create(std::move(plan));
    REQUIRE(writer.ok());
    return std::move(*writer);
  }
  RunFiles files(const RunWriter& writer) const {
    return workspace.run_files("qa", writer.plan().run_id);
  }
};

json result(const std::string& case_id, int trial, double score = 100) {
  return json{{"case_id", case_id}, {"trial", trial}, {"composite_score", score}};
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> lines = split(testing::read_text(path), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

TEST_CASE("refuses a second result for the same case and trial, writing nothing") {
  Fixture f;
  RunWriter writer = f.create({"c1"}, 2);
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  Status again = writer.append_result(result("c1", 0, 50));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::kInternal);
  CHECK(again.error().message.find("case 'c1' trial 0 already has a result") != std::string::npos);
  CHECK(lines_of(f.files(writer).results).size() == 1);
  CHECK(writer.append_result(result("c1", 1)).ok());
  CHECK(writer.done() == RunWriter::DoneSet{{"c1", 0}, {"c1", 1}});
}

TEST_CASE("refuses result lines that do not name a planned case and trial") {
  Fixture f;
  RunWriter writer = f.create({"c1"}, 2);
  struct Bad {
    json line;
    const char* fragment;
  };
  std::vector<Bad> bad = {
      {json::array(), "must be a JSON object"},
      {json{{"trial", 0}}, "string field 'case_id'"},
      {json{{"case_id", "c1"}}, "integer field 'trial'"},
      {json{{"case_id", "c1"}, {"trial", 0.5}}, "integer field 'trial'"},
      {result("c9", 0), "case 'c9' is not in the run's plan"},
      {result("c1", 2), "trial 2 is outside 0..1"},
      {result("c1", -1), "trial -1 is outside 0..1"},
  };
  for (const Bad& b : bad) {
    INFO(b.line.dump());
    Status status = writer.append_result(b.line);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == ErrorCode::kInternal);
    CHECK(status.error().message.find(b.fragment) != std::string::npos);
  }
  CHECK(lines_of(f.files(writer).results).empty());
  CHECK(writer.results_written() == 0);
}

TEST_CASE("8 threads appending concurrently leave exactly one well-formed line per result") {
  Fixture f;
  constexpr int kCases = 500;
  constexpr int kTrials = 4;
  constexpr int kThreads = 8;
  std::vector<std::string> cases;
  for (int i = 0; i < kCases; ++i) cases.push_back("case-" + std::to_string(i));
  RunWriter writer = f.create(cases, kTrials);
  std::vector<std::thread> workers;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // Each thread owns the pairs whose index is t modulo kThreads.
      for (int index = t; index < kCases * kTrials; index += kThreads) {
        json line = result(cases[index / kTrials], index % kTrials);
        line["final_output"] = std::string(200 + index % 50, 'x');  // lines of varied length
        if (!writer.append_result(line).ok()) ++failures[t];
        if (writer.progress_due()) (void)writer.write_progress({{"thread", t}});
      }
    });
  }
  for (auto& worker : workers) worker.join();
  CHECK(failures == std::vector<int>(kThreads, 0));
  CHECK(writer.results_written() == kCases * kTrials);

  std::set<std::pair<std::string, int>> seen;
  for (const std::string& text : lines_of(f.files(writer).results)) {
    json line = json::parse(text, nullptr, false);
    REQUIRE_FALSE(line.is_discarded());
    CHECK(line["final_output"].get<std::string>().find_first_not_of('x') == std::string::npos);
    seen.emplace(line["case_id"].get<std::string>(), line["trial"].get<int>());
  }
  CHECK(seen.size() == static_cast<std::size_t>(kCases * kTrials));
  CHECK(lines_of(f.files(writer).results).size() == static_cast<std::size_t>(kCases * kTrials));
}

TEST_CASE("writes the manifest last, with hashes that match the files") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"}, 1);
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  REQUIRE(writer.append_result(result("c2", 0, 0)).ok());
  RunFiles files = f.files(writer);
  CHECK_FALSE(fs::exists(files.manifest));
  f.clock.advance(1500ms);
  REQUIRE(writer.finish({{"mean", 50.0}}, "complete").ok());

  json manifest = json::parse(testing::read_text(files.manifest));
  CHECK(manifest["status"] == "complete");
  CHECK(manifest["run_id"] == writer.plan().run_id);
  CHECK(manifest["summary"] == json{{"mean", 50.0}});
  CHECK(manifest["counts"] == json{{"cases", 2}, {"expected_results", 2}, {"results", 2}});
  CHECK(manifest["finished_at"] == "2025-01-02T03:04:06.500Z");
  const json& artifacts = manifest["artifacts"];
  CHECK(artifacts["plan.json"]["sha256"] == *sha256_file(files.plan));
  CHECK(artifacts["results.jsonl"]["sha256"] == *sha256_file(files.results));
  CHECK(artifacts["results.jsonl"]["bytes"] == fs::file_size(files.results));
  CHECK(artifacts["results.jsonl"]["lines"] == 2);
}

TEST_CASE("finishing as complete needs every result; finish happens once") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"}, 1);
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  Status early = writer.finish({}, "complete");
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().code == ErrorCode::kInternal);
  CHECK(early.error().message.find("with 1 of 2 results") != std::string::npos);
  CHECK_FALSE(fs::exists(f.files(writer).manifest));

  Status unknown = writer.finish({}, "done");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("unknown final status 'done'") != std::string::npos);

  REQUIRE(writer.finish({}, "cancelled").ok());
  Status twice = writer.finish({}, "cancelled");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message.find("finish() called twice") != std::string::npos);
  Status late = writer.append_result(result("c2", 0));
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message.find("after finish()") != std::string::npos);
}

TEST_CASE("rewrites progress at most every 200 ms unless forced") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"}, 1);
  fs::path progress_path = f.files(writer).progress;
  CHECK(writer.progress_due());
  REQUIRE(writer.write_progress({{"phase", "first"}}).ok());
  json first = json::parse(testing::read_text(progress_path));
  CHECK(first["phase"] == "first");
  CHECK(first["results_written"] == 0);
  CHECK(first["updated_at"] == "2025-01-02T03:04:05.000Z");

  REQUIRE(writer.append_result(result("c1", 0)).ok());
  f.clock.advance(199ms);
  CHECK_FALSE(writer.progress_due());
  REQUIRE(writer.write_progress({{"phase", "skipped"}}).ok());
  CHECK(json::parse(testing::read_text(progress_path))["phase"] == "first");

  f.clock.advance(1ms);
  CHECK(writer.progress_due());
  REQUIRE(writer.write_progress({{"phase", "second"}}).ok());
  json second = json::parse(testing::read_text(progress_path));
  CHECK(second["phase"] == "second");
  CHECK(second["results_written"] == 1);

  REQUIRE(writer.write_progress({{"phase", "forced"}}, /*force=*/true).ok());
  CHECK(json::parse(testing::read_text(progress_path))["phase"] == "forced");
}

}  // namespace
}  // namespace fapo
