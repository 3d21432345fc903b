#include "engine/data/dataset.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "engine/data/schema_check.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_text;

std::string case_line(const std::string& id, const std::string& task_type = "bridge") {
  return json{{"case_id", id},
              {"task_type", task_type},
              {"context", {{"question", "Who wrote " + id + "?"}}},
              {"expected", {{"answer", "someone"}}}}
      .dump();
}

std::vector<std::string> rendered(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.to_string());
  return out;
}

}  // namespace

TEST_CASE("reads every case with its line, defaults, and skips blank lines") {
  TempDir dir;
  write_text(dir.path() / "dataset.jsonl",
             case_line("q1") + "\n\n   \r\n" +
                 R"({"case_id": "q2", "context": {}, "expected": {"answer": 2}, "metadata": {"hard": true}})" +
                 "\r\n");
  auto cases = load_dataset(dir.path() / "dataset.jsonl", "tenants/qa/dataset.jsonl");
  REQUIRE_MESSAGE(cases.ok(), cases.error().message);
  REQUIRE(cases->size() == 2);
  const Case& first = (*cases)[0];
  CHECK(first.case_id == "q1");
  CHECK(first.line == 1);
  CHECK(first.task_type == "bridge");
  CHECK(first.context.at("question") == "Who wrote q1?");
  CHECK(first.expected.at("answer") == "someone");
  CHECK(first.metadata == json::object());
  const Case& second = (*cases)[1];
  CHECK(second.line == 4);
  CHECK(second.task_type == "default");
  CHECK(second.context.empty());
  CHECK(second.metadata.at("hard") == true);
}

TEST_CASE("reports every malformed line at once, each with its line number") {
  TempDir dir;
  std::string text = case_line("ok1") + "\n" +                                           // 1
                     "{\"case_id\": \"q2\", \"context\": {\"question\": tru}}\n" +          // 2
                     "[1, 2]\n" +                                                          // 3
                     R"({"context": {}, "expected": {}})" + "\n" +                         // 4
                     R"({"case_id": "q5", "context": {"question": 7}, "expected": {}})" + "\n" +
                     R"({"case_id": "q6", "context": {}, "expected": {}, "metdata": {}})" + "\n" +
                     R"({"case_id": "", "context": {}, "expected": "x"})" + "\n" +         // 7
                     case_line("ok8") + "\n";
  write_text(dir.path() / "dataset.jsonl", text);
  std::vector<std::string> seen;
  Diagnostics found = read_dataset(dir.path() / "dataset.jsonl", "tenants/qa/dataset.jsonl",
                                   [&](Case&& one) { seen.push_back(one.case_id); });
  CHECK(seen == std::vector<std::string>{"ok1", "ok8"});
  std::vector<std::string> lines = rendered(found);
  REQUIRE(lines.size() == 7);
  CHECK(lines[0].find("tenants/qa/dataset.jsonl:2: invalid JSON at column ") == 0);
  CHECK(lines[0].find("invalid literal") != std::string::npos);
  CHECK(lines[1] == "tenants/qa/dataset.jsonl:3: must be an object, got array");
  CHECK(lines[2] == "tenants/qa/dataset.jsonl:4: missing required field 'case_id'");
  CHECK(lines[3] ==
        "tenants/qa/dataset.jsonl:5: field 'context.question': must be a string, got number");
  CHECK(lines[4] ==
        "tenants/qa/dataset.jsonl:6: unknown field 'metdata' (did you mean 'metadata'?)");
  CHECK(lines[5] == "tenants/qa/dataset.jsonl:7: field 'case_id': must not be empty");
  CHECK(lines[6] == "tenants/qa/dataset.jsonl:7: field 'expected': must be an object, got string");
}

TEST_CASE("reports a duplicate case id naming both lines") {
  TempDir dir;
  write_text(dir.path() / "dataset.jsonl", case_line("a") + "\n" + case_line("b") + "\n" +
                                               case_line("a") + "\n" + case_line("c") + "\n" +
                                               case_line("a") + "\n");
  auto cases = load_dataset(dir.path() / "dataset.jsonl", "d.jsonl");
  REQUIRE_FALSE(cases.ok());
  CHECK(cases.error().code == ErrorCode::kInvalidInput);
  CHECK(cases.error().message ==
        "d.jsonl:3: field 'case_id': duplicate case_id 'a': line 1 has the same id; case ids "
        "must be unique\n"
        "d.jsonl:5: field 'case_id': duplicate case_id 'a': line 1 has the same id; case ids "
        "must be unique");
}

TEST_CASE("load_dataset returns one error listing all problems, in line order") {
  TempDir dir;
  write_text(dir.path() / "dataset.jsonl",
             case_line("a") + "\n{oops\n" + case_line("a") + "\n" + "42\n");
  auto cases = load_dataset(dir.path() / "dataset.jsonl", "d.jsonl");
  REQUIRE_FALSE(cases.ok());
  std::string message = cases.error().message;
  std::size_t bad_json = message.find("d.jsonl:2: invalid JSON");
  std::size_t duplicate = message.find("d.jsonl:3: field 'case_id': duplicate");
  std::size_t number = message.find("d.jsonl:4: must be an object, got number");
  CHECK(bad_json != std::string::npos);
  CHECK(duplicate != std::string::npos);
  CHECK(number != std::string::npos);
  CHECK(bad_json < duplicate);
  CHECK(duplicate < number);
}

TEST_CASE("a missing or empty dataset is an error") {
  TempDir dir;
  auto missing = load_dataset(dir.path() / "none.jsonl", "tenants/qa/dataset.jsonl");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message == "tenants/qa/dataset.jsonl: file not found");

  write_text(dir.path() / "empty.jsonl", "\n\n");
  auto empty = load_dataset(dir.path() / "empty.jsonl", "e.jsonl");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("e.jsonl: contains no cases") == 0);
}

TEST_CASE("hand checks find exactly what case.schema.json finds") {
  auto schema = SchemaChecker::from_embedded("case.schema.json");
  REQUIRE(schema.ok());
  const char* lines[] = {
      R"({"case_id": "a", "context": {"q": "x"}, "expected": {}})",
      R"({"case_id": "a", "task_type": "t", "context": {}, "expected": {}, "metadata": {}})",
      R"({"case_id": 1, "task_type": 2, "context": [], "expected": null, "metadata": "m"})",
      R"({"case_id": "", "context": {"a": 1, "b": null, "c": "ok", "d": {}}, "expected": {}})",
      R"({"caseid": "a", "contxt": {}, "expected": {}, "zzz": 1})",
      R"({})",
      R"([])",
      R"("text")",
      R"(null)",
      R"({"case_id": "a", "context": "question", "expected": []})",
  };
  for (const char* line : lines) {
    CAPTURE(line);
    json doc = json::parse(line);
    std::vector<std::string> by_hand = rendered(check_case_json(doc, "d.jsonl", 4));
    std::vector<std::string> by_schema = rendered(schema->check(doc, "d.jsonl", 4));
    std::sort(by_hand.begin(), by_hand.end());
    std::sort(by_schema.begin(), by_schema.end());
    CHECK(by_hand == by_schema);
  }
}

TEST_CASE("a file of garbage lists the first problems and counts the rest") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 1500; ++i) text += "a,b,c\n";
  write_text(dir.path() / "data.csv", text);
  Diagnostics found = read_dataset(dir.path() / "data.csv", "data.csv", [](Case&&) {});
  REQUIRE(found.size() == kMaxDatasetDiagnostics + 1);
  CHECK(found[0].line == 1);
  CHECK(found.back().to_string() == "data.csv: 500 more problems not listed");
}

TEST_CASE("streams 100,000 cases and summarizes them") {
  TempDir dir;
  {
    std::ofstream out(dir.path() / "dataset.jsonl");
    for (int i = 0; i < 100000; ++i) {
      out << case_line("q" + std::to_string(i), i % 4 == 0 ? "comparison" : "bridge") << "\n";
    }
  }
  std::size_t count = 0;
  int last_line = 0;
  Diagnostics found = read_dataset(dir.path() / "dataset.jsonl", "d.jsonl", [&](Case&& one) {
    ++count;
    last_line = one.line;
  });
  CHECK(found.empty());
  CHECK(count == 100000);
  CHECK(last_line == 100000);
  auto info = summarize_dataset(dir.path() / "dataset.jsonl", "d.jsonl");
  REQUIRE(info.ok());
  CHECK(info->cases == 100000);
  CHECK(info->task_types == std::map<std::string, std::size_t>{{"bridge", 75000},
                                                               {"comparison", 25000}});
}

}  // namespace fapo
