// The judge role in the budget: evaluations with an LLM judge scorer record usage.judge in
// their results, the run summary and the spending tally sum it apart from the task model,
// the budget reports and caps it (budget.judge_calls; money under the same cap as the task
// model), and estimates count one judge call per case and trial for each judge.
#include "engine/budget/budget.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/run/evaluator.h"
#include "engine/run/run_store.h"
#include "engine/run/spending.h"
#include "engine/score/judge.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr const char* kTenant = "multihop_qa";
constexpr long long kValidationCases = 88;  // multihop_qa's validation split
constexpr long long kLlmSteps = 3;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

json sim_judge(json extra = json::object()) {
  json judge = {{"type", "judge"},
                {"rubric", "Full marks when the response names the right answer."},
                {"model", {{"provider", "sim"}}}};
  judge.update(extra);
  return judge;
}

json exact_and_judge() {
  return {{"type", "composite"},
          {"components",
           {{{"scorer", {{"type", "exact_match"}, {"aliases_field", "aliases"}}}},
            {{"scorer", sim_judge()}}}}};
}

struct Fixture {
  TempDir dir;
  Workspace workspace = open();

  Workspace open() {
    testing::copy_tenant(kTenant, dir.path());
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    return *opened;
  }

  // Rewrites tenant.json with `scorer` (and `budget` when given), then loads the tenant.
  Tenant configure(const json& scorer, const json& budget = nullptr) {
    const auto path = dir.path() / "tenants" / kTenant / "tenant.json";
    json config = json::parse(testing::read_text(path));
    config["scorer"] = scorer;
    if (!budget.is_null()) config["budget"] = budget;
    testing::write_text(path, config.dump(2));
    auto loaded = load_tenant(workspace, kTenant);
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
    return *loaded;
  }

  RunSummary evaluate_train() {
    EvalRequest request;
    request.tenant_id = kTenant;
    auto summary = evaluate(workspace, request);
    REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message));
    return *summary;
  }

  std::vector<json> results(const std::string& run_id) {
    std::vector<json> lines;
    RunStore store(workspace, kTenant);
    REQUIRE(store.for_each_result(run_id, [&](const json& line) { lines.push_back(line); }).ok());
    return lines;
  }

  BudgetState state(const Tenant& tenant) {
    auto result = budget_state(workspace, tenant, 1, 0);
    REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
    return *result;
  }
};

TEST_CASE("an estimate adds one judge call per case and trial for each judge") {
  Fixture fixture;
  const Tenant plain = fixture.configure({{"type", "exact_match"}});
  auto without = estimate_evaluation(fixture.workspace, plain, plain.baseline, "validation", 2);
  REQUIRE(without.ok());
  CHECK(without->judge_calls == 0);

  const Tenant judged = fixture.configure(exact_and_judge());
  auto with = estimate_evaluation(fixture.workspace, judged, judged.baseline, "validation", 2);
  REQUIRE(with.ok());
  CHECK(with->judge_calls == kValidationCases * 2);
  CHECK(with->calls == kLlmSteps * kValidationCases * 2);  // task calls unchanged
  CHECK(with->tokens == without->tokens);
  CHECK(with->money == 0.0);  // the simulated judge costs nothing

  const Tenant two = fixture.configure(
      {{"type", "composite"},
       {"components", {{{"scorer", sim_judge()}}, {{"scorer", exact_and_judge()}}}}});
  auto doubled = estimate_evaluation(fixture.workspace, two, two.baseline, "validation", 1);
  REQUIRE(doubled.ok());
  CHECK(doubled->judge_calls == 2 * kValidationCases);
}

TEST_CASE("a paid judge's calls are priced into the estimate under the money cap") {
  Fixture fixture;
  const json prices = {{"input_per_mtok", 2.0}, {"output_per_mtok", 8.0}};
  const json paid = sim_judge({{"model",
                                {{"provider", "openai"},
                                 {"model", "judge-model"},
                                 {"base_url", "http://127.0.0.1:9/v1"},  // never called here
                                 {"max_tokens", 100},
                                 {"prices", prices}}}});
  Tenant tenant = fixture.configure(paid);
  auto estimate = estimate_evaluation(fixture.workspace, tenant, tenant.baseline, "validation", 1);
  REQUIRE(estimate.ok());
  const auto judges = judges_in(paid, tenant.dir);
  REQUIRE(judges.size() == 1);
  const double tokens_in =
      static_cast<double>((judges[0].prompt_chars + 3) / 4) + 3 * 256;  // rubric + allowances
  const double per_call = (tokens_in * 2.0 + 100 * 8.0) / 1e6;
  CHECK(estimate->judge_calls == kValidationCases);
  CHECK(estimate->money == doctest::Approx(per_call * kValidationCases));

  tenant.config.budget.task_money = estimate->money / 2;  // the task model is free: only the judge
  const Status refused = check_fits(fixture.state(tenant), *estimate, Purpose::kTrain);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(contains(refused.error().message, "budget.task_money"));
}

TEST_CASE("judge spending is recorded per result, summed per role and reported by the budget") {
  Fixture fixture;
  const Tenant tenant = fixture.configure(exact_and_judge());
  const RunSummary summary = fixture.evaluate_train();
  REQUIRE(summary.results > 0);
  const auto results = static_cast<long long>(summary.results);
  for (const json& line : fixture.results(summary.run_id)) {
    REQUIRE(line["usage"].contains("judge"));
    CHECK(line["usage"]["judge"]["calls"] == 1);
    CHECK(line["usage"]["judge"]["tokens_in"].get<long long>() > 0);
    CHECK(line["usage"]["task"]["calls"].get<long long>() == line["model_calls"].get<long long>());
    REQUIRE(line["judge_notes"].size() == 1);
    CHECK(contains(line["judge_notes"][0].get<std::string>(), "simulated judge"));
    CHECK(line["breakdown"].contains("1.judge.judge_score"));
  }
  REQUIRE(summary.usage.count("judge") == 1);
  CHECK(summary.usage.at("judge").calls == results);
  CHECK(summary.usage.at("task").calls == summary.model_calls);  // the judge is not a task call
  CHECK(summary.judge_fallbacks == 0);

  auto spent = tally_spending(fixture.workspace, kTenant, {});
  REQUIRE(spent.ok());
  CHECK(spent->judge.calls == results);
  CHECK(spent->model_calls == summary.model_calls);

  const BudgetState state = fixture.state(tenant);
  CHECK(state.judge_calls_spent == results);
  CHECK(state.judge_tokens_spent == summary.usage.at("judge").tokens_in +
                                        summary.usage.at("judge").tokens_out);
  CHECK(state.calls_spent == summary.model_calls);
  CHECK(state.judge_calls_left == 20000 - results);
  CHECK(state.judge_calls_reserve == 2000);
  CHECK(state.one_validation_evaluation.judge_calls == kValidationCases * 3);
  const json report = to_json(state);
  CHECK(report["caps"]["judge_calls"] == 20000);
  CHECK(report["spent"]["judge"]["calls"] == results);
  CHECK(report["spent"]["judge"]["tokens"] == state.judge_tokens_spent);
  CHECK(report["spent"]["judge"]["money"] == 0.0);
  CHECK(report["remaining"]["judge_calls"] == 20000 - results);
  CHECK(report["available_outside_reserve"]["judge_calls"] == 18000 - results);
  CHECK(report["one_validation_evaluation"]["judge_calls"] == kValidationCases * 3);
}

TEST_CASE("the judge cap refuses an evaluation whose judge calls would not fit") {
  Fixture fixture;
  const Tenant tenant = fixture.configure(exact_and_judge(), {{"judge_calls", 100}});
  const BudgetState state = fixture.state(tenant);  // 10 reserved, 90 usable
  auto one_trial = estimate_evaluation(fixture.workspace, tenant, tenant.baseline, "validation", 1);
  REQUIRE(one_trial.ok());
  CHECK(check_fits(state, *one_trial, Purpose::kValidation).ok());  // 88 of 90
  auto two_trials =
      estimate_evaluation(fixture.workspace, tenant, tenant.baseline, "validation", 2);
  REQUIRE(two_trials.ok());
  const Status refused = check_fits(state, *two_trials, Purpose::kValidation);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  const std::string& message = refused.error().message;
  CHECK(contains(message, "needs about 176 judge-model calls (the judge role"));
  CHECK(contains(message, "only 90 are left outside the final-test reserve"));
  CHECK(contains(message, "budget.judge_calls (now 100)"));
  // The reserve is there for the final test; without a judge the cap does not matter.
  CHECK_FALSE(check_fits(state, *two_trials, Purpose::kFinalTest).ok());
  EvaluationEstimate within_reserve = *one_trial;
  within_reserve.judge_calls = 95;
  CHECK(check_fits(state, within_reserve, Purpose::kFinalTest).ok());
  const Tenant plain = fixture.configure({{"type", "exact_match"}}, {{"judge_calls", 0}});
  auto no_judge = estimate_evaluation(fixture.workspace, plain, plain.baseline, "validation", 2);
  REQUIRE(no_judge.ok());
  CHECK(check_fits(fixture.state(plain), *no_judge, Purpose::kValidation).ok());
  // Fewer than three validation evaluations fit: the preflight warns about the judge cap.
  const auto warnings = preflight_warnings(state, state.one_validation_evaluation);
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "budget.judge_calls"));
}

TEST_CASE("a failing judge's calls still count, as fallbacks or as scorer failures") {
  Fixture fixture;
  const json broken = {
      {"sim", {{"rules", json::array()}, {"default_reply", "Looks right to me."}}}};
  SUBCASE("with a fallback scorer") {
    json scorer = sim_judge(broken);
    scorer["fallback"] = {{"type", "exact_match"}, {"aliases_field", "aliases"}};
    const Tenant tenant = fixture.configure(scorer);
    const RunSummary summary = fixture.evaluate_train();
    const auto results = static_cast<long long>(summary.results);
    CHECK(summary.scored == summary.results);
    CHECK(summary.judge_fallbacks == summary.results);
    CHECK(summary.scorer_failures == 0);
    CHECK(summary.breakdown_means.at("judge_failed") == doctest::Approx(1));
    CHECK(summary.usage.at("judge").calls == 2 * results);  // the corrective retry
    const json line = fixture.results(summary.run_id).front();
    CHECK(line["judge_fallbacks"] == 1);
    CHECK(contains(line["judge_notes"][0].get<std::string>(), "scored by the fallback scorer"));
    CHECK(to_json(summary)["judge_fallbacks"] == summary.results);
    CHECK(fixture.state(tenant).judge_calls_spent == 2 * results);
  }
  SUBCASE("excluded") {
    const Tenant tenant = fixture.configure(sim_judge(broken));
    const RunSummary summary = fixture.evaluate_train();
    const auto results = static_cast<long long>(summary.results);
    CHECK(summary.scored == 0);
    CHECK(summary.scorer_failures == summary.results);
    CHECK(summary.judge_fallbacks == 0);
    CHECK(summary.usage.at("judge").calls == 2 * results);
    const json line = fixture.results(summary.run_id).front();
    CHECK(line["score"].is_null());
    CHECK(contains(line["scorer_error"].get<std::string>(), "the judge failed on case"));
    CHECK(line["usage"]["judge"]["calls"] == 2);
    CHECK(fixture.state(tenant).judge_calls_spent == 2 * results);
  }
}

}  // namespace
}  // namespace fapo
