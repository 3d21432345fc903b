// The `command` scorer: protocol round trips, failures of the program, concurrency, and that
// no child process outlives its scorer.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "engine/base/strings.h"
#include "tests/engine/score/scorer_test_helpers.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::case_with;
using testing::config_error;
using testing::score_of;
using testing::scorer_from;

void write_script(const fs::path& path, const std::string& body) {
  testing::write_text(path, body);
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

// Records its pid in pids.txt, then scores 100 when the output equals expected.answer. The
// case's metadata can ask for stderr noise, a crash or a reply of its choosing.
constexpr const char* kEchoScorer = R"(#!/usr/bin/env python3
import json, os, sys
with open("pids.txt", "a") as f:
    f.write("%d\n" % os.getpid())
for line in sys.stdin:
    request = json.loads(line)
    case = request["case"]
    if request["type"] == "validate":
        print(json.dumps({"ok": "answer" in case["expected"]}), flush=True)
        continue
    meta = case["metadata"]
    sys.stderr.write("x" * meta.get("stderr_bytes", 0) + "\n")
    sys.stderr.flush()
    if "reply" in meta:
        print(meta["reply"], flush=True)
        continue
    output = request["output"]
    correct = output == case["expected"]["answer"]
    print(json.dumps({"composite_score": 100 if correct else 0,
                      "score_breakdown": {"length": len(output),
                                          "saw_trace": "trace" in request}}), flush=True)
)";

std::vector<pid_t> recorded_pids(const fs::path& dir) {
  std::vector<pid_t> pids;
  if (!fs::exists(dir / "pids.txt")) return pids;
  for (const std::string& line : split(testing::read_text(dir / "pids.txt"), '\n')) {
    if (!line.empty()) pids.push_back(static_cast<pid_t>(std::stol(line)));
  }
  return pids;
}

bool is_reaped(pid_t pid) {
  errno = 0;
  bool no_child = ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
  errno = 0;
  bool gone = ::kill(pid, 0) == -1 && errno == ESRCH;
  return no_child && gone;
}

json command(std::vector<std::string> argv, double timeout_s = 30) {
  return {{"type", "command"}, {"command", argv}, {"timeout_s", timeout_s}};
}

Case case_asking(json metadata, std::string answer = "yes") {
  Case case_data = case_with({{"answer", answer}});
  case_data.metadata = std::move(metadata);
  return case_data;
}

Error score_error(const Scorer& scorer, const Case& case_data, const std::string& output) {
  Result<Score> score = scorer.score(case_data, output, CaseTrace{});
  REQUIRE_FALSE(score.ok());
  return score.error();
}

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

TEST_CASE("the example answer scorer validates and scores through the protocol") {
  fs::path tenant = testing::source_dir() / "tenants" / "multihop_qa";
  auto scorer = scorer_from(command({"scorers/answer_scorer.py"}), tenant);
  Case case_data = case_with({{"answer", "Tour Eiffel"}, {"aliases", {"the Eiffel Tower"}}});
  CHECK(scorer->validate_case(case_data).ok());
  Status rejected = scorer->validate_case(case_with({{"solution", "x"}}));
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.error().code == ErrorCode::kInvalidInput);
  CHECK(rejected.error().message ==
        "scorer 'scorers/answer_scorer.py' rejected the case: field 'expected.answer' is missing");

  Score exact = score_of(*scorer, case_data, "Eiffel tower.");
  CHECK(exact.composite == 100.0);
  CHECK(exact.breakdown.at("exact_match") == 1.0);
  CHECK(exact.breakdown.at("token_f1") == 1.0);
  Score partial = score_of(*scorer, case_with({{"answer", "Barack Obama"}}), "Obama");
  CHECK(partial.composite == 0.0);
  CHECK(partial.breakdown.at("token_f1") == doctest::Approx(2.0 / 3.0));
  Score words = score_of(*scorer, case_with({{"answer", 2}}), "two");
  CHECK(words.composite == 100.0);
}

TEST_CASE("the example scorer agrees with the tenant's built-in scorer on every case") {
  fs::path tenant = testing::source_dir() / "tenants" / "multihop_qa";
  json config = json::parse(testing::read_text(tenant / "tenant.json"));
  auto builtin = scorer_from(config.at("scorer"), tenant);
  auto external = scorer_from(command({"scorers/answer_scorer.py"}), tenant);
  int cases = 0;
  for (const std::string& line : split(testing::read_text(tenant / "dataset.jsonl"), '\n')) {
    if (trim(line).empty()) continue;
    json record = json::parse(line);
    Case case_data = case_with(record.at("expected"), record.at("case_id"));
    CAPTURE(case_data.case_id);
    REQUIRE(builtin->validate_case(case_data).ok());
    REQUIRE(external->validate_case(case_data).ok());
    std::string answer = record.at("expected").at("answer").get<std::string>();
    for (const std::string& output : {answer + ".", "It might be " + answer}) {
      CHECK(score_of(*builtin, case_data, output).composite ==
            score_of(*external, case_data, output).composite);
    }
    ++cases;
  }
  CHECK(cases > 0);
}

TEST_CASE("a command found on PATH gets its arguments, run in the tenant directory") {
  fs::path tenant = testing::source_dir() / "tenants" / "multihop_qa";
  auto scorer =
      scorer_from(command({"python3", "scorers/answer_scorer.py", "--composite", "f1"}), tenant);
  Score score = score_of(*scorer, case_with({{"answer", "Barack Obama"}}), "Obama");
  CHECK(score.composite == doctest::Approx(100.0 * 2.0 / 3.0));
}

TEST_CASE("the program starts lazily, once, and serves many requests") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  auto scorer = scorer_from(command({"echo.py"}), dir.path());
  CHECK(recorded_pids(dir.path()).empty());
  for (int i = 0; i < 5; ++i) {
    Score score = score_of(*scorer, case_asking(json::object()), i % 2 ? "yes" : "no");
    CHECK(score.composite == (i % 2 ? 100.0 : 0.0));
    CHECK(score.breakdown.at("saw_trace") == 1.0);
  }
  CHECK(recorded_pids(dir.path()).size() == 1);
}

TEST_CASE("eight threads score through one command scorer and each gets its own reply") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  auto scorer = scorer_from(command({"echo.py"}), dir.path());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string answer = "answer-" + std::to_string(t) + "-" + std::to_string(i);
        std::string output = (i % 3 == 0) ? answer : answer + std::string(t + 1, '!');
        Result<Score> score = scorer->score(case_asking(json::object(), answer), output, {});
        bool right = score.ok() && score->composite == (i % 3 == 0 ? 100.0 : 0.0) &&
                     score->breakdown.at("length") == static_cast<double>(output.size());
        if (!right) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
  CHECK(recorded_pids(dir.path()).size() == 1);
}

TEST_CASE("large outputs and heavy stderr do not stall the exchange") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  auto scorer = scorer_from(command({"echo.py"}), dir.path());
  std::string output(3 * 1024 * 1024, 'a');
  Score score = score_of(*scorer, case_asking({{"stderr_bytes", 2 * 1024 * 1024}}), output);
  CHECK(score.breakdown.at("length") == static_cast<double>(output.size()));
}

TEST_CASE("no child process remains after the scorer is destroyed") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  {
    auto scorer = scorer_from(command({"echo.py"}), dir.path());
    CHECK(score_of(*scorer, case_asking(json::object()), "yes").composite == 100.0);
    REQUIRE(recorded_pids(dir.path()).size() == 1);
    pid_t pid = recorded_pids(dir.path()).front();
    CHECK(::kill(pid, 0) == 0);  // alive while the scorer lives
  }
  CHECK(is_reaped(recorded_pids(dir.path()).front()));
}

TEST_CASE("a program killed between requests is restarted and the old one reaped") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  auto scorer = scorer_from(command({"echo.py"}), dir.path());
  CHECK(score_of(*scorer, case_asking(json::object()), "yes").composite == 100.0);
  pid_t first = recorded_pids(dir.path()).front();
  REQUIRE(::kill(first, SIGKILL) == 0);
  CHECK(score_of(*scorer, case_asking(json::object()), "yes").composite == 100.0);
  CHECK(recorded_pids(dir.path()).size() == 2);
  CHECK(is_reaped(first));
}

TEST_CASE("a crashing program is reported with its exit status and stderr") {
  testing::TempDir dir;
  write_script(dir.path() / "crash.py", R"(#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    if request["type"] == "validate":
        print('{"ok": true}', flush=True)
        continue
    sys.stderr.write("Traceback (most recent call last):\n  File crash.py\n")
    sys.stderr.write("KeyError: 'answer' in case %s\n" % request["case"]["case_id"])
    sys.exit(3)
)");
  auto scorer = scorer_from(command({"crash.py"}), dir.path());
  CHECK(scorer->validate_case(case_with({{"answer", "x"}})).ok());
  Error error = score_error(*scorer, case_with({{"answer", "x"}}, "q17"), "x");
  CHECK(error.code == ErrorCode::kScorer);
  CHECK(contains(error.message, "command scorer 'crash.py', scoring case 'q17'"));
  CHECK(contains(error.message, "exited with status 3"));
  CHECK(contains(error.message, "restarted once"));
  CHECK(contains(error.message, "KeyError: 'answer' in case q17"));
}

TEST_CASE("a program killed by a signal is reported with the signal") {
  testing::TempDir dir;
  write_script(dir.path() / "segv.sh", "#!/bin/sh\nread request\nkill -SEGV $$\n");
  auto scorer = scorer_from(command({"segv.sh"}), dir.path());
  Error error = score_error(*scorer, case_with({{"answer", "x"}}), "x");
  CHECK(contains(error.message, "was killed by signal 11"));
  CHECK(contains(error.message, "it wrote nothing to stderr"));
}

TEST_CASE("a program printing garbage is reported with the line and what it printed") {
  testing::TempDir dir;
  write_script(dir.path() / "chatty.sh", "#!/bin/sh\nwhile read request; do echo hello; done\n");
  auto scorer = scorer_from(command({"chatty.sh"}), dir.path());
  Error error = score_error(*scorer, case_with({{"answer", "x"}}), "x");
  CHECK(error.code == ErrorCode::kScorer);
  CHECK(contains(error.message, "scorer printed non-JSON on line 1: 'hello'"));
  CHECK(contains(error.message, "chatty.sh"));
  Status validation = scorer->validate_case(case_with({{"answer", "x"}}));
  REQUIRE_FALSE(validation.ok());
  CHECK(validation.error().code == ErrorCode::kScorer);
  CHECK(contains(validation.error().message, "validating case 'c1'"));
}

TEST_CASE("replies without a valid composite score are refused") {
  testing::TempDir dir;
  write_script(dir.path() / "echo.py", kEchoScorer);
  auto scorer = scorer_from(command({"echo.py"}), dir.path());
  Error missing = score_error(*scorer, case_asking({{"reply", R"({"score": 1})"}}), "x");
  CHECK(contains(missing.message, "the reply has no \"composite_score\": '{\"score\":1}'"));
  Error range = score_error(*scorer, case_asking({{"reply", R"({"composite_score": 150})"}}), "");
  CHECK(contains(range.message, "\"composite_score\" must be a number in [0, 100], got 150"));
  Error breakdown = score_error(
      *scorer, case_asking({{"reply", R"({"composite_score": 5, "score_breakdown": {"a": "x"}})"}}),
      "");
  CHECK(contains(breakdown.message, "\"score_breakdown.a\" must be a number"));
  Error reported = score_error(*scorer, case_asking({{"reply", R"({"error": "no gold"})"}}), "");
  CHECK(contains(reported.message, "it reported an error: no gold"));
  // The program is still in step after all of these.
  CHECK(score_of(*scorer, case_asking(json::object()), "yes").composite == 100.0);
  CHECK(recorded_pids(dir.path()).size() == 1);
}

TEST_CASE("a validate reply without a boolean ok is a protocol error") {
  testing::TempDir dir;
  write_script(dir.path() / "empty.sh", "#!/bin/sh\nwhile read request; do echo '{}'; done\n");
  auto scorer = scorer_from(command({"empty.sh"}), dir.path());
  Status status = scorer->validate_case(case_with({{"answer", "x"}}));
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kScorer);
  CHECK(contains(status.error().message, "replied without a boolean \"ok\": '{}'"));
}

TEST_CASE("a program that does not reply in time is stopped and reported") {
  testing::TempDir dir;
  write_script(dir.path() / "slow.sh", "#!/bin/sh\necho $$ > pids.txt\nexec sleep 600\n");
  auto scorer = scorer_from(command({"slow.sh"}, 0.2), dir.path());
  Error error = score_error(*scorer, case_with({{"answer", "x"}}), "x");
  CHECK(error.code == ErrorCode::kScorer);
  CHECK(contains(error.message, "command scorer 'slow.sh'"));
  CHECK(contains(error.message, "no reply within 0.2 s; the program was stopped"));
  REQUIRE(recorded_pids(dir.path()).size() == 1);
  CHECK(is_reaped(recorded_pids(dir.path()).front()));
}

TEST_CASE("a program that cannot run is reported with its name") {
  testing::TempDir dir;
  Error missing = config_error(command({"nowhere.py"}), dir.path());
  CHECK(missing.code == ErrorCode::kScorer);
  CHECK(contains(missing.message, "scorer.command[0]: program 'nowhere.py' not found"));

  testing::write_text(dir.path() / "plain.py", "print('hi')\n");
  Error not_executable = config_error(command({"plain.py"}), dir.path());
  CHECK(contains(not_executable.message, "is not executable; run chmod +x"));

  write_script(dir.path() / "bad_interpreter.py", "#!/nonexistent/python9\n");
  auto scorer = scorer_from(command({"bad_interpreter.py"}), dir.path());
  Error error = score_error(*scorer, case_with({{"answer", "x"}}), "x");
  CHECK(error.code == ErrorCode::kScorer);
  CHECK(contains(error.message, "could not start"));
  CHECK(contains(error.message, "bad_interpreter.py"));
  CHECK(contains(error.message, "#! line"));
}

TEST_CASE("command configuration errors name the field") {
  CHECK(config_error({{"type", "command"}}).message == "scorer.command: is missing");
  CHECK(config_error({{"type", "command"}, {"command", json::array()}})
            .message.find("scorer.command: must name a program") == 0);
  Error timeout = config_error(command({"python3"}, 0));
  CHECK(timeout.message == "scorer.timeout_s: must be more than 0 and at most 86400 (a day)");
}

}  // namespace
}  // namespace fapo
