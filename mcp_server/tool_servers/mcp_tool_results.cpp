#include "mcp_server/tool_servers/mcp_tool_results.h"

#include <cctype>
#include <string_view>
#include <vector>

#include "engine/base/strings.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

std::string string_field(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// A block that is not text, as a placeholder the model can at least see exists.
std::string placeholder(const json& block) {
  std::string type = string_field(block, "type");
  if (type == "image" || type == "audio") {
    std::string mime = string_field(block, "mimeType");
    return "[" + type + ": " + (mime.empty() ? "unknown type" : mime) + "]";
  }
  if (type == "resource_link") return "[resource link: " + string_field(block, "uri") + "]";
  if (type == "resource" && block.contains("resource") && block["resource"].is_object()) {
    const json& resource = block["resource"];
    // An embedded text resource is text the tool chose to return: keep it.
    if (resource.contains("text") && resource["text"].is_string()) {
      return resource["text"].get<std::string>();
    }
    return "[resource: " + string_field(resource, "uri") + "]";
  }
  return "[" + (type.empty() ? std::string("unknown") : type) + " content]";
}

// Lower-case words: letters, digits and the characters tool names use.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || c == '-' || c == '.') {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Whether `words` holds `phrase` at `at`; "*" in the phrase matches any one word.
bool matches_at(const std::vector<std::string>& words, std::size_t at,
                const std::vector<std::string_view>& phrase) {
  if (at + phrase.size() > words.size()) return false;
  for (std::size_t i = 0; i < phrase.size(); ++i) {
    if (phrase[i] != "*" && words[at + i] != phrase[i]) return false;
  }
  return true;
}

bool has_phrase(const std::vector<std::string>& words,
                const std::vector<std::vector<std::string_view>>& phrases) {
  for (std::size_t at = 0; at < words.size(); ++at) {
    for (const auto& phrase : phrases) {
      if (matches_at(words, at, phrase)) return true;
    }
  }
  return false;
}

bool contains_any(const std::string& lower, const std::vector<std::string_view>& needles) {
  for (std::string_view needle : needles) {
    if (lower.find(needle) != std::string::npos) return true;
  }
  return false;
}

// "Unknown tool: x", "Tool x not found", "no such tool": the text is about the tool itself,
// not about something the tool looked for ("record not found" stays a plain failure).
bool says_tool_unknown(const std::string& text) {
  static const std::vector<std::vector<std::string_view>> kPhrases = {
      {"unknown", "tool"},
      {"no", "such", "tool"},
      {"tool", "not", "found"},
      {"tool", "*", "not", "found"},
      {"tool", "does", "not", "exist"},
      {"tool", "*", "does", "not", "exist"},
      {"tool", "*", "is", "not", "registered"}};
  return has_phrase(words_of(text), kPhrases);
}

}  // namespace

ToolDefinition to_tool_definition(const json& mcp_tool) {
  ToolDefinition definition;
  definition.name = string_field(mcp_tool, "name");
  definition.description = string_field(mcp_tool, "description");
  if (definition.description.empty()) definition.description = string_field(mcp_tool, "title");
  auto schema = mcp_tool.find("inputSchema");
  if (schema != mcp_tool.end() && schema->is_object()) {
    definition.parameters = *schema;
    definition.parameters.erase("$schema");
    if (!definition.parameters.contains("type")) definition.parameters["type"] = "object";
  }
  return definition;
}

std::string render_tool_content(const json& result, std::size_t max_bytes) {
  std::string text;
  bool has_text = false;
  auto append = [&text](const std::string& part) {
    if (!text.empty()) text += "\n";
    text += part;
  };
  if (auto content = result.find("content"); content != result.end() && content->is_array()) {
    for (const json& block : *content) {
      if (!block.is_object()) continue;
      if (string_field(block, "type") == "text") {
        append(string_field(block, "text"));
        has_text = true;
      } else {
        append(placeholder(block));
      }
    }
  }
  auto structured = result.find("structuredContent");
  if (!has_text && structured != result.end() && !structured->is_null()) {
    append(structured->dump());
  }
  if (text.size() <= max_bytes) return text;
  std::size_t total = text.size();
  std::string kept = truncate_utf8(text, max_bytes);
  return kept + "\n[cut: the tool returned " + std::to_string(total) + " bytes; the first " +
         std::to_string(kept.size()) + " are kept]";
}

ToolErrorKind classify_tool_error_text(const std::string& text) {
  if (says_tool_unknown(text)) return ToolErrorKind::kUnknownTool;
  std::string lower = to_lower(text);
  if (contains_any(lower, {"invalid argument", "invalid param", "invalid input", "validation",
                           "missing required", "required argument", "required parameter",
                           "required property", "-32602"})) {
    return ToolErrorKind::kInvalidArguments;
  }
  if (contains_any(lower, {"permission", "denied", "forbidden", "not allowed", "unauthorized",
                           "not authorized"})) {
    return ToolErrorKind::kPermission;
  }
  return ToolErrorKind::kOther;
}

ToolErrorKind classify_rpc_error(long long code, const std::string& message) {
  if (code == -32601) return ToolErrorKind::kUnknownTool;
  if (code != -32602) return ToolErrorKind::kOther;
  // For tools/call, "not found" in an invalid-params error means the tool name was not found.
  if (says_tool_unknown(message) || to_lower(message).find("not found") != std::string::npos) {
    return ToolErrorKind::kUnknownTool;
  }
  return ToolErrorKind::kInvalidArguments;
}

}  // namespace fapo::mcp
