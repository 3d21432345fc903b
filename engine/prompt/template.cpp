#include "engine/prompt/template.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "engine/base/strings.h"

namespace fapo {
namespace {

constexpr std::string_view kStepPrefix = "steps.";
constexpr std::string_view kStepSuffix = ".output";
constexpr std::size_t kMaxQuotedName = 40;
constexpr std::size_t kMaxListedNames = 8;

bool is_identifier(std::string_view name) {
  if (name.empty()) return false;
  unsigned char first = static_cast<unsigned char>(name[0]);
  if (!std::isalpha(first) && first != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || u == '_';
  });
}

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string quote_variable(std::string_view inner) {
  std::string shown = truncate_utf8(inner, kMaxQuotedName);
  if (shown.size() < inner.size()) shown += "...";
  return "${" + shown + "}";
}

std::string list_names(std::vector<std::string> names, std::string_view prefix,
                       std::string_view suffix) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kMaxListedNames; ++i) {
    if (i > 0) out += ", ";
    out += std::string(prefix) + names[i] + std::string(suffix);
  }
  if (names.size() > kMaxListedNames) out += ", ...";
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

// Scans the text once, tracking line and column so every error can say where it is.
class TemplateParser {
 public:
  TemplateParser(std::string_view text, const std::string& source_name, int first_line)
      : text_(text), line_(first_line) {
    result_.source_name_ = source_name;
    result_.text_ = std::string(text);
  }

  Result<Template> run() {
    while (pos_ < text_.size()) {
      std::string_view rest = text_.substr(pos_);
      if (starts_with(rest, "$${")) {
        literal_ += "${";
        advance(3);
      } else if (starts_with(rest, "${")) {
        read_variable();
      } else {
        literal_ += text_[pos_];
        advance(1);
      }
    }
    flush_literal();
    if (!errors_.empty()) return make_error(ErrorCode::kInvalidInput, join(errors_, "\n"));
    return std::move(result_);
  }

 private:
  void advance(std::size_t count) {
    for (std::size_t i = 0; i < count && pos_ < text_.size(); ++i, ++pos_) {
      if (text_[pos_] == '\n') {
        ++line_;
        column_ = 1;
      } else if (!is_utf8_continuation(text_[pos_])) {
        ++column_;
      }
    }
  }

  void error(int line, int column, const std::string& message) {
    errors_.push_back(result_.source_name_ + ":" + std::to_string(line) + ":" +
                      std::to_string(column) + ": " + message);
  }

  // A variable never spans lines, so a `}` further down cannot close a `${` by accident.
  void read_variable() {
    std::size_t close = pos_ + 2;
    while (close < text_.size() && text_[close] != '}' && text_[close] != '\n') ++close;
    if (close >= text_.size() || text_[close] != '}') {
      error(line_, column_,
            "unterminated ${ (no '}' on the same line); write $${ for a literal ${");
      literal_ += "${";
      advance(2);
      return;
    }
    std::string_view inner = text_.substr(pos_ + 2, close - pos_ - 2);
    TemplateVariable variable;
    variable.name = std::string(inner);
    variable.line = line_;
    variable.column = column_;
    if (classify(inner, variable)) {
      flush_literal();
      Template::Segment segment;
      segment.variable_index = result_.variables_.size();
      result_.segments_.push_back(std::move(segment));
      result_.variables_.push_back(std::move(variable));
    }
    advance(close + 1 - pos_);
  }

  // Fills step fields; reports a malformed name and returns false.
  bool classify(std::string_view inner, TemplateVariable& variable) {
    if (is_identifier(inner)) return true;
    if (starts_with(inner, kStepPrefix)) {
      std::string_view id = inner.substr(kStepPrefix.size());
      bool has_suffix = id.size() > kStepSuffix.size() &&
                        id.substr(id.size() - kStepSuffix.size()) == kStepSuffix;
      if (has_suffix) id.remove_suffix(kStepSuffix.size());
      if (has_suffix && is_identifier(id)) {
        variable.is_step_output = true;
        variable.step_id = std::string(id);
        return true;
      }
      error(variable.line, variable.column,
            "malformed step reference " + quote_variable(inner) +
                ": write ${steps.<id>.output}, where <id> is a step id");
      return false;
    }
    std::string what =
        inner.empty() ? "empty variable ${}" : "malformed variable name " + quote_variable(inner);
    error(variable.line, variable.column,
          what +
              ": a name starts with a letter or '_' and has only letters, digits and '_' "
              "(write $${ for a literal ${)");
    return false;
  }

  void flush_literal() {
    if (literal_.empty()) return;
    Template::Segment segment;
    segment.literal = std::move(literal_);
    result_.segments_.push_back(std::move(segment));
    literal_.clear();
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_;
  int column_ = 1;
  std::string literal_;
  std::vector<std::string> errors_;
  Template result_;
};

Result<Template> Template::parse(std::string_view text, const std::string& source_name,
                                 int first_line) {
  return TemplateParser(text, source_name, first_line).run();
}

std::vector<std::string> Template::placeholder_names() const {
  std::set<std::string> names;
  for (const TemplateVariable& variable : variables_) names.insert(variable.name);
  return {names.begin(), names.end()};
}

Result<std::string> Template::render(const VariableSource& source) const {
  std::string out;
  for (const Segment& segment : segments_) {
    if (segment.variable_index == kLiteral) {
      out += segment.literal;
      continue;
    }
    const TemplateVariable& variable = variables_[segment.variable_index];
    const std::string* value = source ? source(variable) : nullptr;
    if (value == nullptr) {
      return make_error(ErrorCode::kInvalidInput,
                        source_name_ + ":" + std::to_string(variable.line) + ":" +
                            std::to_string(variable.column) + ": unknown variable ${" +
                            variable.name + "}");
    }
    out += *value;  // appended as is: substituted text is never scanned again
  }
  return out;
}

bool Template::is_blank() const { return variables_.empty() && trim(text_).empty(); }

VariableSource make_variable_source(const std::map<std::string, std::string>& context,
                                    const std::map<std::string, std::string>& step_outputs) {
  return [&context, &step_outputs](const TemplateVariable& variable) -> const std::string* {
    const auto& values = variable.is_step_output ? step_outputs : context;
    auto found = values.find(variable.is_step_output ? variable.step_id : variable.name);
    return found == values.end() ? nullptr : &found->second;
  };
}

namespace {

std::string context_problem(const TemplateVariable& variable,
                            const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& all_step_ids) {
  std::string message = "unknown variable ${" + variable.name + "}";
  if (auto match = closest_match(variable.name, context_keys)) {
    return message + " (did you mean ${" + *match + "}?)";
  }
  if (contains(all_step_ids, variable.name)) {
    return message + " (did you mean ${steps." + variable.name + ".output}?)";
  }
  if (context_keys.empty()) return message + " (the case context has no variables)";
  return message + " (context variables: " + list_names(context_keys, "${", "}") + ")";
}

std::string step_problem(const TemplateVariable& variable,
                         const std::vector<std::string>& all_step_ids,
                         const std::string& reader_step_id) {
  const std::string reference = "${" + variable.name + "}";
  if (contains(all_step_ids, variable.step_id)) {
    if (variable.step_id == reader_step_id) {
      return "step '" + reader_step_id + "' reads its own output " + reference +
             "; a step can read only steps that run before it";
    }
    std::string reader = reader_step_id.empty() ? "this template" : "step '" + reader_step_id + "'";
    return reader + " reads " + reference + ", but '" + variable.step_id + "' runs after it";
  }
  std::string message = "unknown step '" + variable.step_id + "' in " + reference;
  if (auto match = closest_match(variable.step_id, all_step_ids)) {
    return message + " (did you mean ${steps." + *match + ".output}?)";
  }
  if (all_step_ids.empty()) return message + " (the chain has no steps)";
  return message + " (steps: " + list_names(all_step_ids, "", "") + ")";
}

}  // namespace

Diagnostics check_variables(const std::vector<TemplateVariable>& variables,
                            const std::string& source_name,
                            const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id) {
  Diagnostics problems;
  std::set<std::string> reported;
  for (const TemplateVariable& variable : variables) {
    std::string message;
    if (variable.is_step_output) {
      if (contains(available_step_ids, variable.step_id)) continue;
      message = step_problem(variable, all_step_ids, reader_step_id);
      // The step-order message already names the reader.
      bool names_reader = contains(all_step_ids, variable.step_id);
      if (!reader_step_id.empty() && !names_reader) {
        message = "step '" + reader_step_id + "': " + message;
      }
    } else {
      if (contains(context_keys, variable.name)) continue;
      message = context_problem(variable, context_keys, all_step_ids);
      if (!reader_step_id.empty()) message = "step '" + reader_step_id + "': " + message;
    }
    if (!reported.insert(variable.name).second) continue;
    problems.push_back(Diagnostic{source_name, variable.line, "", std::move(message)});
  }
  return problems;
}

Diagnostics check_variables(const Template& tmpl, const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id) {
  return check_variables(tmpl.variables(), tmpl.source_name(), context_keys, available_step_ids,
                         all_step_ids, reader_step_id);
}

}  // namespace fapo
