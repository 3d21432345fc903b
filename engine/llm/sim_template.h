// Reply templates of the simulated model. A template is text with placeholders that read the
// case the call belongs to and the prompt the model was sent:
//
//   ${expected.F}  ${context.K}  ${metadata.K}   a value of the case (F and K may be dotted
//                                                paths into nested objects)
//   ${distractor}                                a deterministic pick from the rule's
//                                                `distractors`, else the case's
//                                                expected.distractors
//   ${prompt_line:REGEX}                         the first prompt line REGEX finds (ECMAScript,
//                                                case-insensitive); its group 1 if it has one
//   $${                                          a literal "${"
//
// A referenced value that is missing makes rendering fail with kModelPermanent rather than
// produce silent empty text. Templates are parsed once when the rules are loaded and are
// immutable afterwards, so rendering is safe from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/data/case.h"

namespace fapo {

// Everything a template may read during one call. Borrowed: must outlive render().
struct SimRenderInputs {
  const Case* case_data = nullptr;                          // null when the caller sent none
  std::string_view prompt;                                  // messages joined by '\n'
  const std::vector<std::string>* rule_distractors = nullptr;  // may be null or empty
  std::uint64_t distractor_draw = 0;                        // selects the distractor
};

class SimTemplate {
 public:
  SimTemplate() = default;  // renders as the empty string

  // Parses `source`; the error (kInvalidInput) describes the placeholder, without a location:
  // the caller knows the config path and prefixes it.
  static Result<SimTemplate> parse(std::string_view source);

  Result<std::string> render(const SimRenderInputs& inputs) const;

  const std::string& source() const { return source_; }

 private:
  enum class PartKind { kText, kExpected, kContext, kMetadata, kDistractor, kPromptLine };
  struct Part {
    PartKind kind = PartKind::kText;
    std::string text;  // literal text, or the key path, or the regex source
    std::shared_ptr<const std::regex> pattern;  // kPromptLine only
  };

  static Result<Part> parse_placeholder(std::string_view body);
  static Result<std::string> render_prompt_line(const Part& part, std::string_view prompt);

  std::vector<Part> parts_;
  std::string source_;
};

// The distractor a draw selects: from `rule_distractors` when non-empty, else from the case's
// expected.distractors (a string or an array of strings). kModelPermanent when neither exists.
Result<std::string> pick_distractor(const std::vector<std::string>* rule_distractors,
                                    const Case* case_data, std::uint64_t draw);

// The value at a dotted path ("a.b") inside a JSON object, or null when any step is missing.
const nlohmann::json* find_json_path(const nlohmann::json& root, std::string_view path);

}  // namespace fapo
