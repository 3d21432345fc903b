#include "engine/data/schema_check.h"

#include <doctest/doctest.h>

#include <thread>

#include "engine/base/embedded_schemas.h"

namespace fapo {
namespace {

using nlohmann::json;

SchemaChecker embedded(const std::string& name) {
  auto checker = SchemaChecker::from_embedded(name);
  REQUIRE_MESSAGE(checker.ok(), checker.error().message);
  return *checker;
}

// Exactly one finding, returned for closer checks.
Diagnostic single(const Diagnostics& diagnostics) {
  std::string all;
  for (const Diagnostic& d : diagnostics) all += d.to_string() + "\n";
  REQUIRE_MESSAGE(diagnostics.size() == 1, all);
  return diagnostics[0];
}

json chain_with(const json& step) { return json{{"steps", json::array({step})}}; }

}  // namespace

TEST_CASE("every file schema is embedded, declares draft 2020-12 and compiles") {
  for (const char* name :
       {"tenant.schema.json", "case.schema.json", "chain.schema.json", "corpus_entry.schema.json"}) {
    CAPTURE(name);
    REQUIRE(embedded_schemas().count(name) == 1);
    SchemaChecker checker = embedded(name);
    CHECK(checker.name() == name);
    CHECK(checker.schema().at("$schema") == "https://json-schema.org/draft/2020-12/schema");
  }
}

TEST_CASE("a conforming document has no findings") {
  json doc = {{"case_id", "q1"}, {"context", {{"question", "Who?"}}}, {"expected", json::object()}};
  CHECK(embedded("case.schema.json").check(doc, "d.jsonl", 3).empty());
}

TEST_CASE("names the file, the line and the dotted field of a value of the wrong type") {
  json doc = {{"case_id", "q1"}, {"context", {{"question", 7}}}, {"expected", json::object()}};
  Diagnostic d = single(embedded("case.schema.json").check(doc, "tenants/qa/dataset.jsonl", 17));
  CHECK(d.file == "tenants/qa/dataset.jsonl");
  CHECK(d.line == 17);
  CHECK(d.field == "context.question");
  CHECK(d.message == "must be a string, got number");
  CHECK(d.to_string() ==
        "tenants/qa/dataset.jsonl:17: field 'context.question': must be a string, got number");
}

TEST_CASE("reports a missing required field by name") {
  json doc = {{"context", json::object()}, {"expected", json::object()}};
  Diagnostic d = single(embedded("case.schema.json").check(doc, "d.jsonl", 2));
  CHECK(d.field.empty());
  CHECK(d.message == "missing required field 'case_id'");
}

TEST_CASE("lists every unknown field with a suggestion for a likely typo") {
  json doc = {{"tenant_id", "qa"},
              {"scorer", {{"type", "exact_match"}}},
              {"task_model", {{"temprature", 0.5}, {"colour", "red"}}}};
  Diagnostics found = embedded("tenant.schema.json").check(doc, "tenant.json", 0);
  REQUIRE(found.size() == 2);
  CHECK(found[0].field == "task_model");
  CHECK(found[0].message == "unknown field 'colour'");
  CHECK(found[1].message == "unknown field 'temprature' (did you mean 'temperature'?)");
}

TEST_CASE("resolves $defs references, including recursive ones, and gives array paths") {
  json inner_retrieve = {{"id", "find"}, {"kind", "retrieve"}, {"query", "${q}"}, {"k", 80}};
  json loop = {{"id", "again"}, {"kind", "loop"}, {"max_iterations", 2},
               {"steps", json::array({inner_retrieve})}};
  json chain = {{"steps", json::array({{{"id", "a"}, {"kind", "llm"}, {"prompt", "a.md"}}, loop})}};
  Diagnostic d = single(embedded("chain.schema.json").check(chain, "chain.json", 0));
  CHECK(d.field == "steps[1].steps[0].k");
  CHECK(d.message == "must be at most 50, got 80");
}

TEST_CASE("accepts a chain that uses every step kind and option") {
  json chain = json::parse(R"json({
    "steps": [
      {"id": "hop1", "kind": "retrieve", "query": "${question}", "k": 5},
      {"id": "notes", "kind": "llm", "prompt": "notes.md", "temperature": 0.2, "top_p": 1,
       "max_tokens": 256, "parse": {"regex": "Notes: (.*)", "group": 1}},
      {"id": "short", "kind": "transform", "op": "truncate", "input": "${steps.notes.output}",
       "max_words": 50, "when": {"step": "notes", "empty": true, "negate": true}},
      {"id": "both", "kind": "transform", "op": "join", "inputs": ["a", "b"], "separator": " "},
      {"id": "refine", "kind": "loop", "max_iterations": 3,
       "until": {"step": "check", "matches": "^ok"},
       "steps": [{"id": "check", "kind": "llm", "prompt": "check.md", "parse": {"json_field": "v"}},
                 {"id": "fix", "kind": "llm", "prompt": "fix.md", "next": "answer"}]},
      {"id": "answer", "kind": "vote", "n": 5,
       "step": {"id": "answer_once", "kind": "llm", "prompt": "answer.md",
                "parse": {"delimiter": "Answer:"}}}
    ],
    "output": "answer"})json");
  Diagnostics found = embedded("chain.schema.json").check(chain, "chain.json", 0);
  for (const Diagnostic& d : found) MESSAGE(d.to_string());
  CHECK(found.empty());
}

TEST_CASE("an unknown step kind is rejected with the list of valid kinds") {
  json chain = chain_with({{"id", "find"}, {"kind", "retreive"}, {"query", "x"}});
  Diagnostic d = single(embedded("chain.schema.json").check(chain, "chain.json", 0));
  CHECK(d.field == "steps[0].kind");
  CHECK(d.message ==
        "must be one of 'llm', 'retrieve', 'transform', 'vote', 'loop', 'react', got 'retreive' "
        "(did you mean 'retrieve'?)");
}

TEST_CASE("checks each step against the fields of its own kind") {
  SchemaChecker checker = embedded("chain.schema.json");
  SUBCASE("a field of another kind is unknown") {
    json chain = chain_with({{"id", "find"}, {"kind", "retrieve"}, {"query", "x"}, {"prompt", "a.md"}});
    Diagnostic d = single(checker.check(chain, "chain.json", 0));
    CHECK(d.field == "steps[0]");
    CHECK(d.message == "unknown field 'prompt'");
  }
  SUBCASE("a field the kind requires is missing") {
    Diagnostic d = single(checker.check(chain_with({{"id", "answer"}, {"kind", "llm"}}), "c", 0));
    CHECK(d.field == "steps[0]");
    CHECK(d.message == "missing required field 'prompt'");
  }
  SUBCASE("a transform op requires its inputs") {
    json chain = chain_with({{"id", "pick"}, {"kind", "transform"}, {"op", "extract"}, {"input", "x"}});
    CHECK(single(checker.check(chain, "c", 0)).message == "missing required field 'pattern'");
  }
  SUBCASE("the inner step of a vote must be an llm step") {
    json inner = {{"id", "once"}, {"kind", "retrieve"}, {"prompt", "a.md"}};
    json chain = chain_with({{"id", "answer"}, {"kind", "vote"}, {"n", 5}, {"step", inner}});
    Diagnostic d = single(checker.check(chain, "c", 0));
    CHECK(d.field == "steps[0].step.kind");
    CHECK(d.message == "must be 'llm', got 'retrieve'");
  }
  SUBCASE("a step id must be an identifier") {
    json chain = chain_with({{"id", "two words"}, {"kind", "llm"}, {"prompt", "a.md"}});
    Diagnostic d = single(checker.check(chain, "c", 0));
    CHECK(d.field == "steps[0].id");
    CHECK(d.message == "must match the pattern \"^[A-Za-z_][A-Za-z0-9_]*$\", got 'two words'");
  }
}

TEST_CASE("words bounds, sizes and integers plainly") {
  SchemaChecker checker = embedded("tenant.schema.json");
  json doc = {{"tenant_id", "qa"},
              {"scorer", {{"type", ""}}},
              {"task_model", {{"top_p", 0}, {"max_tokens", 10.5}, {"provider", "opnai"}}},
              {"acceptance", {{"confidence", 1}}}};
  Diagnostics found = checker.check(doc, "tenant.json", 0);
  auto message_of = [&](const std::string& field) {
    for (const Diagnostic& d : found) {
      if (d.field == field) return d.message;
    }
    return std::string("<none>");
  };
  CHECK(found.size() == 5);
  CHECK(message_of("scorer.type") == "must not be empty");
  CHECK(message_of("task_model.top_p") == "must be greater than 0, got 0");
  CHECK(message_of("task_model.max_tokens") == "must be an integer, got 10.5");
  CHECK(message_of("task_model.provider") ==
        "must be one of 'sim', 'openai', 'anthropic', got 'opnai' (did you mean 'openai'?)");
  CHECK(message_of("acceptance.confidence") == "must be less than 1, got 1");
}

TEST_CASE("a nullable field names both allowed types") {
  json doc = {{"tenant_id", "qa"}, {"scorer", {{"type", "f1"}}}, {"task_model", {{"seed", "7"}}}};
  Diagnostic d = single(embedded("tenant.schema.json").check(doc, "tenant.json", 0));
  CHECK(d.field == "task_model.seed");
  CHECK(d.message == "must be an integer or null, got string");
}

TEST_CASE("anyOf findings name the union of the branches and no summary line") {
  auto checker = SchemaChecker::from_text(
      "test", R"({"type": "object", "properties": {"x": {"anyOf": [{"type": "string"},
                                                              {"type": "integer"}]}}})");
  REQUIRE(checker.ok());
  Diagnostic d = single(checker->check(json{{"x", true}}, "f.json", 0));
  CHECK(d.field == "x");
  CHECK(d.message == "must be a string or an integer, got boolean");
}

TEST_CASE("from_embedded and from_text report unusable schemas") {
  auto missing = SchemaChecker::from_embedded("tenat.schema.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("tenant.schema.json") != std::string::npos);

  auto not_json = SchemaChecker::from_text("broken", "{\"type\": ");
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.error().code == ErrorCode::kInvalidInput);
  CHECK(not_json.error().message.find("schema broken is not valid JSON") != std::string::npos);

  auto remote = SchemaChecker::from_text("remote", R"({"$ref": "https://example.invalid/x"})");
  REQUIRE_FALSE(remote.ok());
  CHECK(remote.error().message.find("cannot be compiled") != std::string::npos);
}

TEST_CASE("check gives the same findings from several threads at once") {
  SchemaChecker checker = embedded("tenant.schema.json");
  json doc = {{"tenant_id", "Bad Id"}, {"scorer", {{"type", "f1"}}}, {"budgt", 1},
              {"splits", {{"seed", -1}}}};
  Diagnostics expected = checker.check(doc, "tenant.json", 0);
  REQUIRE(expected.size() == 3);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Diagnostics found = checker.check(doc, "tenant.json", 0);
        bool same = found.size() == expected.size();
        for (std::size_t k = 0; same && k < found.size(); ++k) {
          same = found[k].to_string() == expected[k].to_string();
        }
        if (!same) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

}  // namespace fapo
