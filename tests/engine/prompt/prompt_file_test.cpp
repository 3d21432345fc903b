#include "engine/prompt/prompt_file.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace fapo {
namespace {

PromptTemplate parse_ok(std::string_view text) {
  Result<PromptTemplate> parsed = PromptTemplate::parse(text, "prompts/answer.md");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
  return std::move(parsed).value();
}

std::vector<ChatMessage> render_ok(const PromptTemplate& prompt,
                                   const std::map<std::string, std::string>& context,
                                   const std::map<std::string, std::string>& steps = {}) {
  auto rendered = prompt.render(make_variable_source(context, steps));
  REQUIRE_MESSAGE(rendered.ok(), (rendered.ok() ? "" : rendered.error().message));
  return rendered.value();
}

TEST_CASE("System: and User: lines split a prompt into messages") {
  PromptTemplate prompt = parse_ok(
      "System:\n"
      "You answer briefly.\n"
      "\n"
      "User:  \n"
      "Evidence:\n"
      "${steps.retrieve.output}\n"
      "\n"
      "Question: ${question}\n");
  std::vector<ChatMessage> messages =
      render_ok(prompt, {{"question", "Who?"}}, {{"retrieve", "[1] «Ada | text»"}});
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].role == "system");
  CHECK(messages[0].content == "You answer briefly.");
  CHECK(messages[1].role == "user");
  CHECK(messages[1].content == "Evidence:\n[1] «Ada | text»\n\nQuestion: Who?");
}

TEST_CASE("a prompt without markers is one user message") {
  PromptTemplate prompt = parse_ok("\nAnswer: ${question}\nsystem: not a marker\n\n");
  std::vector<ChatMessage> messages = render_ok(prompt, {{"question", "Q"}});
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].role == "user");
  CHECK(messages[0].content == "Answer: Q\nsystem: not a marker");
}

TEST_CASE("markers are case-sensitive and must be the whole line") {
  PromptTemplate prompt = parse_ok("User:\nuser:\n System:\nUser: hello\n");
  REQUIRE(prompt.sections().size() == 1);
  CHECK(prompt.sections()[0].content.text() == "user:\n System:\nUser: hello");
}

TEST_CASE("text before the first marker is an error naming its line") {
  Result<PromptTemplate> parsed =
      PromptTemplate::parse("\n\nstray words\nSystem:\nbe brief\n", "prompts/answer.md");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().code == ErrorCode::kInvalidInput);
  CHECK(parsed.error().message.find("prompts/answer.md:3: text before the first") == 0);
}

TEST_CASE("template errors inside a section carry the file's line numbers") {
  Result<PromptTemplate> parsed =
      PromptTemplate::parse("System:\nok\n\nUser:\n\nQ: ${question\n", "prompts/answer.md");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message.find("prompts/answer.md:6:4: unterminated ${") == 0);
}

TEST_CASE("a prompt with no text is an error") {
  for (std::string_view text : {std::string_view(""), std::string_view("System:\n\nUser:\n  \n")}) {
    Result<PromptTemplate> parsed = PromptTemplate::parse(text, "prompts/empty.md");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message.find("prompts/empty.md: prompt is empty") == 0);
  }
}

TEST_CASE("blank sections are dropped and the rest keep their order") {
  PromptTemplate prompt = parse_ok("System:\n\nUser:\nfirst\nUser:\nsecond ${x}\n");
  std::vector<ChatMessage> messages = render_ok(prompt, {{"x", "2"}});
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].content == "first");
  CHECK(messages[1].content == "second 2");
}

TEST_CASE("variables and placeholder names cover every section") {
  PromptTemplate prompt =
      parse_ok("System:\nRole: ${persona}\nUser:\n${question} ${steps.hop1.output} ${question}\n");
  std::vector<TemplateVariable> variables = prompt.variables();
  REQUIRE(variables.size() == 4);
  CHECK(variables[0].name == "persona");
  CHECK(variables[0].line == 2);
  CHECK(variables[2].line == 4);
  CHECK(prompt.placeholder_names() ==
        std::vector<std::string>{"persona", "question", "steps.hop1.output"});
}

TEST_CASE("rendering fails on a variable without a value") {
  PromptTemplate prompt = parse_ok("System:\nfine\nUser:\n${missing}\n");
  auto rendered = prompt.render(make_variable_source({}, {}));
  REQUIRE_FALSE(rendered.ok());
  CHECK(rendered.error().message == "prompts/answer.md:4:1: unknown variable ${missing}");
}

TEST_CASE("check_variables over a prompt names the file, the line and the step") {
  PromptTemplate prompt = parse_ok("System:\nbe brief\nUser:\n${questoin}\n${steps.hop2.output}\n");
  Diagnostics problems =
      check_variables(prompt, {"question"}, {"hop1"}, {"hop1", "answer", "hop2"}, "answer");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].to_string() ==
        "prompts/answer.md:4: step 'answer': unknown variable ${questoin} (did you mean "
        "${question}?)");
  CHECK(problems[1].to_string() ==
        "prompts/answer.md:5: step 'answer' reads ${steps.hop2.output}, but 'hop2' runs after it");
}

}  // namespace
}  // namespace fapo
