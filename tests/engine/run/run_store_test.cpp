#include "engine/run/run_store.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "engine/base/strings.h"
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

  static RunPlan plan(std::vector<std::string> cases, int trials = 1) {
    RunPlan plan;
    plan.variant_id = "v002";
    plan.split = "validation";
    plan.trials = trials;
    plan.case_ids = std::move(cases);
    plan.settings = {{"scorer", {{"type", "exact_match"}}}, {"split_fingerprint", "f00d"}};
    return plan;
  }
  RunWriter create(std::vector<std::string> cases, int trials = 1) {
    auto writer = store.create(plan(std::move(cases), trials));
    REQUIRE(writer.ok());
    return std::move(*writer);
  }
  RunFiles files(const std::string& run_id) const { return workspace.run_files("qa", run_id); }
};

json result(const std::string& case_id, int trial) {
  return json{{"case_id", case_id}, {"trial", trial}, {"composite_score", 100}};
}

std::vector<json> read_results(const RunStore& store, const std::string& run_id) {
  std::vector<json> lines;
  Status status = store.for_each_result(run_id, [&](const json& line) { lines.push_back(line); });
  REQUIRE(status.ok());
  return lines;
}

void append_raw(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

TEST_CASE("creates a run, stores its results and reads them back after finishing") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"}, 2);
  const std::string run_id = writer.plan().run_id;
  CHECK(check_run_id(run_id).ok());
  CHECK(run_id.rfind("r20250102-030405-", 0) == 0);
  CHECK(writer.plan().tenant_id == "qa");
  CHECK(writer.plan().created_at == "2025-01-02T03:04:05.000Z");
  CHECK(writer.done().empty());

  auto status = f.store.status(run_id);
  REQUIRE(status.ok());
  CHECK(status->state == RunState::kRunning);
  CHECK(status->manifest.is_null());

  for (const char* id : {"c1", "c2"}) {
    for (int trial = 0; trial < 2; ++trial) REQUIRE(writer.append_result(result(id, trial)).ok());
  }
  REQUIRE(writer.finish({{"mean", 100}}, "complete").ok());

  auto plan = f.store.load_plan(run_id);
  REQUIRE(plan.ok());
  CHECK(plan->run_id == run_id);
  CHECK(plan->variant_id == "v002");
  CHECK(plan->split == "validation");
  CHECK(plan->trials == 2);
  CHECK(plan->case_ids == std::vector<std::string>{"c1", "c2"});
  CHECK(plan->settings["split_fingerprint"] == "f00d");

  std::vector<json> lines = read_results(f.store, run_id);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == result("c1", 0));
  CHECK(lines[3] == result("c2", 1));

  status = f.store.status(run_id);
  REQUIRE(status.ok());
  CHECK(status->state == RunState::kComplete);
  CHECK(status->manifest["summary"]["mean"] == 100);
}

TEST_CASE("refuses plans with no trials, repeated cases or another tenant") {
  Fixture f;
  auto no_trials = f.store.create(Fixture::plan({"c1"}, 0));
  REQUIRE_FALSE(no_trials.ok());
  CHECK(no_trials.error().code == ErrorCode::kInvalidInput);
  CHECK(no_trials.error().message.find("trials must be at least 1") != std::string::npos);

  auto repeated = f.store.create(Fixture::plan({"c1", "c2", "c1"}));
  REQUIRE_FALSE(repeated.ok());
  CHECK(repeated.error().message.find("case 'c1' is listed twice") != std::string::npos);

  RunPlan other = Fixture::plan({"c1"});
  other.tenant_id = "other";
  auto foreign = f.store.create(other);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().code == ErrorCode::kInternal);
  CHECK(f.store.list_runs().empty());
}

TEST_CASE("resume drops a partial last line and knows which results are done") {
  Fixture f;
  std::string run_id;
  {
    RunWriter writer = f.create({"c1", "c2", "c3"}, 2);
    run_id = writer.plan().run_id;
    REQUIRE(writer.append_result(result("c1", 0)).ok());
    REQUIRE(writer.append_result(result("c2", 1)).ok());
    REQUIRE(writer.append_result(result("c1", 1)).ok());
  }  // the process "dies": no finish, no manifest
  fs::path results = f.files(run_id).results;
  append_raw(results, R"({"case_id":"c3","trial":0,"composite_sc)");  // a killed write

  auto status = f.store.status(run_id);
  REQUIRE(status.ok());
  CHECK(status->state == RunState::kInterrupted);
  CHECK(read_results(f.store, run_id).size() == 3);  // readers skip the partial line

  auto resumed = f.store.reopen_for_resume(run_id);
  REQUIRE(resumed.ok());
  CHECK(resumed->done() == RunWriter::DoneSet{{"c1", 0}, {"c1", 1}, {"c2", 1}});
  CHECK(resumed->is_done("c2", 1));
  CHECK_FALSE(resumed->is_done("c3", 0));
  std::string text = testing::read_text(results);
  CHECK(text.back() == '\n');
  CHECK(text.find("composite_sc\"") == std::string::npos);
  CHECK(split(text, '\n').size() == 4);  // three lines and the empty tail

  Status duplicate = resumed->append_result(result("c1", 1));
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().code == ErrorCode::kInternal);
  for (auto [id, trial] :
       std::vector<std::pair<std::string, int>>{{"c2", 0}, {"c3", 0}, {"c3", 1}}) {
    REQUIRE(resumed->append_result(result(id, trial)).ok());
  }
  REQUIRE(resumed->finish({}, "complete").ok());
  CHECK(read_results(f.store, run_id).size() == 6);
}

TEST_CASE("refuses to resume a complete run") {
  Fixture f;
  RunWriter writer = f.create({"c1"});
  std::string run_id = writer.plan().run_id;
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  REQUIRE(writer.finish({}, "complete").ok());
  auto resumed = f.store.reopen_for_resume(run_id);
  REQUIRE_FALSE(resumed.ok());
  CHECK(resumed.error().code == ErrorCode::kConflict);
  CHECK(resumed.error().message == "run " + run_id + " is already complete; start a new run");
}

TEST_CASE("a cancelled run can be resumed and completed") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"});
  std::string run_id = writer.plan().run_id;
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  REQUIRE(writer.finish({{"reason", "user"}}, "cancelled").ok());
  CHECK(f.store.status(run_id)->state == RunState::kCancelled);

  auto resumed = f.store.reopen_for_resume(run_id);
  REQUIRE(resumed.ok());
  CHECK_FALSE(fs::exists(f.files(run_id).manifest));  // no stale manifest while it grows
  CHECK(f.store.status(run_id)->state == RunState::kRunning);
  REQUIRE(resumed->append_result(result("c2", 0)).ok());
  REQUIRE(resumed->finish({}, "complete").ok());
  CHECK(f.store.status(run_id)->state == RunState::kComplete);
}

TEST_CASE("a second writer on the same run is refused while the first holds it") {
  Fixture f;
  RunWriter writer = f.create({"c1"});
  std::string run_id = writer.plan().run_id;
  auto second = f.store.reopen_for_resume(run_id);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == ErrorCode::kConflict);
  CHECK(second.error().message == "run " + run_id + " is being written by another process (pid " +
                                      std::to_string(::getpid()) + ")");
  {
    RunWriter gone = std::move(writer);  // the lock moves with the writer, then is released
  }
  CHECK(f.store.status(run_id)->state == RunState::kInterrupted);
  CHECK(f.store.reopen_for_resume(run_id).ok());
}

TEST_CASE("a writer killed with SIGKILL keeps what it appended and frees the run") {
  Fixture f;
  std::string run_id = f.create({"c1", "c2"}).plan().run_id;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child takes the run, appends one result, reports, and waits to be killed.
    auto writer = f.store.reopen_for_resume(run_id);
    char outcome = writer.ok() && writer->append_result(result("c2", 0)).ok() ? 'y' : 'n';
    (void)!::write(ready[1], &outcome, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char outcome = 0;
  REQUIRE(::read(ready[0], &outcome, 1) == 1);
  ::close(ready[0]);
  CHECK(outcome == 'y');

  auto busy = f.store.reopen_for_resume(run_id);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().code == ErrorCode::kConflict);
  CHECK(busy.error().message.find("(pid " + std::to_string(child) + ")") != std::string::npos);
  CHECK(f.store.status(run_id)->state == RunState::kRunning);

  ::kill(child, SIGKILL);
  int wait_status = 0;
  REQUIRE(::waitpid(child, &wait_status, 0) == child);
  CHECK(f.store.status(run_id)->state == RunState::kInterrupted);
  auto resumed = f.store.reopen_for_resume(run_id);
  REQUIRE(resumed.ok());
  CHECK(resumed->done() == RunWriter::DoneSet{{"c2", 0}});
}

TEST_CASE("finishing releases the lock, so status stops reporting a writer") {
  Fixture f;
  RunWriter writer = f.create({"c1"});
  std::string run_id = writer.plan().run_id;
  REQUIRE(writer.finish({}, "failed").ok());
  auto status = f.store.status(run_id);
  REQUIRE(status.ok());
  CHECK(status->state == RunState::kFailed);
  CHECK(f.store.reopen_for_resume(run_id).ok());
}

TEST_CASE("unknown and malformed run ids are refused with guidance") {
  Fixture f;
  auto none = f.store.load_plan("r20250101-000000-000000");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ErrorCode::kNotFound);
  CHECK(none.error().message.find("the tenant has no runs yet") != std::string::npos);

  std::string existing = f.create({"c1"}).plan().run_id;
  auto missing = f.store.reopen_for_resume("r20250101-000000-000000");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("latest runs (newest last): " + existing) !=
        std::string::npos);
  CHECK(missing.error().message.find("history") != std::string::npos);

  for (const char* bad : {"../../tenants/qa", "..", "r1"}) {
    INFO(bad);
    auto status = f.store.status(bad);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == ErrorCode::kInvalidInput);
    CHECK(status.error().message.find("invalid run id") != std::string::npos);
  }
}

TEST_CASE("lists runs oldest first, ordering runs of the same second by creation") {
  Fixture f;
  CHECK(f.store.list_runs().empty());
  std::vector<std::string> created;
  f.clock.set(start_time() - 1h);
  created.push_back(f.create({"c1"}).plan().run_id);
  f.clock.set(start_time());
  for (int i = 0; i < 6; ++i) {  // same second, random suffixes, 10 ms apart
    created.push_back(f.create({"c1"}).plan().run_id);
    f.clock.advance(10ms);
  }
  // Neither a directory without a plan nor a foreign name is a run.
  fs::create_directories(f.workspace.runs_dir("qa") / "r20990101-000000-000000");
  fs::create_directories(f.workspace.runs_dir("qa") / "notes");
  CHECK(f.store.list_runs() == created);
}

TEST_CASE("reports a damaged results line with its line number") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2"});
  std::string run_id = writer.plan().run_id;
  REQUIRE(writer.append_result(result("c1", 0)).ok());
  append_raw(f.files(run_id).results, "not json\n");
  Status status = f.store.for_each_result(run_id, [](const json&) {});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kConflict);
  CHECK(status.error().message.find("results.jsonl:2: not a JSON object") != std::string::npos);
}

TEST_CASE("resume refuses results that contradict the plan") {
  Fixture f;
  std::string run_id = f.create({"c1"}).plan().run_id;
  fs::path results = f.files(run_id).results;
  append_raw(results, result("c1", 0).dump() + "\n" + result("zz", 0).dump() + "\n");
  auto resumed = f.store.reopen_for_resume(run_id);
  REQUIRE_FALSE(resumed.ok());
  CHECK(resumed.error().code == ErrorCode::kConflict);
  CHECK(resumed.error().message.find("results.jsonl:2: case 'zz' trial 0 is not part of") !=
        std::string::npos);
}

TEST_CASE("status carries the latest progress") {
  Fixture f;
  RunWriter writer = f.create({"c1"});
  std::string run_id = writer.plan().run_id;
  CHECK(f.store.status(run_id)->progress.is_null());
  REQUIRE(writer.write_progress({{"done", 0}, {"total", 1}}).ok());
  auto status = f.store.status(run_id);
  REQUIRE(status.ok());
  CHECK(status->progress["total"] == 1);
  CHECK(status->progress["results_written"] == 0);
}

}  // namespace
}  // namespace fapo
