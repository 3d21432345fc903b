// The judge scorer: verdicts read strictly (fenced JSON allowed), the corrective retry, the two
// ways a failed judgement ends (excluded or a fallback scorer), the judge's usage, the prompt an
// HTTP judge receives (through the loopback test endpoint), composites holding a judge, and
// configuration errors. Simulated judges script their replies with sim rules.
#include <doctest/doctest.h>

#include <string>

#include "engine/llm/process_scheduler.h"
#include "engine/score/judge.h"
#include "tests/engine/llm/endpoint_fixture.h"
#include "tests/engine/score/scorer_test_helpers.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::case_with;
using testing::config_error;
using testing::scorer_from;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

json judge_config(json extra = json::object()) {
  json config = {{"type", "judge"},
                 {"rubric", "Full marks for the right city."},
                 {"model", {{"provider", "sim"}}}};
  config.update(extra);
  return config;
}

// A simulated judge that answers `reply` unless one of `rules` applies.
json replying(const std::string& reply, json rules = json::array(), json extra = json::object()) {
  json config = judge_config(extra);
  config["sim"] = {{"rules", std::move(rules)}, {"default_reply", reply}};
  return config;
}

const Case kParis = case_with({{"answer", "Paris"}});

Result<Score> judge(const json& config, const std::string& output, const Case& item = kParis) {
  auto scorer = scorer_from(config);
  Status valid = scorer->validate_case(item);
  REQUIRE_MESSAGE(valid.ok(), (valid.ok() ? "" : valid.error().message));
  return scorer->score(item, output, CaseTrace{});
}

Score judged(const json& config, const std::string& output, const Case& item = kParis) {
  Result<Score> score = judge(config, output, item);
  REQUIRE_MESSAGE(score.ok(), (score.ok() ? "" : score.error().message));
  return *score;
}

TEST_CASE("the default simulated judge passes responses that contain the reference answer") {
  Score pass = judged(judge_config(), "It is Paris, of course.");
  CHECK(pass.composite == doctest::Approx(100));
  CHECK(pass.breakdown.at("judge_score") == doctest::Approx(1));
  CHECK(pass.breakdown.at("judge_failed") == 0);
  Score fail = judged(judge_config(), "London");
  CHECK(fail.composite == doctest::Approx(0));
  CHECK(fail.breakdown.at("judge_score") == doctest::Approx(0));
  // The reference also appears in the prompt; only the response (the last message) counts.
  Score numeric = judged(judge_config(), "The total is 42.", case_with({{"answer", 42}}));
  CHECK(numeric.composite == doctest::Approx(100));
}

TEST_CASE("a valid verdict is one call of the judge role, free when simulated") {
  Score score = judged(judge_config(), "Paris");
  CHECK(score.judge_usage.calls == 1);
  CHECK(score.judge_usage.attempts == 1);
  CHECK(score.judge_usage.failed == 0);
  CHECK(score.judge_usage.tokens_in > 50);  // the rubric, the task and the reference
  CHECK(score.judge_usage.tokens_out > 0);
  CHECK(score.judge_usage.cost == 0);
}

TEST_CASE("a verdict inside a json fence is read, scaled by the configured scale") {
  Score fenced = judged(replying("```json\n{\"score\": 7, \"reason\": \"close\"}\n```"), "x");
  CHECK(fenced.composite == doctest::Approx(70));
  CHECK(fenced.breakdown.at("judge_score") == doctest::Approx(0.7));
  Score scaled = judged(replying("  {\"score\": 3}\n", json::array(), {{"scale", 4}}), "x");
  CHECK(scaled.composite == doctest::Approx(75));
}

TEST_CASE("an invalid reply gets one corrective retry that can succeed") {
  const json fixed = {{"name", "corrected"},
                      {"when", {{"prompt_contains", {"could not be used"}}}},
                      {"reply", "{\"score\": 4, \"reason\": \"second try\"}"}};
  JudgeRecording recording;
  Score score = judged(replying("I would give it 8 out of 10.", {fixed}), "x");
  CHECK(score.composite == doctest::Approx(40));
  CHECK(score.judge_usage.calls == 2);
  CHECK(recording.usage().calls == 2);
  REQUIRE(recording.notes().size() == 1);
  CHECK(recording.notes()[0] == "verdict 4/10: second try");
}

TEST_CASE("a judge still invalid after the retry is excluded as a scorer failure") {
  JudgeRecording recording;
  Result<Score> score = judge(replying("Score: 8"), "Paris");
  REQUIRE_FALSE(score.ok());
  CHECK(score.error().code == ErrorCode::kScorer);
  const std::string& message = score.error().message;
  CHECK(contains(message, "the judge failed on case 'c1'"));
  CHECK(contains(message, "no valid verdict after a corrective retry"));
  CHECK(contains(message, "not exactly one JSON object"));
  CHECK(contains(message, "'Score: 8'"));
  CHECK(contains(message, "fallback \"exclude\""));
  // Both calls were made and count, although no Score came back.
  CHECK(recording.used());
  CHECK(recording.usage().calls == 2);
  CHECK(recording.fallbacks() == 0);
  REQUIRE(recording.notes().size() == 1);
  CHECK(contains(recording.notes()[0], "judge failed: "));
}

TEST_CASE("a fallback scorer scores what the judge could not, marked judge_failed") {
  JudgeRecording recording;
  Score score =
      judged(replying("Score: 8", json::array(), {{"fallback", {{"type", "exact_match"}}}}),
             "Paris");
  CHECK(score.composite == doctest::Approx(100));
  CHECK(score.breakdown.at("judge_failed") == 1);
  CHECK(score.breakdown.at("fallback.exact_match") == 1);
  CHECK(score.breakdown.count("judge_score") == 0);
  CHECK(score.judge_usage.calls == 2);
  CHECK(recording.fallbacks() == 1);
  REQUIRE(recording.notes().size() == 1);
  CHECK(contains(recording.notes()[0], "scored by the fallback scorer"));
  CHECK(contains(recording.notes()[0], "not exactly one JSON object"));
}

TEST_CASE("a score outside 0..scale is not a verdict") {
  Result<Score> out_of_range = judge(replying("{\"score\": 12, \"reason\": \"great\"}"), "x");
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(contains(out_of_range.error().message, "the score 12 is outside 0..10"));
  Score wider = judged(replying("{\"score\": 12}", json::array(), {{"scale", 100}}), "x");
  CHECK(wider.composite == doctest::Approx(12));
}

TEST_CASE("a failed judge model call ends the judgement without a retry") {
  // The reply template names a value the case lacks: a permanent error of the simulated model.
  JudgeRecording recording;
  Result<Score> excluded = judge(replying("${expected.missing}"), "Paris");
  REQUIRE_FALSE(excluded.ok());
  CHECK(excluded.error().code == ErrorCode::kScorer);
  CHECK(contains(excluded.error().message, "the judge model call failed: simulated model"));
  CHECK(recording.usage().failed == 1);
  CHECK(recording.usage().calls == 0);
  Score fallback = judged(
      replying("${expected.missing}", json::array(), {{"fallback", {{"type", "contains"}}}}),
      "in Paris");
  CHECK(fallback.composite == doctest::Approx(100));
  CHECK(fallback.breakdown.at("judge_failed") == 1);
  CHECK(fallback.judge_usage.failed == 1);
}

TEST_CASE("verdicts are read strictly") {
  CHECK(parse_judge_verdict("{\"score\": 5, \"reason\": \"ok\"}", 10)->score == 5);
  CHECK(parse_judge_verdict("\n {\"score\": 0} \n", 10)->score == 0);
  CHECK(parse_judge_verdict("```\n{\"score\": 10}\n```", 10)->score == 10);
  CHECK(parse_judge_verdict("```JSON {\"score\": 2.5}```", 10)->score == 2.5);
  CHECK(parse_judge_verdict("{\"score\": 5, \"reason\": \"r\"}", 10)->reason == "r");
  auto why = [](const std::string& reply) {
    auto verdict = parse_judge_verdict(reply, 10);
    REQUIRE_FALSE(verdict.ok());
    CHECK(verdict.error().code == ErrorCode::kScorer);
    return verdict.error().message;
  };
  CHECK(contains(why("Verdict: {\"score\": 5}"), "not exactly one JSON object"));
  CHECK(contains(why("{\"score\": 5} That is my verdict."), "not exactly one JSON object"));
  CHECK(contains(why("{\"score\": 5}{\"score\": 6}"), "not exactly one JSON object"));
  CHECK(contains(why("```python\n{\"score\": 5}\n```"), "not exactly one JSON object"));
  CHECK(contains(why("```json\n{\"score\": 5}"), "not exactly one JSON object"));
  CHECK(contains(why("[5]"), "not an object"));
  CHECK(contains(why("{\"score\": \"5\"}"), "no numeric \"score\""));
  CHECK(contains(why("{\"score\": true}"), "no numeric \"score\""));
  CHECK(contains(why("{\"reason\": \"fine\"}"), "no numeric \"score\""));
  CHECK(contains(why("{\"score\": -1}"), "outside 0..10"));
  CHECK(contains(why("{\"score\": 5, \"reason\": 3}"), "\"reason\" must be a string"));
  CHECK(why("   ") == "the reply is empty");
}

TEST_CASE("cases need the reference answer, and what the fallback reads") {
  CHECK(testing::case_error(judge_config(), {{"gold", "x"}}).message ==
        "field 'expected.answer' is missing");
  CHECK(testing::case_error(judge_config({{"field", "gold"}}), {{"answer", "x"}}).message ==
        "field 'expected.gold' is missing");
  CHECK(testing::case_error(judge_config({{"fallback", {{"type", "exact_match"},
                                                        {"field", "gold"}}}}),
                            {{"answer", "x"}})
            .message == "fallback scorer: field 'expected.gold' is missing");
}

TEST_CASE("judge configuration errors name the field") {
  auto message = [](const json& config) { return config_error(config).message; };
  json no_model = judge_config();
  no_model.erase("model");
  CHECK(message(no_model).find("scorer.model: is missing") == 0);
  CHECK(message(judge_config({{"rubric_file", "rubric.md"}})).find(
            "scorer.rubric: give exactly one of 'rubric'") == 0);
  json no_rubric = judge_config();
  no_rubric.erase("rubric");
  CHECK(message(no_rubric).find("scorer.rubric: give exactly one of") == 0);
  CHECK(message(judge_config({{"rubric", "  "}})) == "scorer.rubric: is empty");
  CHECK(message(judge_config({{"scale", 0}})) == "scorer.scale: must be greater than 0");
  CHECK(message(judge_config({{"fallback", "excluded"}})).find(
            "scorer.fallback: must be \"exclude\" or a scorer configuration") == 0);
  CHECK(message(judge_config({{"fallback", judge_config()}})) ==
        "scorer.fallback: a judge cannot fall back on another judge");
  CHECK(message(judge_config({{"fallback", {{"type", "exact_mtch"}}}})).find(
            "scorer.fallback.type: unknown scorer type 'exact_mtch'") == 0);
  CHECK(message(judge_config({{"model", {{"provider", "sim"}, {"temprature", 0}}}})).find(
            "scorer.model.temprature: unknown key (did you mean 'temperature'?)") == 0);
  CHECK(message(judge_config({{"model", {{"provider", "gemini"}}}})).find(
            "scorer.model.provider: 'gemini' is not available") == 0);
  CHECK(message(judge_config({{"model", {{"provider", "openai"}}}})) ==
        "scorer.model.model: must name a model");
  CHECK(message(judge_config({{"model", {{"provider", "sim"}, {"max_tokens", 0}}}})) ==
        "scorer.model.max_tokens: must be a whole number of at least 1");
  CHECK(message(judge_config({{"model", {{"provider", "sim"},
                                         {"prices", {{"input_per_mtok", -1}}}}}})) ==
        "scorer.model.prices.input_per_mtok: must be zero or more");
  CHECK(message(judge_config({{"model", {{"provider", "openai"}, {"model", "m"},
                                         {"api_key_env", "FAPO_TEST_UNSET_JUDGE_KEY"}}}})) ==
        "environment variable FAPO_TEST_UNSET_JUDGE_KEY is not set "
        "(scorer.model.api_key_env)");
  json sim_for_openai = judge_config({{"model", {{"provider", "openai"}, {"model", "m"},
                                                 {"base_url", "http://127.0.0.1:9/v1"}}}});
  sim_for_openai["sim"] = {{"rules", json::array()}};
  CHECK(message(sim_for_openai).find("scorer.sim: rules for a simulated judge need") == 0);
  CHECK(message(replying("x", {{{"name", "bad"}}})).find("scorer.sim: sim.rules[0].reply") == 0);
  Error nested = config_error({{"type", "composite"},
                               {"components", {{{"scorer", judge_config({{"scale", -2}})}}}}});
  CHECK(nested.message == "scorer.components[0].scorer.scale: must be greater than 0");
}

TEST_CASE("a rubric file is read from the tenant directory and must stay inside it") {
  testing::TempDir dir;
  testing::write_text(dir.path() / "rubrics" / "city.md",
                      "Grade the city named (rubric from file).");
  json config = replying("{\"score\": 0}",
                         {{{"name", "saw_rubric"},
                           {"when", {{"prompt_contains", {"rubric from file"}}}},
                           {"reply", "{\"score\": 5}"}}});
  config.erase("rubric");
  config["rubric_file"] = "rubrics/city.md";
  auto scorer = scorer_from(config, dir.path());
  auto score = scorer->score(kParis, "x", CaseTrace{});
  REQUIRE(score.ok());
  CHECK(score->composite == doctest::Approx(50));
  config["rubric_file"] = "../outside.md";
  CHECK(config_error(config, dir.path()).message ==
        "scorer.rubric_file: '../outside.md' must be a path inside the tenant directory");
  config["rubric_file"] = "rubrics/none.md";
  CHECK(config_error(config, dir.path()).message ==
        "scorer.rubric_file: 'rubrics/none.md' not found in the tenant directory");
}

json http_judge(const testing::EndpointFixture& fixture, int retries = 0) {
  return judge_config({{"model",
                        {{"provider", "openai"},
                         {"model", "test-model"},
                         {"base_url", fixture.endpoint->openai_base_url()},
                         {"timeout_s", 2},
                         {"retries", retries},
                         {"prices", {{"input_per_mtok", 2.0}, {"output_per_mtok", 8.0}}}}}});
}

TEST_CASE("an HTTP judge gets the rubric, task and reference, then the response alone") {
  bench::TestEndpointOptions options;
  options.script = bench::fixed_script("{\"score\": 9, \"reason\": \"right city\"}");
  testing::EndpointFixture fixture(options);
  ScopedProcessScheduler scheduler(fixture.scheduler);
  Case item = case_with({{"answer", json::array({"Paris", "Paris, France"})}});
  Score score = judged(http_judge(fixture), "It is Paris.", item);
  CHECK(score.composite == doctest::Approx(90));
  CHECK(score.judge_usage.calls == 1);
  CHECK(score.judge_usage.attempts == 1);
  CHECK(score.judge_usage.tokens_in > 0);
  CHECK(score.judge_usage.cost ==
        doctest::Approx(call_cost({2.0, 8.0}, score.judge_usage.tokens_in,
                                  score.judge_usage.tokens_out)));
  CHECK(score.judge_usage.cost > 0);

  auto request = fixture.endpoint->last_request();
  REQUIRE(request.has_value());
  const json& body = request->body;
  CHECK(body["model"] == "test-model");
  CHECK(body["temperature"] == 0.0);
  CHECK(body["max_tokens"] == 512);
  REQUIRE(body["messages"].size() == 2);
  const std::string system = body["messages"][0]["content"];
  CHECK(body["messages"][0]["role"] == "system");
  CHECK(contains(system, "Rubric:\nFull marks for the right city."));
  CHECK(contains(system, "Task:\nquestion: q?"));
  CHECK(contains(system, "Reference answer:\nAny of these is correct:\n- Paris\n- Paris, France"));
  CHECK(contains(system, "{\"score\": <a number from 0 to 10>, \"reason\":"));
  CHECK(body["messages"][1] == json({{"role", "user"}, {"content", "It is Paris."}}));
}

TEST_CASE("an HTTP judge that fails is a judge failure whose attempts are counted") {
  testing::EndpointFixture fixture;
  ScopedProcessScheduler scheduler(fixture.scheduler);
  fixture.endpoint->push_faults({bench::FaultSpec{bench::Fault::kServerError},
                                 bench::FaultSpec{bench::Fault::kServerError}});
  JudgeRecording recording;
  Result<Score> score = judge(http_judge(fixture, 1), "Paris");
  REQUIRE_FALSE(score.ok());
  CHECK(score.error().code == ErrorCode::kScorer);
  CHECK(contains(score.error().message, "the judge model call failed"));
  CHECK(recording.usage().failed == 1);
  CHECK(recording.usage().attempts == 2);
  CHECK(recording.usage().calls == 0);
  CHECK(fixture.endpoint->requests() == 2);
}

TEST_CASE("an HTTP judge's prose reply is corrected once, then fails") {
  testing::EndpointFixture fixture;  // echoes: never a JSON verdict
  ScopedProcessScheduler scheduler(fixture.scheduler);
  Result<Score> score = judge(http_judge(fixture), "Paris");
  REQUIRE_FALSE(score.ok());
  CHECK(contains(score.error().message, "no valid verdict after a corrective retry"));
  CHECK(fixture.endpoint->requests() == 2);
  auto request = fixture.endpoint->last_request();
  REQUIRE(request.has_value());
  const json& messages = request->body["messages"];
  REQUIRE(messages.size() == 4);
  CHECK(messages[2]["role"] == "assistant");
  CHECK(messages[2]["content"] == "echo: Paris");
  CHECK(contains(messages[3]["content"].get<std::string>(), "Your reply could not be used"));
}

TEST_CASE("a composite of exact match, trajectory and judge adds the judge's usage") {
  const json config = {
      {"type", "composite"},
      {"components",
       {{{"weight", 1}, {"scorer", {{"type", "exact_match"}}}},
        {{"weight", 1}, {"scorer", {{"type", "trajectory"}}}},
        {{"weight", 2}, {"scorer", judge_config()}}}}};
  auto scorer = scorer_from(config);
  Case item = case_with(
      {{"answer", "Paris"},
       {"tool_calls", {{{"name", "search"}, {"arguments", {{"query", "paris"}}}}}}});
  REQUIRE(scorer->validate_case(item).ok());
  StepTrace agent;
  agent.step_id = "agent";
  agent.kind = "react";
  agent.detail = {{"trajectory",
                   {{{"iteration", 1}, {"call_id", "call_1"}, {"tool", "search"},
                     {"arguments", {{"query", "capital of france paris"}}}}}}};
  CaseTrace trace;
  trace.steps = {agent};
  JudgeRecording recording;
  auto score = scorer->score(item, "It is Paris.", trace);
  REQUIRE_MESSAGE(score.ok(), (score.ok() ? "" : score.error().message));
  CHECK(score->composite == doctest::Approx((0 * 1 + 100 * 1 + 100 * 2) / 4.0));
  CHECK(score->breakdown.at("0.exact_match") == 0);
  CHECK(score->breakdown.at("1.trajectory") == doctest::Approx(100));
  CHECK(score->breakdown.at("1.trajectory.trajectory_arguments") == doctest::Approx(1));
  CHECK(score->breakdown.at("2.judge") == doctest::Approx(100));
  CHECK(score->breakdown.at("2.judge.judge_score") == doctest::Approx(1));
  CHECK(score->breakdown.at("2.judge.judge_failed") == 0);
  CHECK(score->judge_usage.calls == 1);
  CHECK(recording.usage().calls == 1);
  // A case the trajectory component cannot read is invalid for the composite.
  Status invalid = scorer->validate_case(kParis);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().message ==
        "component 1.trajectory: field 'expected.tool_calls' is missing");
}

TEST_CASE("judges_in finds the judges of a scorer configuration, composites included") {
  CHECK(judges_in({{"type", "exact_match"}}, ".").empty());
  const json config = {
      {"type", "composite"},
      {"components",
       {{{"scorer", {{"type", "exact_match"}}}},
        {{"scorer", judge_config({{"model", {{"provider", "openai"}, {"model", "m"},
                                             {"max_tokens", 64},
                                             {"prices", {{"input_per_mtok", 1.5}}}}}})}},
        {{"scorer", {{"type", "composite"}, {"components", {{{"scorer", judge_config()}}}}}}}}}};
  auto judges = judges_in(config, ".");
  REQUIRE(judges.size() == 2);
  CHECK(judges[0].provider == "openai");
  CHECK(judges[0].max_tokens == 64);
  CHECK(judges[0].prices.input_per_mtok == 1.5);
  CHECK(judges[0].prompt_chars > std::string("Full marks for the right city.").size());
  CHECK(judges[1].provider == "sim");
  CHECK(judges[1].max_tokens == 512);
}

}  // namespace
}  // namespace fapo
