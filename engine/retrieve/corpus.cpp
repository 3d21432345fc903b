#include "engine/retrieve/corpus.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/base/diagnostic.h"
#include "engine/base/files.h"
#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

// A corrupt file could produce one finding per line; past this many the rest are counted.
constexpr std::size_t kMaxReported = 50;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// nlohmann's what() starts with "[json.exception.parse_error.101] "; users need only the rest.
std::string json_error_text(const std::exception& error) {
  std::string text = error.what();
  std::size_t bracket = text.find("] ");
  if (!text.empty() && text[0] == '[' && bracket != std::string::npos) text.erase(0, bracket + 2);
  // Each corpus line is parsed alone, so "line 1" would contradict the file line already given.
  std::size_t inner_line = text.find("at line 1, ");
  if (inner_line != std::string::npos) text.erase(inner_line + 3, 8);
  return text;
}

// Reads a string field into `out`; records a diagnostic when it is missing or not a string.
void read_string(const json& object, const char* field, bool required, std::string& out,
                 const Diagnostic& where, Diagnostics& problems) {
  auto found = object.find(field);
  if (found == object.end()) {
    if (required) problems.push_back({where.file, where.line, field, "missing"});
    return;
  }
  if (!found->is_string()) {
    problems.push_back({where.file, where.line, field,
                        std::string("must be a string, got ") + found->type_name()});
    return;
  }
  out = found->get<std::string>();
}

// Parses one non-blank line into `passage`; false (with diagnostics) when it is unusable.
bool parse_line(std::string_view line, const Diagnostic& where, Passage& passage,
                Diagnostics& problems) {
  json object;
  try {
    object = json::parse(line);
  } catch (const json::exception& error) {
    problems.push_back({where.file, where.line, "", "invalid JSON: " + json_error_text(error)});
    return false;
  }
  if (!object.is_object()) {
    problems.push_back({where.file, where.line, "",
                        std::string("must be a JSON object, got ") + object.type_name()});
    return false;
  }
  std::size_t before = problems.size();
  read_string(object, "id", true, passage.id, where, problems);
  read_string(object, "title", false, passage.title, where, problems);
  read_string(object, "text", true, passage.text, where, problems);
  if (problems.size() == before && trim(passage.id).empty()) {
    problems.push_back({where.file, where.line, "id", "must not be empty"});
  }
  return problems.size() == before;
}

Error corpus_error(Diagnostics problems) {
  std::size_t total = problems.size();
  if (total > kMaxReported) {
    problems.resize(kMaxReported);
    problems.push_back({problems[0].file, 0, "",
                        "... and " + std::to_string(total - kMaxReported) + " more problems"});
  }
  return diagnostics_error(problems);
}

}  // namespace

Result<std::vector<Passage>> parse_corpus(std::string_view content,
                                          const std::string& display_name) {
  if (starts_with(content, kUtf8Bom)) content.remove_prefix(kUtf8Bom.size());
  std::vector<Passage> passages;
  Diagnostics problems;
  std::unordered_map<std::string, int> first_line_of_id;
  int line_number = 0;
  for (std::size_t begin = 0; begin < content.size();) {
    std::size_t end = std::min(content.find('\n', begin), content.size());
    std::string_view line = content.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    Diagnostic where{display_name, line_number, "", ""};
    Passage passage;
    if (!parse_line(line, where, passage, problems)) continue;
    auto [seen, inserted] = first_line_of_id.emplace(passage.id, line_number);
    if (!inserted) {
      problems.push_back({display_name, line_number, "id",
                          "duplicate id '" + passage.id + "' (first used on line " +
                              std::to_string(seen->second) + ")"});
      continue;
    }
    passages.push_back(std::move(passage));
  }
  if (!problems.empty()) return corpus_error(std::move(problems));
  if (passages.empty()) {
    return make_error(
        ErrorCode::kInvalidInput,
        display_name + ": corpus is empty: a retrieve step needs at least one passage");
  }
  return passages;
}

Result<std::vector<Passage>> load_corpus(const std::filesystem::path& path,
                                         const std::string& display_name) {
  Result<std::string> content = read_file(path);
  if (!content.ok()) {
    bool missing = content.error().code == ErrorCode::kNotFound;
    return make_error(
        content.error().code,
        display_name + (missing ? ": corpus file not found" : ": cannot read the corpus file"));
  }
  return parse_corpus(content.value(), display_name);
}

}  // namespace fapo
