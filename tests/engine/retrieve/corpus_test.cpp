#include "engine/retrieve/corpus.h"

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace fapo {
namespace {

TEST_CASE("loads passages in file order, skipping blank lines") {
  testing::TempDir dir;
  testing::write_text(
      dir.path() / "corpus.jsonl",
      "{\"id\": \"a1\", \"title\": \"Ada Lovelace\", \"text\": \"Mathematician.\"}\n"
      "\n"
      "{\"id\": \"a2\", \"text\": \"No title here.\", \"url\": \"ignored\"}\r\n");
  auto passages = load_corpus(dir.path() / "corpus.jsonl", "tenants/qa/corpus.jsonl");
  REQUIRE_MESSAGE(passages.ok(), (passages.ok() ? "" : passages.error().message));
  REQUIRE(passages->size() == 2);
  CHECK((*passages)[0].id == "a1");
  CHECK((*passages)[0].title == "Ada Lovelace");
  CHECK((*passages)[0].text == "Mathematician.");
  CHECK((*passages)[1].id == "a2");
  CHECK((*passages)[1].title.empty());
  CHECK((*passages)[1].text == "No title here.");
}

TEST_CASE("reports every malformed line with its line number and field") {
  std::string content =
      "{\"id\": \"a1\", \"title\": \"T\", \"text\": \"ok\"}\n"
      "not json\n"
      "[1, 2]\n"
      "{\"id\": 7, \"text\": \"x\"}\n"
      "{\"id\": \"a5\", \"title\": null}\n"
      "{\"id\": \"  \", \"text\": \"x\"}\n";
  auto passages = parse_corpus(content, "tenants/qa/corpus.jsonl");
  REQUIRE_FALSE(passages.ok());
  const Error& error = passages.error();
  CHECK(error.code == ErrorCode::kInvalidInput);
  CHECK(error.message.find("tenants/qa/corpus.jsonl:2: invalid JSON: ") != std::string::npos);
  CHECK(error.message.find("tenants/qa/corpus.jsonl:3: must be a JSON object, got array") !=
        std::string::npos);
  CHECK(error.message.find("tenants/qa/corpus.jsonl:4: field 'id': must be a string, got number") !=
        std::string::npos);
  CHECK(
      error.message.find("tenants/qa/corpus.jsonl:5: field 'title': must be a string, got null") !=
      std::string::npos);
  CHECK(error.message.find("tenants/qa/corpus.jsonl:5: field 'text': missing") !=
        std::string::npos);
  CHECK(error.message.find("tenants/qa/corpus.jsonl:6: field 'id': must not be empty") !=
        std::string::npos);
  CHECK(error.message.find(":1:") == std::string::npos);
}

TEST_CASE("reports a duplicate id with the line of its first use") {
  std::string content =
      "{\"id\": \"a1\", \"text\": \"one\"}\n"
      "{\"id\": \"a2\", \"text\": \"two\"}\n"
      "{\"id\": \"a1\", \"text\": \"again\"}\n";
  auto passages = parse_corpus(content, "corpus.jsonl");
  REQUIRE_FALSE(passages.ok());
  CHECK(passages.error().message ==
        "corpus.jsonl:3: field 'id': duplicate id 'a1' (first used on line 1)");
}

TEST_CASE("an empty corpus is an error") {
  auto passages = parse_corpus("\n  \n", "tenants/qa/corpus.jsonl");
  REQUIRE_FALSE(passages.ok());
  CHECK(passages.error().code == ErrorCode::kInvalidInput);
  CHECK(passages.error().message ==
        "tenants/qa/corpus.jsonl: corpus is empty: a retrieve step needs at least one passage");
}

TEST_CASE("a missing corpus file is reported as not found") {
  testing::TempDir dir;
  auto passages = load_corpus(dir.path() / "corpus.jsonl", "tenants/qa/corpus.jsonl");
  REQUIRE_FALSE(passages.ok());
  CHECK(passages.error().code == ErrorCode::kNotFound);
  CHECK(passages.error().message.find("tenants/qa/corpus.jsonl") == 0);
}

TEST_CASE("caps the list of problems of a badly broken file") {
  std::string content;
  for (int i = 0; i < 80; ++i) content += "garbage\n";
  auto passages = parse_corpus(content, "corpus.jsonl");
  REQUIRE_FALSE(passages.ok());
  CHECK(passages.error().message.find("corpus.jsonl:50: invalid JSON") != std::string::npos);
  CHECK(passages.error().message.find("corpus.jsonl:51:") == std::string::npos);
  CHECK(passages.error().message.find("... and 30 more problems") != std::string::npos);
}

TEST_CASE("accepts a byte order mark at the start of the file") {
  auto passages = parse_corpus("\xEF\xBB\xBF{\"id\": \"a\", \"text\": \"t\"}\n", "corpus.jsonl");
  REQUIRE(passages.ok());
  CHECK((*passages)[0].id == "a");
}

}  // namespace
}  // namespace fapo
