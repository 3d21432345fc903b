#include "engine/protocol/laboratory.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr char kTenant[] = "multihop_qa";

// A private workspace with a copy of the example tenant; `budget` overrides tenant.json fields.
struct Fixture {
  explicit Fixture(const json& budget = json::object()) {
    testing::copy_tenant(kTenant, dir.path());
    const auto config = dir.path() / "tenants" / kTenant / "tenant.json";
    json doc = json::parse(testing::read_text(config));
    for (const auto& [key, value] : budget.items()) doc["budget"][key] = value;
    testing::write_text(config, doc.dump(2));
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    workspace = std::make_unique<Workspace>(*opened);
    auto lab_opened = Laboratory::open(*workspace, kTenant);
    REQUIRE_MESSAGE(lab_opened.ok(), (lab_opened.ok() ? "" : lab_opened.error().message));
    lab = std::move(lab_opened).value();
  }

  VariantRecord propose(const std::string& answer_suffix, const std::string& parent = "best") {
    Proposal proposal;
    proposal.parent = parent;
    proposal.hypothesis = "answers " + answer_suffix;
    proposal.edits.prompts["answer.md"] =
        lab->tenant().baseline.prompts.at("answer.md") + "\n" + answer_suffix;
    auto record = lab->propose(proposal);
    REQUIRE_MESSAGE(record.ok(), (record.ok() ? "" : record.error().message));
    return *record;
  }

  void review(const VariantRecord& record, const std::string& verdict) {
    REQUIRE(lab->journal()
                .append("review", "server", record.variant_id, "",
                        {{"verdict", verdict}, {"findings", json::array()}})
                .ok());
  }

  TempDir dir;
  std::unique_ptr<Workspace> workspace;
  std::unique_ptr<Laboratory> lab;
};

TEST_CASE("opening a tenant stores its baseline as v000, which is the best at first") {
  Fixture f;
  auto best = f.lab->best();
  REQUIRE(best.ok());
  CHECK(best->name == "v000");
  CHECK(best->variant_id == f.lab->tenant().baseline.content_hash());
  CHECK(f.lab->resolve("baseline")->name == "v000");
}

TEST_CASE("a proposal is stored from the best variant and journaled") {
  Fixture f;
  VariantRecord v1 = f.propose("Answer with the name only.");
  CHECK(v1.name == "v001");
  auto proposals = f.lab->journal().entries("proposal");
  REQUIRE(proposals.ok());
  REQUIRE(proposals->size() == 1);
  CHECK((*proposals)[0].subject == v1.variant_id);
  CHECK((*proposals)[0].reason == "answers Answer with the name only.");
  CHECK((*proposals)[0].payload["level"] == "prompt");
  CHECK((*proposals)[0].payload["parent"] == "v000");

  auto view = f.lab->view("v001");
  REQUIRE(view.ok());
  CHECK(view->parent_name == "v000");
  REQUIRE(view->diff.size() == 1);
  CHECK(view->diff[0]["file"] == "prompts/answer.md");
  CHECK(view->diff[0]["diff"].get<std::string>().find("+Answer with the name only.") !=
        std::string::npos);
  CHECK_FALSE(view->review.has_value());
  CHECK_FALSE(view->decision.has_value());
}

TEST_CASE("the variant budget caps proposals") {
  Fixture f(json{{"variants", 1}});
  f.propose("one");
  Proposal second;
  second.hypothesis = "two";
  second.edits.prompts["answer.md"] = "User: ${question} two";
  auto refused = f.lab->propose(second);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("variant") != std::string::npos);
  CHECK(f.lab->variants().list()->size() == 2);
}

TEST_CASE("the test split is reachable only through the final test") {
  Fixture f;
  const std::string baseline = f.lab->best()->variant_id;
  for (Purpose purpose : {Purpose::kTrain, Purpose::kValidation}) {
    Status refused = f.lab->check_evaluation_allowed(baseline, "test", purpose, 1);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::kInvalidInput);
    CHECK(refused.error().message.find("only through final_test") != std::string::npos);
  }
  Status mismatch = f.lab->check_evaluation_allowed(baseline, "train", Purpose::kFinalTest, 1);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().message.find("runs on the test split") != std::string::npos);
  CHECK(f.lab->check_evaluation_allowed(baseline, "test", Purpose::kFinalTest, 1).ok());
  CHECK(f.lab->check_evaluation_allowed(baseline, "train", Purpose::kTrain, 1).ok());
}

TEST_CASE("validation needs a review verdict of pass or warn, except for the baseline") {
  Fixture f;
  VariantRecord v1 = f.propose("Be brief.");
  CHECK(f.lab->check_evaluation_allowed(v1.variant_id, "train", Purpose::kTrain, 1).ok());
  Status unreviewed =
      f.lab->check_evaluation_allowed(v1.variant_id, "validation", Purpose::kValidation, 3);
  REQUIRE_FALSE(unreviewed.ok());
  CHECK(unreviewed.error().code == ErrorCode::kConflict);
  CHECK(unreviewed.error().message.find("has not been reviewed") != std::string::npos);

  f.review(v1, "fail");
  Status failed = f.lab->check_evaluation_allowed(v1.variant_id, "validation",
                                                  Purpose::kValidation, 3);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message.find("failed review") != std::string::npos);

  f.review(v1, "warn");
  CHECK(f.lab->check_evaluation_allowed(v1.variant_id, "validation", Purpose::kValidation, 3).ok());
  const std::string baseline = f.lab->resolve("baseline")->variant_id;
  CHECK(f.lab->check_evaluation_allowed(baseline, "validation", Purpose::kValidation, 3).ok());
}

TEST_CASE("an evaluation that does not fit the budget is refused before it starts") {
  Fixture f(json{{"task_calls", 10}});
  const std::string baseline = f.lab->best()->variant_id;
  Status refused = f.lab->check_evaluation_allowed(baseline, "train", Purpose::kTrain, 1);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("budget.task_calls") != std::string::npos);
}

TEST_CASE("concurrent proposals cannot overrun the variant cap") {
  Fixture f(json{{"variants", 2}});
  std::vector<std::thread> threads;
  std::atomic<int> stored{0};
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      Proposal proposal;
      proposal.hypothesis = "attempt " + std::to_string(i);
      proposal.edits.prompts["answer.md"] = "User: ${question} " + std::to_string(i);
      if (f.lab->propose(proposal).ok()) ++stored;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(stored == 2);
  CHECK(f.lab->variants().list()->size() == 3);
}

TEST_CASE("an unknown or malformed variant is refused by the gate") {
  Fixture f;
  Status refused = f.lab->check_evaluation_allowed("../../etc", "train", Purpose::kTrain, 1);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kInvalidInput);
}

TEST_CASE("history shows the best lineage, every variant, notes and exhausted levels") {
  Fixture f;
  VariantRecord v1 = f.propose("Name only.");
  VariantRecord v2 = f.propose("No hedging.", "v001");
  f.review(v1, "pass");
  REQUIRE(f.lab->journal()
              .append("decision", "server", v1.variant_id, "better on validation",
                      {{"candidate", v1.variant_id}, {"incumbent", f.lab->resolve("v000")->variant_id},
                       {"accepted", true}, {"split", "validation"}})
              .ok());
  REQUIRE(f.lab->record_note("prompt changes stopped helping", Level::kPrompt).ok());
  auto empty = f.lab->record_note("   ", std::nullopt);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("the note is empty") != std::string::npos);

  auto history = f.lab->history();
  REQUIRE_MESSAGE(history.ok(), (history.ok() ? "" : history.error().message));
  const json& h = *history;
  CHECK(h["best"]["name"] == "v001");
  CHECK(h["best"]["lineage"] == json{"v000", "v001"});
  REQUIRE(h["variants"].size() == 3);
  CHECK(h["variants"][1]["verdict"] == "pass");
  CHECK(h["variants"][1]["decision"] == "accepted");
  CHECK(h["variants"][1]["train_mean"].is_null());
  CHECK(h["variants"][2]["parent"] == "v001");
  CHECK(h["variants"][2]["verdict"].is_null());
  CHECK(h["exhausted_levels"] == json{"prompt"});
  REQUIRE(h["notes"].size() == 1);
  CHECK(h["notes"][0]["note"] == "prompt changes stopped helping");
  CHECK(h["budget"]["spent"]["variants"] == 2);
  CHECK(f.lab->resolve("best")->variant_id == v1.variant_id);
  (void)v2;
}

TEST_CASE("the pool opens a tenant once and shares it") {
  Fixture f;
  LaboratoryPool pool(*f.workspace);
  auto first = pool.get(kTenant);
  auto second = pool.get(kTenant);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->get() == second->get());
  auto missing = pool.get("nope");
  REQUIRE_FALSE(missing.ok());
  REQUIRE_FALSE(pool.get("../escape").ok());
}

TEST_CASE("the pool opens a tenant afresh when its files change") {
  Fixture f;
  LaboratoryPool pool(*f.workspace);
  auto first = pool.get(kTenant);
  REQUIRE(first.ok());
  const fs::path config = f.workspace->tenant_dir(kTenant) / "tenant.json";
  auto raw = nlohmann::json::parse(testing::read_text(config));
  raw["budget"] = {{"variants", 7}};
  testing::write_text(config, raw.dump(2));
  auto second = pool.get(kTenant);
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().message));
  CHECK(second->get() != first->get());
  CHECK((*second)->tenant().config.budget.variants == 7);
  CHECK((*first)->tenant().config.budget.variants != 7);  // calls in flight keep theirs
  auto third = pool.get(kTenant);
  REQUIRE(third.ok());
  CHECK(third->get() == second->get());
}

}  // namespace
}  // namespace fapo
