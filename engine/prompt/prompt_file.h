// A prompt file (`prompts/*.md`) is split into chat messages by lines that are exactly
// `System:` or `User:` (trailing whitespace allowed, case-sensitive); the text up to the next
// marker is that message. Without markers the whole file is one user message. Each message is
// a Template whose line numbers are those of the file. Blank lines at the edges of a message
// are dropped, as is a message that is blank altogether, so the separating blank lines that
// make a file readable never reach the model. Immutable after parsing; safe to render from
// many threads at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"
#include "engine/llm/model.h"
#include "engine/prompt/template.h"

namespace fapo {

struct PromptSection {
  std::string role;  // "system" or "user"
  Template content;
};

class PromptTemplate {
 public:
  // Errors name the source and line: text before the first marker, template syntax errors
  // (with column), or a prompt with no text at all.
  static Result<PromptTemplate> parse(std::string_view text, const std::string& source_name);

  const std::vector<PromptSection>& sections() const { return sections_; }
  const std::string& source_name() const { return source_name_; }

  // Every variable occurrence of every section, in file order.
  std::vector<TemplateVariable> variables() const;
  // Distinct names as written, sorted: the placeholders an edited prompt must keep.
  std::vector<std::string> placeholder_names() const;

  // One message per section, in file order.
  Result<std::vector<ChatMessage>> render(const VariableSource& source) const;

 private:
  std::string source_name_;
  std::vector<PromptSection> sections_;
};

// check_variables (template.h) over every section of a prompt.
Diagnostics check_variables(const PromptTemplate& prompt,
                            const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id = {});

}  // namespace fapo
