#include <doctest/doctest.h>

#include <thread>

#include "engine/protocol/laboratory.h"
#include "tests/engine/protocol/protocol_fixture.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::kAnswerFix;
using testing::ProtocolFixture;
using testing::Runs;

std::size_t test_runs(ProtocolFixture& f) {
  std::size_t count = 0;
  RunStore store(*f.workspace, testing::kTenant);
  for (const std::string& id : store.list_runs()) count += store.load_plan(id)->split == "test";
  return count;
}

TEST_CASE("the final test runs the best variant once and seals the result") {
  ProtocolFixture f;
  auto sealed = f.lab->final_test(*f.runs, "best", ProtocolFixture::waiting());
  REQUIRE_MESSAGE(sealed.ok(), (sealed.ok() ? "" : sealed.error().message));
  CHECK(sealed->status == "sealed");
  CHECK_FALSE(sealed->already_sealed);
  const json& result = sealed->result;
  CHECK(result["name"] == "v000");
  CHECK(result["trials"] == 3);
  CHECK(result["cases"] == 92);
  CHECK(result["mean"].get<double>() > 0);
  CHECK(result["standard_error"].get<double>() > 0);
  CHECK(result["sealed_at"].get<std::string>().back() == 'Z');
  CHECK(sealed->estimate.calls > 0);
  const auto file = f.workspace->state_dir(testing::kTenant) / "final_test.json";
  CHECK(json::parse(testing::read_text(file)) == result);
  auto runs = f.lab->journal().entries("run");
  REQUIRE(runs->size() == 1);
  CHECK((*runs)[0].payload["purpose"] == "final_test");
  CHECK((*runs)[0].payload["split"] == "test");

  SUBCASE("a second call returns the sealed result and spends nothing") {
    const std::size_t runs_before = f.runs_on_disk();
    auto again = f.lab->final_test(*f.runs, "best", ProtocolFixture::waiting());
    REQUIRE(again.ok());
    CHECK(again->already_sealed);
    CHECK(again->result == result);
    CHECK(again->estimate.calls == 0);
    CHECK(f.runs_on_disk() == runs_before);
    CHECK(f.journal_count("final_test") == 1);
    // Another session (a fresh Laboratory) sees the seal too.
    auto other = f.open_lab()->final_test(*f.runs, "v000", ProtocolFixture::waiting());
    REQUIRE(other.ok());
    CHECK(other->already_sealed);
  }
  SUBCASE("after the seal, proposals, comparisons and validation evaluations are refused") {
    const std::string expected =
        "the final test of tenant multihop_qa is sealed (variant v000, "
        "mean ";
    Proposal proposal;
    proposal.hypothesis = "one more";
    proposal.edits.prompts["answer.md"] = kAnswerFix;
    auto proposed = f.lab->propose(proposal);
    REQUIRE_FALSE(proposed.ok());
    CHECK(proposed.error().code == ErrorCode::kConflict);
    CHECK(proposed.error().message.find(expected) != std::string::npos);
    CHECK(proposed.error().message.find("the optimisation is finished") != std::string::npos);
    auto compared = f.lab->compare(*f.runs, "baseline", "best", "train");
    REQUIRE_FALSE(compared.ok());
    CHECK(compared.error().message.find(expected) != std::string::npos);
    const std::string baseline = f.lab->best()->variant_id;
    Status validation =
        f.lab->check_evaluation_allowed(baseline, "validation", Purpose::kValidation, 1);
    REQUIRE_FALSE(validation.ok());
    CHECK(validation.error().message.find(expected) != std::string::npos);
    CHECK(f.lab->check_evaluation_allowed(baseline, "train", Purpose::kTrain, 1).ok());
  }
}

TEST_CASE("concurrent final tests from two sessions run the test split once") {
  ProtocolFixture f;
  std::unique_ptr<Laboratory> other = f.open_lab();
  std::optional<Result<FinalTestOutcome>> first;
  std::optional<Result<FinalTestOutcome>> second;
  std::thread a([&] { first = f.lab->final_test(*f.runs, "best", ProtocolFixture::waiting()); });
  std::thread b([&] { second = other->final_test(*f.runs, "best", ProtocolFixture::waiting()); });
  a.join();
  b.join();
  REQUIRE_MESSAGE(first->ok(), (first->ok() ? "" : first->error().message));
  REQUIRE_MESSAGE(second->ok(), (second->ok() ? "" : second->error().message));
  CHECK((*first)->result == (*second)->result);
  CHECK((*first)->already_sealed != (*second)->already_sealed);
  CHECK(test_runs(f) == 1);
  CHECK(f.journal_count("final_test") == 1);
}

TEST_CASE("a final test that outlasts the wait is sealed by the next call, from the same run") {
  ProtocolFixture f(Runs::kGated);
  auto running =
      f.lab->final_test(*f.runs, "best", ProtocolFixture::waiting(std::chrono::milliseconds(0)));
  REQUIRE_MESSAGE(running.ok(), (running.ok() ? "" : running.error().message));
  CHECK(running->status == "running");
  REQUIRE(running->evaluation.has_value());
  CHECK(running->evaluation->started_now);
  CHECK_FALSE(
      std::filesystem::exists(f.workspace->state_dir(testing::kTenant) / "final_test.json"));
  // Another session asking meanwhile follows the same run instead of starting a second one.
  auto again = f.open_lab()->final_test(*f.runs, "best",
                                        ProtocolFixture::waiting(std::chrono::milliseconds(0)));
  REQUIRE(again.ok());
  CHECK(again->status == "running");
  CHECK_FALSE(again->evaluation->started_now);
  CHECK(again->evaluation->run_id == running->evaluation->run_id);

  f.gate.open();
  auto sealed = f.lab->final_test(*f.runs, "best", ProtocolFixture::waiting());
  REQUIRE_MESSAGE(sealed.ok(), (sealed.ok() ? "" : sealed.error().message));
  CHECK(sealed->status == "sealed");
  CHECK_FALSE(sealed->already_sealed);
  CHECK(sealed->result["run_id"] == running->evaluation->run_id);
  CHECK(test_runs(f) == 1);
}

TEST_CASE("only a reviewed variant takes the final test, and only the one under way") {
  ProtocolFixture f(Runs::kGated);
  VariantRecord fix = f.propose(kAnswerFix);
  auto unreviewed = f.lab->final_test(*f.runs, fix.name);
  REQUIRE_FALSE(unreviewed.ok());
  CHECK(unreviewed.error().code == ErrorCode::kConflict);
  CHECK(unreviewed.error().message.find(fix.name + " has not been reviewed") != std::string::npos);
  CHECK(f.runs_on_disk() == 0);

  REQUIRE(f.lab->final_test(*f.runs, "baseline").ok());  // starts and outlasts the wait
  REQUIRE(f.lab->review(fix.name)->verdict == "pass");
  auto switched = f.lab->final_test(*f.runs, fix.name);
  REQUIRE_FALSE(switched.ok());
  CHECK(switched.error().message.find("the final test of v000 is under way") != std::string::npos);
  CHECK(test_runs(f) == 1);
}

}  // namespace
}  // namespace fapo
