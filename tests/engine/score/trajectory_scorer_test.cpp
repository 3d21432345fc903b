// The trajectory scorer on hand-built react traces: each component on the failure it measures
// (wrong, missing, reordered, mis-argued and repeated calls), limit-refused calls, traces
// without a react step, step selection, weights and the errors of configurations and cases.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/engine/score/scorer_test_helpers.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::case_with;
using testing::scorer_from;

json call(const std::string& tool, json arguments, const std::string& error_kind = "") {
  json entry = {{"iteration", 1}, {"call_id", "call_1"}, {"tool", tool},
                {"arguments", std::move(arguments)}, {"result_chars", 10},
                {"truncated", false}, {"latency_ms", 1.0}};
  if (!error_kind.empty()) {
    entry["error_kind"] = error_kind;
    entry["error"] = "refused";
  }
  return entry;
}

// Lists are std::vector<json>: a braced list of one json object would initialise a json as a
// copy of that object, not as an array holding it.
using Calls = std::vector<json>;

StepTrace react_step(const std::string& id, const Calls& trajectory) {
  StepTrace step;
  step.step_id = id;
  step.kind = "react";
  step.detail = {{"trajectory", json(trajectory)}, {"stop_reason", "answer"}};
  return step;
}

CaseTrace trace_of(std::vector<StepTrace> steps) {
  CaseTrace trace;
  trace.case_id = "c1";
  trace.steps = std::move(steps);
  return trace;
}

Score score_with(const json& config, const Calls& expected_calls, const CaseTrace& trace) {
  auto scorer = scorer_from(config);
  Case item = case_with({{"tool_calls", json(expected_calls)}});
  Status valid = scorer->validate_case(item);
  REQUIRE_MESSAGE(valid.ok(), (valid.ok() ? "" : valid.error().message));
  auto score = scorer->score(item, "the answer", trace);
  REQUIRE_MESSAGE(score.ok(), (score.ok() ? "" : score.error().message));
  return *score;
}

Score score_of(const Calls& expected_calls, const Calls& trajectory) {
  return score_with({{"type", "trajectory"}}, expected_calls,
                    trace_of({react_step("agent", trajectory)}));
}

const json kSearch = {{"name", "search"}, {"arguments", {{"query", "orvell bridge"}}}};
const json kSum = {{"name", "get-sum"}, {"arguments", {{"a", 2}, {"b", 3}}}};

void check_components(const Score& score, double selection, double order, double arguments,
                      double redundancy) {
  CHECK(score.breakdown.at("trajectory_selection") == doctest::Approx(selection));
  CHECK(score.breakdown.at("trajectory_order") == doctest::Approx(order));
  CHECK(score.breakdown.at("trajectory_arguments") == doctest::Approx(arguments));
  CHECK(score.breakdown.at("trajectory_redundancy") == doctest::Approx(redundancy));
  const double weighted = 0.4 * selection + 0.2 * order + 0.3 * arguments + 0.1 * redundancy;
  CHECK(score.composite == doctest::Approx(100 * weighted));
}

TEST_CASE("a trajectory that makes the expected calls in order scores 100") {
  // Extra words, other keys and numbers written as strings still match.
  Score score = score_of({kSearch, kSum},
                         {call("search", {{"query", "The Orvell Bridge opening"}, {"k", 3}}),
                          call("get-sum", {{"a", "2.0"}, {"b", 3}})});
  check_components(score, 1, 1, 1, 1);
  CHECK(score.composite == doctest::Approx(100));
  CHECK(score.breakdown.size() == 4);
}

TEST_CASE("calling the wrong tool loses selection, order and arguments") {
  Score score = score_of({kSearch}, {call("lookup", {{"query", "orvell bridge"}})});
  check_components(score, 0, 0, 0, 1);
  CHECK(score.composite == doctest::Approx(10));
}

TEST_CASE("a missing call lowers selection, order and arguments by its share") {
  Score score = score_of({kSearch, kSum}, {call("search", {{"query", "orvell bridge"}})});
  check_components(score, 2.0 / 3.0, 0.5, 0.5, 1);
}

TEST_CASE("calls in the wrong order keep selection and lose order") {
  Score score = score_of({kSearch, kSum}, {call("get-sum", {{"a", 2}, {"b", 3}}),
                                           call("search", {{"query", "orvell bridge"}})});
  check_components(score, 1, 0.5, 1, 1);
}

TEST_CASE("arguments count the share of expected keys whose values match") {
  const Calls expected = {
      {{"name", "search"}, {"arguments", {{"query", "orvell bridge"}, {"k", 3}}}}};
  SUBCASE("a missing word and a numeric string") {
    Score score = score_of(expected, {call("search", {{"query", "orvell tunnel"}, {"k", "3"}})});
    check_components(score, 1, 1, 0.5, 1);
  }
  SUBCASE("the best of several same-name calls counts") {
    Score score = score_of(expected, {call("search", {{"query", "bridges"}}),
                                      call("search", {{"query", "orvell bridge"}, {"k", 3}})});
    CHECK(score.breakdown.at("trajectory_arguments") == doctest::Approx(1));
    CHECK(score.breakdown.at("trajectory_selection") == doctest::Approx(2.0 / 3.0));
  }
  SUBCASE("arguments that were not valid JSON match nothing") {
    Score score = score_of(expected, {call("search", "{query: orvell bridge")});
    CHECK(score.breakdown.at("trajectory_arguments") == doctest::Approx(0));
  }
  SUBCASE("a different number does not match") {
    Score score = score_of(expected, {call("search", {{"query", "orvell bridge"}, {"k", 4}})});
    CHECK(score.breakdown.at("trajectory_arguments") == doctest::Approx(0.5));
  }
}

TEST_CASE("a call repeating an earlier name and arguments counts as redundant") {
  Score score = score_of({kSum}, {call("get-sum", {{"a", 2}, {"b", 3}}),
                                  call("get-sum", {{"b", 3}, {"a", 2}}),  // same, keys reordered
                                  call("get-sum", {{"a", 2}, {"b", 4}})});
  CHECK(score.breakdown.at("trajectory_redundancy") == doctest::Approx(1 - 1.0 / 3.0));
  CHECK(score.breakdown.at("trajectory_selection") == doctest::Approx(2.0 / 4.0));
  CHECK(score.breakdown.at("trajectory_order") == doctest::Approx(1));
  CHECK(score.breakdown.at("trajectory_arguments") == doctest::Approx(1));
}

TEST_CASE("calls refused by a limit do not count; other failed calls do") {
  Score limited = score_of({kSearch}, {call("search", {{"query", "orvell bridge"}}),
                                       call("search", {{"query", "orvell bridge"}}, "limit"),
                                       call("get-sum", {{"a", 1}}, "limit")});
  check_components(limited, 1, 1, 1, 1);
  Score timed_out = score_of({kSearch}, {call("search", {{"query", "orvell bridge"}}),
                                         call("search", {{"query", "orvell"}}, "timeout")});
  CHECK(timed_out.breakdown.at("trajectory_selection") == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("a trace without a react step scores as no calls") {
  StepTrace llm;
  llm.step_id = "answer";
  llm.kind = "llm";
  const CaseTrace trace = trace_of({llm});
  Score none_needed = score_with({{"type", "trajectory"}}, Calls{}, trace);
  check_components(none_needed, 1, 1, 1, 1);
  Score needed = score_with({{"type", "trajectory"}}, {kSearch}, trace);
  check_components(needed, 0, 0, 0, 1);
  Score empty_trace = score_with({{"type", "trajectory"}}, {kSearch}, CaseTrace{});
  CHECK(empty_trace.composite == doctest::Approx(10));
}

TEST_CASE("calls made when none were expected lose selection only") {
  Score score = score_of({}, {call("search", {{"query", "x"}})});
  check_components(score, 0, 1, 1, 1);
}

TEST_CASE("reads the configured react step, else the last one") {
  const CaseTrace trace =
      trace_of({react_step("first", {call("search", {{"query", "orvell bridge"}})}),
                react_step("second", {call("lookup", {{"q", "x"}})})});
  Score last = score_with({{"type", "trajectory"}}, {kSearch}, trace);
  CHECK(last.breakdown.at("trajectory_selection") == doctest::Approx(0));
  Score first = score_with({{"type", "trajectory"}, {"step", "first"}}, {kSearch}, trace);
  CHECK(first.composite == doctest::Approx(100));
  Score absent = score_with({{"type", "trajectory"}, {"step", "third"}}, {kSearch}, trace);
  CHECK(absent.breakdown.at("trajectory_selection") == doctest::Approx(0));
}

TEST_CASE("weights choose the components that count") {
  const Calls trajectory = {call("get-sum", {{"a", 2}, {"b", 3}}),
                           call("search", {{"query", "orvell bridge"}})};
  Score order_only = score_with({{"type", "trajectory"}, {"weights", {{"order", 1}}}},
                                {kSearch, kSum}, trace_of({react_step("agent", trajectory)}));
  CHECK(order_only.composite == doctest::Approx(50));
  CHECK(order_only.breakdown.at("trajectory_selection") == doctest::Approx(1));
  Score mixed = score_with({{"type", "trajectory"}, {"weights", {{"order", 1}, {"selection", 3}}}},
                           {kSearch, kSum}, trace_of({react_step("agent", trajectory)}));
  CHECK(mixed.composite == doctest::Approx(100 * (3 * 1 + 1 * 0.5) / 4));
}

TEST_CASE("weight errors name the field") {
  auto message = [](const json& weights) {
    return testing::config_error({{"type", "trajectory"}, {"weights", weights}}).message;
  };
  CHECK(message({{"order", -1}}) == "scorer.weights.order: must be zero or more");
  CHECK(message({{"order", "high"}}) == "scorer.weights.order: must be a number, got string");
  CHECK(message({{"ordr", 1}}).find("scorer.weights.ordr: unknown component (did you mean "
                                    "'order'?)") == 0);
  CHECK(message({{"order", 0}, {"selection", 0}}) == "scorer.weights: must not all be zero");
  CHECK(message(json::array({0.4})).find("scorer.weights: must be an object") == 0);
  CHECK(testing::config_error({{"type", "trajectory"}, {"steps", "agent"}}).message.find(
            "scorer.steps: unknown key (did you mean 'step'?)") == 0);
  Error nested = testing::config_error(
      {{"type", "composite"},
       {"components", {{{"scorer", {{"type", "trajectory"}, {"weights", {{"arguments", -2}}}}}}}}});
  CHECK(nested.message == "scorer.components[0].scorer.weights.arguments: must be zero or more");
  CHECK(nested.code == ErrorCode::kInvalidInput);
}

TEST_CASE("cases must carry expected.tool_calls as an array of {name, arguments}") {
  const json config = {{"type", "trajectory"}};
  CHECK(testing::case_error(config, {{"answer", "x"}}).message ==
        "field 'expected.tool_calls' is missing");
  CHECK(testing::case_error(config, {{"tool_calls", "search"}}).message.find(
            "field 'expected.tool_calls' must be an array") == 0);
  CHECK(testing::case_error(config, {{"tool_calls", {{{"arguments", json::object()}}}}}).message ==
        "field 'expected.tool_calls[0].name' is missing");
  CHECK(testing::case_error(config, {{"tool_calls", {kSearch, {{"name", 3}}}}}).message ==
        "field 'expected.tool_calls[1].name' must be a non-empty string");
  CHECK(testing::case_error(config, {{"tool_calls", {{{"name", "s"}, {"arguments", "q"}}}}})
            .message == "field 'expected.tool_calls[0].arguments' must be an object, got string");
  CHECK(testing::case_error(config, {{"tool_calls", {{{"name", "s"}, {"args", json::object()}}}}})
            .message.find("field 'expected.tool_calls[0].args' is not a known key") == 0);
}

}  // namespace
}  // namespace fapo
