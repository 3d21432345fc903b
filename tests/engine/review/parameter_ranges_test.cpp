#include "engine/review/parameter_ranges.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

TEST_CASE("ranges by field and by step, the step's own entry first") {
  auto ranges = parse_parameter_ranges(
      {{"k", {{"min", 1}, {"max", 10}}}, {"hop2.k", {{"max", 4}}}, {"n", {{"values", {1, 3, 5}}}}},
      "tenant.json");
  REQUIRE(ranges.ok());
  const ParameterRange* hop1 = ranges->find("hop1", "k");
  const ParameterRange* hop2 = ranges->find("hop2", "k");
  REQUIRE(hop1 != nullptr);
  REQUIRE(hop2 != nullptr);
  CHECK(hop1->allows(8));
  CHECK_FALSE(hop1->allows(11));
  CHECK_FALSE(hop2->allows(8));
  CHECK(hop2->describe() == "at most 4");
  CHECK(ranges->find("vote", "n")->allows(3));
  CHECK_FALSE(ranges->find("vote", "n")->allows(2));
  CHECK(ranges->find("vote", "n")->describe() == "one of 1, 3, 5");
  CHECK(ranges->find("answer", "temperature") == nullptr);
}

TEST_CASE("malformed ranges are all reported with their field") {
  auto ranges = parse_parameter_ranges(
      {{"tempreature", {{"max", 1}}}, {"k", 5}, {"n", {{"min", "1"}}}, {"max_words", nlohmann::json::object()}},
      "tenants/qa/tenant.json");
  REQUIRE_FALSE(ranges.ok());
  const std::string& message = ranges.error().message;
  CHECK(message.find("scope.parameter_ranges.tempreature") != std::string::npos);
  CHECK(message.find("did you mean 'temperature'") != std::string::npos);
  CHECK(message.find("scope.parameter_ranges.k': must be an object") != std::string::npos);
  CHECK(message.find("scope.parameter_ranges.n': 'min'") != std::string::npos);
  CHECK(message.find("scope.parameter_ranges.max_words': gives no bound") != std::string::npos);
}

TEST_CASE("the parameters of a step are those of its kind, optional ones only when set") {
  StepDef retrieve;
  retrieve.kind = StepKind::kRetrieve;
  retrieve.k = 3;
  CHECK(parameter_values(retrieve) == std::vector<std::pair<std::string, double>>{{"k", 3}});
  StepDef llm;
  llm.kind = StepKind::kLlm;
  CHECK(parameter_values(llm).empty());
  llm.temperature = 0.5;
  CHECK(parameter_values(llm) ==
        std::vector<std::pair<std::string, double>>{{"temperature", 0.5}});
  CHECK_FALSE(sane_range("k").allows(0));
  CHECK_FALSE(sane_range("top_p").allows(0));
  CHECK(sane_range("max_chars").allows(100000));
}

}  // namespace
}  // namespace fapo
