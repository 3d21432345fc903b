#include "engine/data/schema_messages.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>
#include <utility>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

// Bounds $ref expansion, so a recursive schema (a loop step holds steps) cannot loop forever.
constexpr int kMaxDepth = 32;

bool type_matches(const json& type, const json& value) {
  if (type.is_array()) {
    return std::any_of(type.begin(), type.end(),
                       [&](const json& one) { return type_matches(one, value); });
  }
  if (!type.is_string()) return true;
  const std::string& name = type.get_ref<const std::string&>();
  if (name == "integer") return value.is_number_integer();
  if (name == "number") return value.is_number();
  if (name == "string") return value.is_string();
  if (name == "object") return value.is_object();
  if (name == "array") return value.is_array();
  if (name == "boolean") return value.is_boolean();
  if (name == "null") return value.is_null();
  return true;
}

// Finds the subschemas that apply at a point of the document, so messages can quote what the
// schema expects (types, enum values, bounds, field names). valijson does not expose which
// constraint failed, only a description and the document path.
class SchemaWalker {
 public:
  explicit SchemaWalker(const json& root) : root_(root) {}

  // `node` plus what its $ref, allOf/anyOf/oneOf and if/then/else bring in for `value`. Every
  // anyOf/oneOf branch is included: messages then mention the union of what the branches allow.
  void expand(const json& node, const json& value, std::vector<const json*>& out,
              int depth) const {
    if (depth > kMaxDepth || !node.is_object()) return;
    if (std::find(out.begin(), out.end(), &node) != out.end()) return;
    out.push_back(&node);
    if (auto ref = node.find("$ref"); ref != node.end() && ref->is_string()) {
      if (const json* target = resolve(*ref)) expand(*target, value, out, depth + 1);
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      auto list = node.find(keyword);
      if (list == node.end() || !list->is_array()) continue;
      for (const json& branch : *list) expand(branch, value, out, depth + 1);
    }
    if (auto condition = node.find("if"); condition != node.end()) {
      auto branch = node.find(matches(*condition, value, 0) ? "then" : "else");
      if (branch != node.end()) expand(*branch, value, out, depth + 1);
    }
  }

  // The subschemas of `parent`'s member `key` (an index for arrays) holding `child`.
  std::vector<const json*> children(const std::vector<const json*>& schemas, const json& parent,
                                    const std::string& key, const json& child) const {
    std::vector<const json*> out;
    for (const json* schema : schemas) {
      if (parent.is_array()) {
        if (auto items = schema->find("items"); items != schema->end() && items->is_object()) {
          expand(*items, child, out, 0);
        }
        continue;
      }
      auto properties = schema->find("properties");
      if (properties != schema->end() && properties->is_object() && properties->contains(key)) {
        expand(properties->at(key), child, out, 0);
      } else if (auto extra = schema->find("additionalProperties");
                 extra != schema->end() && extra->is_object()) {
        expand(*extra, child, out, 0);
      }
    }
    return out;
  }

 private:
  const json* resolve(const json& ref) const {
    const std::string& text = ref.get_ref<const std::string&>();
    if (text.empty() || text[0] != '#') return nullptr;
    try {
      json::json_pointer pointer(text.substr(1));
      return root_.contains(pointer) ? &root_.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;
    }
  }

  // A small evaluator for `if` schemas: const, enum, type, required and properties. Anything
  // else counts as matching; conditions in fapo's schemas use only these.
  bool matches(const json& schema, const json& value, int depth) const {
    if (schema.is_boolean()) return schema.get<bool>();
    if (!schema.is_object() || depth > kMaxDepth) return true;
    if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
      const json* target = resolve(*ref);
      if (target != nullptr && !matches(*target, value, depth + 1)) return false;
    }
    if (auto constant = schema.find("const"); constant != schema.end() && *constant != value) {
      return false;
    }
    if (auto values = schema.find("enum"); values != schema.end() && values->is_array() &&
                                           std::find(values->begin(), values->end(), value) ==
                                               values->end()) {
      return false;
    }
    if (auto type = schema.find("type"); type != schema.end() && !type_matches(*type, value)) {
      return false;
    }
    if (!value.is_object()) return true;
    if (auto required = schema.find("required"); required != schema.end() && required->is_array()) {
      for (const json& name : *required) {
        if (name.is_string() && !value.contains(name.get<std::string>())) return false;
      }
    }
    if (auto properties = schema.find("properties");
        properties != schema.end() && properties->is_object()) {
      for (const auto& [name, sub] : properties->items()) {
        auto member = value.find(name);
        if (member != value.end() && !matches(sub, *member, depth + 1)) return false;
      }
    }
    return true;
  }

  const json& root_;
};

// A point of the document named by a valijson context such as ["<root>", "[steps]", "[2]"].
struct Location {
  std::string field;                 // "steps[2].k"
  const json* value = nullptr;       // nullptr when the path could not be followed
  std::vector<const json*> schemas;  // subschemas that apply here
};

Location locate(const SchemaWalker& walker, const json& schema, const json& doc,
                const std::vector<std::string>& context) {
  Location location;
  location.value = &doc;
  walker.expand(schema, doc, location.schemas, 0);
  for (const std::string& token : context) {
    if (token == "<root>") continue;
    std::string key = token;
    if (key.size() >= 2 && key.front() == '[' && key.back() == ']') {
      key = key.substr(1, key.size() - 2);
    }
    const json* parent = location.value;
    const json* child = nullptr;
    if (parent != nullptr && parent->is_array()) {
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      if (ec == std::errc() && end == key.data() + key.size() && index < parent->size()) {
        child = &(*parent)[index];
      }
      location.field += "[" + key + "]";
    } else {
      if (parent != nullptr && parent->is_object()) {
        auto member = parent->find(key);
        if (member != parent->end()) child = &*member;
      }
      location.field = join_field(location.field, key);
    }
    location.schemas =
        child != nullptr ? walker.children(location.schemas, *parent, key, *child)
                         : std::vector<const json*>{};
    location.value = child;
  }
  return location;
}

std::string in_quotes(const std::string& text) { return "'" + text + "'"; }

// A value as a message shows it: strings quoted and shortened, containers by type.
std::string show_value(const json& value) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::string shown = truncate_utf8(text, 60);
    return in_quotes(shown.size() < text.size() ? shown + "..." : shown);
  }
  if (value.is_object() || value.is_array()) return json_type_label(value);
  return value.dump();
}

std::string show_schema_value(const json& value) {
  return value.is_string() ? in_quotes(value.get<std::string>()) : value.dump();
}

std::string got(const Location& location) {
  return location.value != nullptr ? ", got " + show_value(*location.value) : "";
}

// The first value of `keyword` among the subschemas that apply here.
const json* find_keyword(const Location& location, const char* keyword) {
  for (const json* schema : location.schemas) {
    auto it = schema->find(keyword);
    if (it != schema->end()) return &*it;
  }
  return nullptr;
}

// The text between the first and the last quote of a valijson description.
std::string quoted_name(const std::string& description) {
  std::size_t first = description.find('\'');
  std::size_t last = description.rfind('\'');
  if (first == std::string::npos || last <= first) return description;
  return description.substr(first + 1, last - first - 1);
}

// The first unsigned integer in a valijson description ("no fewer than 3 elements").
std::size_t first_count(const std::string& description) {
  std::size_t start = description.find_first_of("0123456789");
  std::size_t count = 0;
  if (start != std::string::npos) {
    std::from_chars(description.data() + start, description.data() + description.size(), count);
  }
  return count;
}

std::string type_message(const Location& location) {
  std::vector<std::string> expected;
  for (const json* schema : location.schemas) {
    auto type = schema->find("type");
    if (type == schema->end()) continue;
    std::vector<json> names = type->is_array() ? type->get<std::vector<json>>()
                                               : std::vector<json>{*type};
    for (const json& name : names) {
      if (!name.is_string()) continue;
      std::string text = name.get<std::string>();
      if (std::find(expected.begin(), expected.end(), text) == expected.end()) {
        expected.push_back(text);
      }
    }
  }
  return wrong_type_message(expected, location.value != nullptr ? *location.value : json());
}

std::string enum_message(const Location& location) {
  const json* values = find_keyword(location, "enum");
  if (values == nullptr || !values->is_array()) return "has a value that is not allowed" + got(location);
  std::vector<std::string> shown;
  std::vector<std::string> names;
  for (const json& value : *values) {
    shown.push_back(show_schema_value(value));
    if (value.is_string()) names.push_back(value.get<std::string>());
  }
  std::string message = "must be one of " + join(shown, ", ") + got(location);
  if (location.value != nullptr && location.value->is_string()) {
    auto hint = closest_match(location.value->get<std::string>(), names);
    if (hint) message += " (did you mean " + in_quotes(*hint) + "?)";
  }
  return message;
}

std::string const_message(const Location& location) {
  const json* value = find_keyword(location, "const");
  if (value == nullptr) return "has a value that is not allowed" + got(location);
  return "must be " + show_schema_value(*value) + got(location);
}

std::string range_message(const Location& location, const std::string& description) {
  struct Bound {
    const char* prefix;
    const char* keyword;
    const char* words;
  };
  // Longer prefixes first: "greater than or equal to" also starts with "greater than".
  static const Bound kBounds[] = {
      {"Expected number greater than or equal to ", "minimum", "at least"},
      {"Expected number greater than ", "exclusiveMinimum", "greater than"},
      {"Expected number less than or equal to ", "maximum", "at most"},
      {"Expected number less than ", "exclusiveMaximum", "less than"},
  };
  for (const Bound& bound : kBounds) {
    if (!starts_with(description, bound.prefix)) continue;
    const json* limit = find_keyword(location, bound.keyword);
    std::string limit_text = limit != nullptr && limit->is_number()
                                 ? limit->dump()
                                 : description.substr(std::strlen(bound.prefix));
    return std::string("must be ") + bound.words + " " + limit_text + got(location);
  }
  return "";
}

std::string size_message(const std::string& description, const char* unit) {
  std::size_t count = first_count(description);
  bool at_least = description.find("fewer") != std::string::npos;
  if (at_least && count == 1) return "must not be empty";
  return std::string(at_least ? "must have at least " : "must have at most ") +
         std::to_string(count) + " " + unit;
}

// valijson findings that only summarise a nested finding reported just before them.
bool is_summary(const std::string& description) {
  static const char* kPrefixes[] = {
      "Failed to validate against schema associated with",
      "Failed to validate against a conditional schema",
      "Failed to validate against child schema",
      "Failed to validate item #",
      "Failed to validate against additional properties schema",
      "Failed to validate against dependent schema",
  };
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](const char* prefix) { return starts_with(description, prefix); });
}

bool is_within_field(const std::string& field, const std::string& ancestor) {
  if (ancestor.empty() || field == ancestor) return true;
  return starts_with(field, ancestor) &&
         (field[ancestor.size()] == '.' || field[ancestor.size()] == '[');
}

// Turns valijson findings into Diagnostics, dropping summaries and duplicates.
class Translator {
 public:
  Translator(const json& schema, const json& doc, const std::string& file, int line)
      : walker_(schema), schema_(schema), doc_(doc), file_(file), line_(line) {}

  void add(const std::vector<std::string>& context, const std::string& description) {
    if (is_summary(description)) return;
    Location location = locate(walker_, schema_, doc_, context);
    if (starts_with(description, "Object contains a property that could not be validated")) {
      add_unknown_fields(location, quoted_name(description));
      return;
    }
    if (starts_with(description, "Failed to validate against any")) {
      // anyOf/oneOf: the branches' own findings came first; add a line only if there were none.
      bool explained = std::any_of(diagnostics_.begin(), diagnostics_.end(), [&](const auto& d) {
        return is_within_field(d.field, location.field);
      });
      if (!explained) emit(location.field, "does not match any of the allowed forms");
      return;
    }
    emit(location.field, message_for(location, description));
  }

  Diagnostics take() { return std::move(diagnostics_); }

 private:
  std::string message_for(const Location& location, const std::string& description) const {
    if (starts_with(description, "Value type not permitted")) return type_message(location);
    if (starts_with(description, "Failed to match against any enum")) return enum_message(location);
    if (starts_with(description, "Failed to match expected value set by 'const'")) {
      return const_message(location);
    }
    if (starts_with(description, "Missing required property")) {
      return missing_field_message(quoted_name(description));
    }
    if (starts_with(description, "Expected number")) {
      std::string message = range_message(location, description);
      if (!message.empty()) return message;
    }
    if (starts_with(description, "String should be no")) return size_message(description, "characters");
    if (starts_with(description, "Array should contain")) return size_message(description, "items");
    if (starts_with(description, "Object should have")) return size_message(description, "fields");
    if (starts_with(description, "Failed to match regex")) {
      const json* pattern = find_keyword(location, "pattern");
      return "must match the pattern " + (pattern ? pattern->dump() : std::string("given")) +
             got(location);
    }
    if (starts_with(description, "Failed to validate against exactly one")) {
      return "matches more than one of the allowed forms";
    }
    if (starts_with(description, "Target should not validate")) {
      return "has a value that is not allowed here";
    }
    std::string message = description;  // rare keywords: valijson's own words, lightly edited
    if (!message.empty() && message.back() == '.') message.pop_back();
    if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
    return message;
  }

  // valijson names only the first unknown member; list them all, with a "did you mean".
  void add_unknown_fields(const Location& location, const std::string& first_unknown) {
    std::vector<std::string> known;
    std::vector<std::string> unknown;
    auto add_unique = [](std::vector<std::string>& list, const std::string& name) {
      if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
    };
    for (const json* schema : location.schemas) {
      auto properties = schema->find("properties");
      if (properties == schema->end() || !properties->is_object()) continue;
      for (const auto& [name, sub] : properties->items()) add_unique(known, name);
    }
    for (const json* schema : location.schemas) {
      auto extra = schema->find("additionalProperties");
      bool closed = extra != schema->end() && extra->is_boolean() && !extra->get<bool>();
      if (!closed || schema->contains("patternProperties") || location.value == nullptr ||
          !location.value->is_object()) {
        continue;
      }
      const json empty = json::object();
      const json& properties = schema->contains("properties") ? schema->at("properties") : empty;
      for (const auto& [name, member] : location.value->items()) {
        if (!properties.contains(name)) add_unique(unknown, name);
      }
    }
    if (unknown.empty()) unknown.push_back(first_unknown);
    for (const std::string& name : unknown) {
      emit(location.field, unknown_field_message(name, known));
    }
  }

  void emit(const std::string& field, std::string message) {
    if (!seen_.insert(field + '\n' + message).second) return;
    diagnostics_.push_back(Diagnostic{file_, line_, field, std::move(message)});
  }

  SchemaWalker walker_;
  const json& schema_;
  const json& doc_;
  const std::string& file_;
  int line_;
  Diagnostics diagnostics_;
  std::set<std::string> seen_;
};

}  // namespace

Diagnostics explain_schema_findings(const nlohmann::json& schema, const nlohmann::json& doc,
                                    const std::vector<SchemaFinding>& findings,
                                    const std::string& file, int line) {
  Translator translator(schema, doc, file, line);
  for (const SchemaFinding& finding : findings) {
    translator.add(finding.context, finding.description);
  }
  return translator.take();
}

std::string json_type_label(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "number";
    default: return "binary";
  }
}

std::string wrong_type_message(const std::vector<std::string>& expected,
                               const nlohmann::json& value) {
  if (expected.size() == 1 && expected[0] == "integer" && value.is_number()) {
    return "must be an integer, got " + value.dump();
  }
  std::vector<std::string> words;
  for (const std::string& type : expected) {
    bool vowel = type == "integer" || type == "object" || type == "array";
    words.push_back(type == "null" ? type : (vowel ? "an " : "a ") + type);
  }
  std::string list;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) list += i + 1 == words.size() ? " or " : ", ";
    list += words[i];
  }
  if (list.empty()) return "has a type that is not allowed here (" + json_type_label(value) + ")";
  return "must be " + list + ", got " + json_type_label(value);
}

std::string missing_field_message(std::string_view name) {
  return "missing required field '" + std::string(name) + "'";
}

std::string unknown_field_message(std::string_view name, const std::vector<std::string>& known) {
  std::string message = "unknown field '" + std::string(name) + "'";
  auto hint = closest_match(name, known);
  if (hint && *hint != name) message += " (did you mean '" + *hint + "'?)";
  return message;
}

Diagnostic json_syntax_diagnostic(const nlohmann::json::parse_error& error, std::string_view text,
                                  const std::string& file, int first_line) {
  // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 12: syntax
  // error while parsing value - invalid literal; last read: '...'". Keep the reason only; the
  // position is recomputed for the file, and "last read" may echo a long stretch of input.
  std::string what = error.what();
  std::size_t column_at = what.find("column ");
  std::size_t reason_at = what.find(": ", column_at == std::string::npos ? 0 : column_at);
  std::string reason = reason_at == std::string::npos ? what : what.substr(reason_at + 2);
  std::size_t offset = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
  std::string_view before = text.substr(0, offset);
  std::size_t last_newline = before.rfind('\n');
  std::size_t line_begin = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  int line = first_line + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  std::size_t column = offset - line_begin + 1;
  std::string message = "invalid JSON at column " + std::to_string(column) + ": " + reason;
  std::string shown = truncate_utf8(message, 240);
  return Diagnostic{file, line, "", shown.size() < message.size() ? shown + "..." : shown};
}

std::string join_field(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

}  // namespace fapo
