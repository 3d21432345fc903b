#include "engine/budget/budget.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/run/evaluator.h"
#include "engine/run/spending.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr long long kValidationCases = 88;  // multihop_qa's validation split
constexpr long long kLlmSteps = 3;          // summarize, query2, answer

struct Fixture {
  TempDir dir;
  Workspace workspace = open();
  Tenant tenant = load();

  Workspace open() {
    testing::copy_tenant("multihop_qa", dir.path());
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    return *opened;
  }

  Tenant load() {
    auto loaded = load_tenant(workspace, "multihop_qa");
    REQUIRE_MESSAGE(loaded.ok(), loaded.error().message);
    return *loaded;
  }

  void evaluate_split(const std::string& split, int trials) {
    EvalRequest request;
    request.tenant_id = "multihop_qa";
    request.split = split;
    request.trials = trials;
    auto summary = evaluate(workspace, request);
    REQUIRE_MESSAGE(summary.ok(), summary.error().message);
  }

  BudgetState state(int variants = 1, int validation_evaluations = 0) {
    auto result = budget_state(workspace, tenant, variants, validation_evaluations);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    return *result;
  }
};

std::size_t placeholders(const std::string& text) {
  std::size_t count = 0;
  for (auto at = text.find("${"); at != std::string::npos; at = text.find("${", at + 1)) ++count;
  return count;
}

TEST_CASE("counts the upper bound of calls through votes, loops and skipped branches") {
  json chain = {
      {"steps",
       {{{"id", "first"}, {"kind", "llm"}, {"prompt", "a.md"}},
        {{"id", "skippable"},
         {"kind", "llm"},
         {"prompt", "a.md"},
         {"when", {{"step", "first"}, {"empty", true}}}},
        {{"id", "poll"},
         {"kind", "vote"},
         {"n", 5},
         {"step", {{"id", "ask"}, {"kind", "llm"}, {"prompt", "a.md"}}}},
        {{"id", "fix"},
         {"kind", "loop"},
         {"max_iterations", 3},
         {"steps",
          {{{"id", "check"}, {"kind", "llm"}, {"prompt", "a.md"}},
           {{"id", "revise"}, {"kind", "llm"}, {"prompt", "a.md"}}}}},
        {{"id", "look"}, {"kind", "retrieve"}, {"query", "${q}"}, {"k", 2}}}},
      {"output", "fix"}};
  auto parsed = parse_chain(chain, "chain.json");
  REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
  CHECK(max_calls_per_case(*parsed) == 1 + 1 + 5 + 3 * 2);
}

TEST_CASE("estimates a first evaluation from the prompts and max_tokens") {
  Fixture fixture;
  auto estimate = estimate_evaluation(fixture.workspace, fixture.tenant,
                                      fixture.tenant.baseline, "validation", 3);
  REQUIRE_MESSAGE(estimate.ok(), estimate.error().message);
  CHECK(estimate->calls == kLlmSteps * kValidationCases * 3);
  long long per_case = 0;
  for (const char* name : {"summarize.md", "query2.md", "answer.md"}) {
    const std::string& text = fixture.tenant.baseline.prompts.at(name);
    per_case += static_cast<long long>((text.size() + 3) / 4) +
                static_cast<long long>(placeholders(text)) * 256 + 1024;
  }
  CHECK(estimate->tokens == per_case * kValidationCases * 3);
  CHECK(estimate->money == 0.0);  // the simulated model costs nothing
}

TEST_CASE("estimates later evaluations from the tokens per call measured so far") {
  Fixture fixture;
  fixture.evaluate_split("train", 1);
  auto spent = tally_spending(fixture.workspace, "multihop_qa", {});
  REQUIRE(spent.ok());
  REQUIRE(spent->model_calls > 0);
  auto estimate = estimate_evaluation(fixture.workspace, fixture.tenant,
                                      fixture.tenant.baseline, "validation", 2);
  REQUIRE(estimate.ok());
  const double per_call = static_cast<double>(spent->tokens_in + spent->tokens_out) /
                          static_cast<double>(spent->model_calls);
  CHECK(estimate->calls == kLlmSteps * kValidationCases * 2);
  CHECK(static_cast<double>(estimate->tokens) ==
        doctest::Approx(std::ceil(per_call * static_cast<double>(estimate->calls))));
}

TEST_CASE("prices tokens for a paid provider") {
  Fixture fixture;
  fixture.tenant.config.task_model.provider = "openai";
  fixture.tenant.config.task_model.prices = {2.0, 8.0};
  auto estimate = estimate_evaluation(fixture.workspace, fixture.tenant,
                                      fixture.tenant.baseline, "validation", 1);
  REQUIRE(estimate.ok());
  // Output tokens alone: 1024 per call at 8 per million.
  const double output_money = static_cast<double>(estimate->calls) * 1024 * 8.0 / 1e6;
  CHECK(estimate->money > output_money);
}

TEST_CASE("rejects an unknown split and non-positive trials in an estimate") {
  Fixture fixture;
  auto bad_split = estimate_evaluation(fixture.workspace, fixture.tenant,
                                       fixture.tenant.baseline, "dev", 1);
  REQUIRE_FALSE(bad_split.ok());
  CHECK(bad_split.error().code == ErrorCode::kInvalidInput);
  CHECK(bad_split.error().message.find("unknown split 'dev'") != std::string::npos);
  auto no_trials = estimate_evaluation(fixture.workspace, fixture.tenant,
                                       fixture.tenant.baseline, "train", 0);
  REQUIRE_FALSE(no_trials.ok());
  CHECK(no_trials.error().message.find("trials") != std::string::npos);
}

TEST_CASE("reports caps, spending, the reserve and what is left") {
  Fixture fixture;
  fixture.tenant.config.budget.task_calls = 10000;
  fixture.tenant.config.budget.final_test_reserve = 0.1;
  const BudgetState empty = fixture.state(2, 1);
  CHECK(empty.calls_spent == 0);
  CHECK(empty.calls_reserve == 1000);
  CHECK(empty.calls_left == 10000);
  CHECK(empty.variants_left == 28);
  CHECK(empty.validation_evaluations_left == 19);
  // 9000 usable calls / 792 per validation evaluation = 11 evaluations; the first comparison
  // also pays for the incumbent's, so 10 comparisons.
  CHECK(empty.one_validation_evaluation.calls == kLlmSteps * kValidationCases * 3);
  CHECK(empty.validation_comparisons_left == 10);

  fixture.evaluate_split("validation", 3);
  const BudgetState after = fixture.state(2, 1);
  CHECK(after.calls_spent > 0);
  CHECK(after.calls_left == 10000 - after.calls_spent);
  CHECK(after.incumbent_evaluated_on_validation);
  const long long usable = after.calls_left - after.calls_reserve;
  CHECK(after.validation_comparisons_left == usable / after.one_validation_evaluation.calls);

  const json report = to_json(after);
  CHECK(report["remaining"]["calls"] == after.calls_left);
  CHECK(report["available_outside_reserve"]["calls"] == usable);
  CHECK(report["caps"]["task_money"].is_null());  // 0 = no money cap
  CHECK(report["validation_comparisons_left"] == after.validation_comparisons_left);
}

TEST_CASE("refuses an evaluation that would eat into the final-test reserve") {
  Fixture fixture;
  fixture.tenant.config.budget.task_calls = 1000;  // reserve 100, 900 usable
  const BudgetState state = fixture.state();
  const EvaluationEstimate estimate{950, 10, 0};
  const Status validation = check_fits(state, estimate, Purpose::kValidation);
  REQUIRE_FALSE(validation.ok());
  CHECK(validation.error().code == ErrorCode::kConflict);
  CHECK(validation.error().message.find("needs about 950 task-model calls but only 900") !=
        std::string::npos);
  CHECK(validation.error().message.find("final-test reserve") != std::string::npos);
  CHECK(validation.error().message.find("budget.task_calls") != std::string::npos);
  CHECK_FALSE(check_fits(state, estimate, Purpose::kTrain).ok());
  CHECK(check_fits(state, estimate, Purpose::kFinalTest).ok());
  CHECK_FALSE(check_fits(state, {1001, 10, 0}, Purpose::kFinalTest).ok());
  CHECK(check_fits(state, {900, 10, 0}, Purpose::kTrain).ok());
}

TEST_CASE("refuses on tokens and money caps, naming the cap") {
  Fixture fixture;
  fixture.tenant.config.budget.task_tokens = 10000;
  fixture.tenant.config.budget.task_money = 1.0;
  const BudgetState state = fixture.state();
  const Status tokens = check_fits(state, {10, 9500, 0}, Purpose::kTrain);
  REQUIRE_FALSE(tokens.ok());
  CHECK(tokens.error().message.find("tokens") != std::string::npos);
  CHECK(tokens.error().message.find("budget.task_tokens") != std::string::npos);
  const Status money = check_fits(state, {10, 10, 0.95}, Purpose::kTrain);
  REQUIRE_FALSE(money.ok());
  CHECK(money.error().message.find("budget.task_money") != std::string::npos);
  CHECK(check_fits(state, {10, 10, 0.95}, Purpose::kFinalTest).ok());
}

TEST_CASE("refuses a validation evaluation when the validation evaluations are used up") {
  Fixture fixture;
  fixture.tenant.config.budget.validation_evaluations = 4;
  const BudgetState state = fixture.state(1, 4);
  const Status refused = check_fits(state, {1, 1, 0}, Purpose::kValidation);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("all 4 validation evaluations") != std::string::npos);
  CHECK(check_fits(state, {1, 1, 0}, Purpose::kTrain).ok());
  CHECK(state.validation_comparisons_left == 0);
}

TEST_CASE("allows variants until the cap is reached") {
  Fixture fixture;
  fixture.tenant.config.budget.variants = 3;
  CHECK(check_variant_allowed(fixture.state(2)).ok());
  const Status refused = check_variant_allowed(fixture.state(3));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("all 3 variants") != std::string::npos);
}

TEST_CASE("warns before optimising when the budget cannot pay for three proposals") {
  Fixture fixture;
  const BudgetState roomy = fixture.state();
  CHECK(preflight_warnings(roomy, roomy.one_validation_evaluation).empty());

  fixture.tenant.config.budget.task_calls = 2000;  // 1800 usable: two evaluations of 792
  const BudgetState tight = fixture.state();
  const auto warnings = preflight_warnings(tight, tight.one_validation_evaluation);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("only 2 proposal(s)") != std::string::npos);
  CHECK(warnings[0].find("budget.task_calls") != std::string::npos);
}

}  // namespace
}  // namespace fapo
