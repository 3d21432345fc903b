#include "engine/prompt/prompt_file.h"

#include <algorithm>
#include <optional>

#include "engine/base/strings.h"

namespace fapo {
namespace {

struct Line {
  std::size_t begin = 0;  // offset of the first character
  std::size_t end = 0;    // offset of the '\n' (or the end of the text)
  int number = 0;         // 1-based
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t begin = 0;
  int number = 1;
  while (true) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(Line{begin, end, number++});
    if (end == text.size()) return lines;
    begin = end + 1;
  }
}

std::string_view rtrim(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::string> marker_role(std::string_view line) {
  line = rtrim(line);
  if (line == "System:") return "system";
  if (line == "User:") return "user";
  return std::nullopt;
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

// Lines [first, last) of `text` as one section, blank edge lines dropped. Returns nothing for a
// blank section; collects template errors.
std::optional<PromptSection> make_section(std::string_view text, const std::vector<Line>& lines,
                                          std::size_t first, std::size_t last,
                                          const std::string& role, const std::string& source_name,
                                          std::vector<std::string>& errors) {
  auto line_text = [&](std::size_t i) {
    return text.substr(lines[i].begin, lines[i].end - lines[i].begin);
  };
  while (first < last && is_blank(line_text(first))) ++first;
  while (last > first && is_blank(line_text(last - 1))) --last;
  if (first == last) return std::nullopt;
  std::string_view body =
      rtrim(text.substr(lines[first].begin, lines[last - 1].end - lines[first].begin));
  Result<Template> parsed = Template::parse(body, source_name, lines[first].number);
  if (!parsed.ok()) {
    errors.push_back(parsed.error().message);
    return std::nullopt;
  }
  return PromptSection{role, std::move(parsed).value()};
}

}  // namespace

Result<PromptTemplate> PromptTemplate::parse(std::string_view text,
                                             const std::string& source_name) {
  std::vector<Line> lines = split_lines(text);
  std::vector<std::size_t> markers;
  std::vector<std::string> roles;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto role = marker_role(text.substr(lines[i].begin, lines[i].end - lines[i].begin));
    if (!role) continue;
    markers.push_back(i);
    roles.push_back(*role);
  }

  PromptTemplate prompt;
  prompt.source_name_ = source_name;
  std::vector<std::string> errors;
  auto add = [&](std::size_t first, std::size_t last, const std::string& role) {
    auto section = make_section(text, lines, first, last, role, source_name, errors);
    if (section) prompt.sections_.push_back(std::move(*section));
  };

  if (markers.empty()) {
    add(0, lines.size(), "user");
  } else {
    for (std::size_t i = 0; i < markers[0]; ++i) {
      if (is_blank(text.substr(lines[i].begin, lines[i].end - lines[i].begin))) continue;
      errors.push_back(source_name + ":" + std::to_string(lines[i].number) +
                       ": text before the first 'System:' or 'User:' line; move it under a "
                       "marker or delete it");
      break;
    }
    for (std::size_t m = 0; m < markers.size(); ++m) {
      std::size_t end = m + 1 < markers.size() ? markers[m + 1] : lines.size();
      add(markers[m] + 1, end, roles[m]);
    }
  }

  if (!errors.empty()) return make_error(ErrorCode::kInvalidInput, join(errors, "\n"));
  if (prompt.sections_.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      source_name +
                          ": prompt is empty: write the message text, optionally "
                          "under 'System:' and 'User:' lines");
  }
  return prompt;
}

std::vector<TemplateVariable> PromptTemplate::variables() const {
  std::vector<TemplateVariable> all;
  for (const PromptSection& section : sections_) {
    const auto& variables = section.content.variables();
    all.insert(all.end(), variables.begin(), variables.end());
  }
  return all;
}

std::vector<std::string> PromptTemplate::placeholder_names() const {
  std::vector<std::string> names;
  for (const TemplateVariable& variable : variables()) names.push_back(variable.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Result<std::vector<ChatMessage>> PromptTemplate::render(const VariableSource& source) const {
  std::vector<ChatMessage> messages;
  messages.reserve(sections_.size());
  for (const PromptSection& section : sections_) {
    FAPO_ASSIGN_OR_RETURN(std::string content, section.content.render(source));
    messages.push_back(ChatMessage{section.role, std::move(content)});
  }
  return messages;
}

Diagnostics check_variables(const PromptTemplate& prompt,
                            const std::vector<std::string>& context_keys,
                            const std::vector<std::string>& available_step_ids,
                            const std::vector<std::string>& all_step_ids,
                            const std::string& reader_step_id) {
  return check_variables(prompt.variables(), prompt.source_name(), context_keys, available_step_ids,
                         all_step_ids, reader_step_id);
}

}  // namespace fapo
