// A template is text with placeholders: `${name}` reads a case context value and
// `${steps.<id>.output}` reads the output of an earlier step; `$${` writes a literal `${`, and a
// `$` that starts neither is literal too. A template is parsed once into literal and variable
// segments, so rendering is a single pass that never looks inside substituted text: a `${x}`
// that arrives in a case's question stays text. Parsed templates are immutable values, safe to
// render from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"

namespace fapo {

struct TemplateVariable {
  std::string name;             // as written between `${` and `}`: "question", "steps.hop1.output"
  bool is_step_output = false;  // a `${steps.<id>.output}` reference
  std::string step_id;          // "hop1" when is_step_output, else empty
  int line = 0;                 // 1-based position of the `$` in the source
  int column = 0;               // 1-based, counted in UTF-8 characters
};

// Supplies the value of a variable, or nullptr when it has none. A returned pointer must stay
// valid until the render call that asked for it returns.
using VariableSource = std::function<const std::string*(const TemplateVariable&)>;

// A source over a case context and the step outputs produced so far. Both maps are borrowed
// and must outlive the returned function.
VariableSource make_variable_source(const std::map<std::string, std::string>& context,
                                    const std::map<std::string, std::string>& step_outputs);

class Template {
 public:
  Template() = default;  // the empty template; renders as ""

  // Parse errors name the source, line and column ("prompts/answer.md:3:9: unterminated ${"),
  // all of them at once, one per line. `first_line` is the line of `text` within its file, for
  // templates cut out of a larger file.
  static Result<Template> parse(std::string_view text, const std::string& source_name,
                                int first_line = 1);

  // Every occurrence, in order of appearance.
  const std::vector<TemplateVariable>& variables() const { return variables_; }
  // Distinct variable names as written, sorted ("question", "steps.hop1.output").
  std::vector<std::string> placeholder_names() const;

  // Substitutes every variable once. A variable the source cannot resolve is an error
  // ("unknown variable ${x}"), never empty text.
  Result<std::string> render(const VariableSource& source) const;

  const std::string& source_name() const { return source_name_; }
  const std::string& text() const { return text_; }  // as written, escapes included
  // No variables and nothing but whitespace.
  bool is_blank() const;

 private:
  struct Segment {
    std::string literal;  // used when variable_index == kLiteral
    std::size_t variable_index = kLiteral;
  };
  static constexpr std::size_t kLiteral = static_cast<std::size_t>(-1);

  std::string source_name_;
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<TemplateVariable> variables_;

  friend class TemplateParser;
};

// Checks that every variable resolves at the point where the template is rendered: context
// variables must be among `context_keys`; step outputs must name a step in
// `available_step_ids` (steps that have run by then). A step that exists in `all_step_ids` but
// has not run yet, or an unknown name, is reported with a suggestion when one is close. Each
// distinct variable is reported once, at its first occurrence: `file` is the template's
// source name and `line` its line. `reader_step_id`, when given, names the step in messages:
//   "step 'answer': unknown variable ${questoin} (did you mean ${question}?)"
//   "step 'answer' reads ${steps.hop2.output}, but 'hop2' runs after it"
Diagnostics check_variables(const Template& tmpl, const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id = {});

// The same check over variables gathered from several templates of one source.
Diagnostics check_variables(const std::vector<TemplateVariable>& variables,
                            const std::string& source_name,
                            const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id = {});

}  // namespace fapo
