#include "engine/chain/chain_def.h"

#include <doctest/doctest.h>

using fapo::parse_chain;

namespace {
nlohmann::json parse(const char* text) { return nlohmann::json::parse(text); }
}  // namespace

TEST_CASE("parses every step kind with its fields") {
  auto chain = parse_chain(parse(R"J({"steps": [
      {"id": "hop1", "kind": "retrieve", "query": "${question}", "k": 3},
      {"id": "summary", "kind": "llm", "prompt": "s.md", "parse": {"regex": "A: (.*)"}},
      {"id": "t", "kind": "transform", "op": "truncate", "input": "x", "max_words": 4},
      {"id": "v", "kind": "vote", "n": 5, "step": {"id": "vi", "kind": "llm", "prompt": "a.md"}},
      {"id": "l", "kind": "loop", "max_iterations": 3, "until": {"step": "check", "matches": "ok"},
       "steps": [{"id": "check", "kind": "llm", "prompt": "c.md"}]}],
      "output": "l"})J"),
                           "chain.json");
  REQUIRE(chain.ok());
  CHECK(chain->steps.size() == 5);
  CHECK(chain->steps[0].k == 3);
  CHECK(chain->steps[1].parse.mode == fapo::ParseSpec::Mode::kRegex);
  CHECK(chain->steps[3].inner.size() == 1);
  CHECK(chain->steps[4].steps.size() == 1);
  CHECK(chain->output == "l");
  CHECK(fapo::all_steps(*chain).size() == 7);
}

TEST_CASE("reports every structural problem at once with field paths") {
  auto chain = parse_chain(parse(R"J({"steps": [
      {"id": "a", "kind": "lm", "prompt": "x.md"},
      {"id": "b", "kind": "retrieve", "query": "q", "k": 500},
      {"id": "b", "kind": "llm"}], "output": "zz"})J"),
                           "tenants/qa/chain.json");
  REQUIRE_FALSE(chain.ok());
  const std::string& message = chain.error().message;
  CHECK(message.find("tenants/qa/chain.json: field 'steps[0].kind': unknown step kind 'lm'") !=
        std::string::npos);
  CHECK(message.find("did you mean 'llm'?") != std::string::npos);
  CHECK(message.find("steps[1].k': must be between 1 and 50, got 500") != std::string::npos);
  CHECK(message.find("steps[2].prompt': is required") != std::string::npos);
  CHECK(message.find("duplicate step id 'b'") != std::string::npos);
  CHECK(message.find("'zz' is not a top-level step") != std::string::npos);
}

TEST_CASE("refuses backward jumps so every chain terminates") {
  auto chain = parse_chain(parse(R"J({"steps": [
      {"id": "a", "kind": "transform", "op": "template", "input": "x"},
      {"id": "b", "kind": "transform", "op": "template", "input": "y", "next": "a"}]})J"),
                           "chain.json");
  REQUIRE_FALSE(chain.ok());
  CHECK(chain.error().message.find("jumps only go forward") != std::string::npos);
}

TEST_CASE("bounds loops and rejects a vote whose inner step is not an llm step") {
  auto chain = parse_chain(parse(R"J({"steps": [
      {"id": "l", "kind": "loop", "max_iterations": 50, "steps": [
        {"id": "x", "kind": "transform", "op": "template", "input": "y"}]},
      {"id": "v", "kind": "vote", "n": 3, "step": {"id": "r", "kind": "retrieve", "query": "q"}}]})J"),
                           "chain.json");
  REQUIRE_FALSE(chain.ok());
  CHECK(chain.error().message.find("max_iterations': must be between 1 and 10") !=
        std::string::npos);
  CHECK(chain.error().message.find("inner step of a vote must be an llm step") !=
        std::string::npos);
}

TEST_CASE("rejects a condition on an unknown step and an invalid regex") {
  auto chain = parse_chain(parse(R"J({"steps": [
      {"id": "a", "kind": "transform", "op": "template", "input": "x",
       "when": {"step": "nope", "matches": "("}}]})J"),
                           "chain.json");
  REQUIRE_FALSE(chain.ok());
  CHECK(chain.error().message.find("invalid regular expression") != std::string::npos);
  CHECK(chain.error().message.find("unknown step 'nope'") != std::string::npos);
}
