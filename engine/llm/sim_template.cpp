#include "engine/llm/sim_template.h"

#include "engine/base/strings.h"

namespace fapo {
namespace {

constexpr std::string_view kPlaceholderHelp =
    "use ${expected.<field>}, ${context.<key>}, ${metadata.<key>}, ${distractor} or "
    "${prompt_line:<regex>}";

// Index of the '}' closing a placeholder whose body starts at `begin`, counting nested braces
// so a regex such as \d{2} stays inside; npos when unterminated.
std::size_t closing_brace(std::string_view source, std::size_t begin) {
  int depth = 0;
  for (std::size_t i = begin; i < source.size(); ++i) {
    if (source[i] == '\\') {
      ++i;  // an escaped character never opens or closes
    } else if (source[i] == '{') {
      ++depth;
    } else if (source[i] == '}') {
      if (depth == 0) return i;
      --depth;
    }
  }
  return std::string_view::npos;
}

Result<std::string> scalar_text(const nlohmann::json& value, const std::string& placeholder) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return make_error(ErrorCode::kModelPermanent,
                    placeholder + " is " + std::string(value.type_name()) +
                        ", not a string or number");
}

std::string case_label(const Case& case_data) { return "case '" + case_data.case_id + "'"; }

}  // namespace

const nlohmann::json* find_json_path(const nlohmann::json& root, std::string_view path) {
  const nlohmann::json* node = &root;
  for (const std::string& key : split(path, '.')) {
    if (!node->is_object()) return nullptr;
    auto found = node->find(key);
    if (found == node->end()) return nullptr;
    node = &*found;
  }
  return node;
}

Result<SimTemplate::Part> SimTemplate::parse_placeholder(std::string_view body) {
  Part part;
  auto keyed = [&](std::string_view prefix, PartKind kind) {
    if (!starts_with(body, prefix) || body.size() == prefix.size()) return false;
    part.kind = kind;
    part.text = std::string(body.substr(prefix.size()));
    return true;
  };
  if (body == "distractor") {
    part.kind = PartKind::kDistractor;
    return part;
  }
  if (keyed("expected.", PartKind::kExpected) || keyed("context.", PartKind::kContext) ||
      keyed("metadata.", PartKind::kMetadata)) {
    return part;
  }
  if (keyed("prompt_line:", PartKind::kPromptLine)) {
    try {
      part.pattern = std::make_shared<const std::regex>(
          part.text, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
    } catch (const std::regex_error& error) {
      return make_error(ErrorCode::kInvalidInput, "${prompt_line:" + part.text +
                                                      "}: invalid regex (" + error.what() + ")");
    }
    return part;
  }
  return make_error(ErrorCode::kInvalidInput,
                    "unknown placeholder ${" + std::string(body) + "}; " +
                        std::string(kPlaceholderHelp));
}

Result<SimTemplate> SimTemplate::parse(std::string_view source) {
  SimTemplate result;
  result.source_ = std::string(source);
  std::string literal;
  std::size_t i = 0;
  while (i < source.size()) {
    if (source.substr(i, 3) == "$${") {
      literal += "${";
      i += 3;
    } else if (source.substr(i, 2) == "${") {
      std::size_t end = closing_brace(source, i + 2);
      if (end == std::string_view::npos) {
        return make_error(ErrorCode::kInvalidInput,
                          "unterminated placeholder starting at character " + std::to_string(i) +
                              " (write $${ for a literal ${)");
      }
      FAPO_ASSIGN_OR_RETURN(Part part, parse_placeholder(source.substr(i + 2, end - i - 2)));
      if (!literal.empty()) result.parts_.push_back(Part{PartKind::kText, std::move(literal), {}});
      literal.clear();
      result.parts_.push_back(std::move(part));
      i = end + 1;
    } else {
      literal += source[i++];
    }
  }
  if (!literal.empty()) result.parts_.push_back(Part{PartKind::kText, std::move(literal), {}});
  return result;
}

Result<std::string> SimTemplate::render_prompt_line(const Part& part, std::string_view prompt) {
  std::size_t start = 0;
  while (start <= prompt.size()) {
    std::size_t end = prompt.find('\n', start);
    if (end == std::string_view::npos) end = prompt.size();
    std::string_view line = prompt.substr(start, end - start);
    std::match_results<std::string_view::const_iterator> match;
    if (std::regex_search(line.begin(), line.end(), match, *part.pattern)) {
      return trim(match.size() > 1 && match[1].matched ? match[1].str() : std::string(line));
    }
    start = end + 1;
  }
  return make_error(ErrorCode::kModelPermanent,
                    "${prompt_line:" + part.text + "} matches no line of the prompt");
}

Result<std::string> SimTemplate::render(const SimRenderInputs& inputs) const {
  std::string out;
  for (const Part& part : parts_) {
    if (part.kind == PartKind::kText) {
      out += part.text;
      continue;
    }
    if (part.kind == PartKind::kPromptLine) {
      FAPO_ASSIGN_OR_RETURN(std::string line, render_prompt_line(part, inputs.prompt));
      out += line;
      continue;
    }
    if (part.kind == PartKind::kDistractor) {
      FAPO_ASSIGN_OR_RETURN(std::string pick, pick_distractor(inputs.rule_distractors,
                                                              inputs.case_data,
                                                              inputs.distractor_draw));
      out += pick;
      continue;
    }
    const char* prefix = part.kind == PartKind::kExpected  ? "expected."
                         : part.kind == PartKind::kContext ? "context."
                                                           : "metadata.";
    std::string placeholder = "${" + std::string(prefix) + part.text + "}";
    if (inputs.case_data == nullptr) {
      return make_error(ErrorCode::kModelPermanent,
                        placeholder + " needs the case, but the call carried none");
    }
    const Case& case_data = *inputs.case_data;
    if (part.kind == PartKind::kContext) {
      auto found = case_data.context.find(part.text);
      if (found == case_data.context.end()) {
        return make_error(ErrorCode::kModelPermanent,
                          placeholder + " is missing from " + case_label(case_data));
      }
      out += found->second;
      continue;
    }
    const nlohmann::json& root =
        part.kind == PartKind::kExpected ? case_data.expected : case_data.metadata;
    const nlohmann::json* value = find_json_path(root, part.text);
    if (value == nullptr) {
      return make_error(ErrorCode::kModelPermanent,
                        placeholder + " is missing from " + case_label(case_data));
    }
    FAPO_ASSIGN_OR_RETURN(std::string text, scalar_text(*value, placeholder));
    out += text;
  }
  return out;
}

Result<std::string> pick_distractor(const std::vector<std::string>* rule_distractors,
                                    const Case* case_data, std::uint64_t draw) {
  if (rule_distractors != nullptr && !rule_distractors->empty()) {
    return (*rule_distractors)[draw % rule_distractors->size()];
  }
  if (case_data == nullptr) {
    return make_error(ErrorCode::kModelPermanent,
                      "${distractor} needs the rule's distractors or the case's "
                      "expected.distractors, but the call carried no case");
  }
  auto found = case_data->expected.find("distractors");
  if (found != case_data->expected.end()) {
    if (found->is_string()) return found->get<std::string>();
    if (found->is_array() && !found->empty()) {
      const nlohmann::json& pick = (*found)[draw % found->size()];
      if (pick.is_string()) return pick.get<std::string>();
    }
  }
  return make_error(ErrorCode::kModelPermanent,
                    "${distractor}: the rule lists no distractors and case '" +
                        case_data->case_id +
                        "' has no expected.distractors (a string or a non-empty array of "
                        "strings)");
}

}  // namespace fapo
