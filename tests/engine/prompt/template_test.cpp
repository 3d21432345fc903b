#include "engine/prompt/template.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace fapo {
namespace {

Template parse_ok(std::string_view text) {
  Result<Template> parsed = Template::parse(text, "prompts/answer.md");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
  return std::move(parsed).value();
}

std::string render_ok(const Template& tmpl, const std::map<std::string, std::string>& context,
                      const std::map<std::string, std::string>& steps = {}) {
  Result<std::string> rendered = tmpl.render(make_variable_source(context, steps));
  REQUIRE_MESSAGE(rendered.ok(), (rendered.ok() ? "" : rendered.error().message));
  return rendered.value();
}

std::string parse_error(std::string_view text) {
  Result<Template> parsed = Template::parse(text, "prompts/answer.md");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().code == ErrorCode::kInvalidInput);
  return parsed.error().message;
}

TEST_CASE("substitutes context values and earlier step outputs") {
  Template tmpl = parse_ok("Q: ${question}\nNotes: ${steps.hop1.output}.");
  std::string out = render_ok(tmpl, {{"question", "Who?"}}, {{"hop1", "Ada"}});
  CHECK(out == "Q: Who?\nNotes: Ada.");
}

TEST_CASE("records each variable with its kind, step id and position") {
  Template tmpl = parse_ok("a ${question}\n  é ${steps.hop1.output} ${question}");
  const auto& variables = tmpl.variables();
  REQUIRE(variables.size() == 3);
  CHECK(variables[0].name == "question");
  CHECK_FALSE(variables[0].is_step_output);
  CHECK(variables[0].line == 1);
  CHECK(variables[0].column == 3);
  CHECK(variables[1].name == "steps.hop1.output");
  CHECK(variables[1].is_step_output);
  CHECK(variables[1].step_id == "hop1");
  CHECK(variables[1].line == 2);
  CHECK(variables[1].column == 5);  // "é" is one character though two bytes
  CHECK(tmpl.placeholder_names() == std::vector<std::string>{"question", "steps.hop1.output"});
}

TEST_CASE("$${ writes a literal ${ and a lone $ stays literal") {
  Template tmpl = parse_ok("cost $5, shell $${HOME}, end $");
  CHECK(tmpl.variables().empty());
  CHECK(render_ok(tmpl, {}) == "cost $5, shell ${HOME}, end $");
}

TEST_CASE("substituted text is never expanded again") {
  Template tmpl = parse_ok("Q: ${question}");
  std::string out =
      render_ok(tmpl, {{"question", "what is ${secret} and $${x}?"}, {"secret", "LEAKED"}});
  CHECK(out == "Q: what is ${secret} and $${x}?");
}

TEST_CASE("rendering a variable the source cannot resolve is an error, not empty text") {
  Template tmpl = parse_ok("line one\nQ: ${questoin}");
  Result<std::string> rendered = tmpl.render(make_variable_source({{"question", "q"}}, {}));
  REQUIRE_FALSE(rendered.ok());
  CHECK(rendered.error().code == ErrorCode::kInvalidInput);
  CHECK(rendered.error().message == "prompts/answer.md:2:4: unknown variable ${questoin}");
}

TEST_CASE("an unterminated ${ is reported with its line and column") {
  std::string message = parse_error("first\nsecond ${question\n${ok}");
  CHECK(message.find("prompts/answer.md:2:8: unterminated ${") != std::string::npos);
  CHECK(message.find("$${") != std::string::npos);  // says how to write a literal
}

TEST_CASE("malformed names inside ${...} are parse errors, all reported at once") {
  std::string message = parse_error("${ question }\n${}\nx ${steps.hop1}\n${1abc}");
  CHECK(message.find("prompts/answer.md:1:1: malformed variable name ${ question }") !=
        std::string::npos);
  CHECK(message.find("prompts/answer.md:2:1: empty variable ${}") != std::string::npos);
  CHECK(message.find("prompts/answer.md:3:3: malformed step reference ${steps.hop1}") !=
        std::string::npos);
  CHECK(message.find("prompts/answer.md:4:1: malformed variable name ${1abc}") !=
        std::string::npos);
}

TEST_CASE("a template cut from a larger file reports lines of that file") {
  Result<Template> parsed = Template::parse("ok\n${bad name}", "prompts/a.md", 7);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message.find("prompts/a.md:8:1:") == 0);
}

TEST_CASE("check_variables suggests the closest context variable") {
  Template tmpl = parse_ok("\n\nQ: ${questoin}");
  Diagnostics problems = check_variables(tmpl, {"question", "title"}, {}, {"answer"}, "answer");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == "prompts/answer.md");
  CHECK(problems[0].line == 3);
  CHECK(problems[0].message ==
        "step 'answer': unknown variable ${questoin} (did you mean ${question}?)");
  CHECK(problems[0].to_string() ==
        "prompts/answer.md:3: step 'answer': unknown variable ${questoin} (did you mean "
        "${question}?)");
}

TEST_CASE("check_variables lists the context variables when nothing is close") {
  Template tmpl = parse_ok("${zzzzzzzz}");
  Diagnostics problems = check_variables(tmpl, {"title", "question"}, {}, {});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message ==
        "unknown variable ${zzzzzzzz} (context variables: ${question}, ${title})");
}

TEST_CASE("check_variables points a bare step id to its output reference") {
  Template tmpl = parse_ok("${hop1}");
  Diagnostics problems = check_variables(tmpl, {"question"}, {"hop1"}, {"hop1", "answer"});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("did you mean ${steps.hop1.output}?") != std::string::npos);
}

TEST_CASE("check_variables reports a step that runs after the reader") {
  Template tmpl = parse_ok("${steps.hop1.output} ${steps.hop2.output}");
  Diagnostics problems = check_variables(tmpl, {}, {"hop1"}, {"hop1", "answer", "hop2"}, "answer");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message ==
        "step 'answer' reads ${steps.hop2.output}, but 'hop2' runs after it");
}

TEST_CASE("check_variables reports a step reading its own output") {
  Template tmpl = parse_ok("${steps.answer.output}");
  Diagnostics problems = check_variables(tmpl, {}, {}, {"answer"}, "answer");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("step 'answer' reads its own output") == 0);
}

TEST_CASE("check_variables suggests an existing step for an unknown one") {
  Template tmpl = parse_ok("${steps.hop3.output}");
  Diagnostics problems = check_variables(tmpl, {}, {"hop2"}, {"hop2", "answer"}, "answer");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message ==
        "step 'answer': unknown step 'hop3' in ${steps.hop3.output} (did you mean "
        "${steps.hop2.output}?)");
}

TEST_CASE("check_variables reports each distinct variable once and accepts valid ones") {
  Template tmpl = parse_ok("${q} ${q} ${question} ${steps.hop1.output}");
  Diagnostics problems = check_variables(tmpl, {"question"}, {"hop1"}, {"hop1", "answer"});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("${q}") != std::string::npos);
}

TEST_CASE("the empty template renders as empty text") {
  Template tmpl = parse_ok("");
  CHECK(tmpl.is_blank());
  CHECK(render_ok(tmpl, {}).empty());
}

}  // namespace
}  // namespace fapo
