#include "engine/data/dataset.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <fstream>
#include <string_view>
#include <utility>

#include "engine/base/strings.h"
#include "engine/data/schema_messages.h"

namespace fapo {
namespace {

using nlohmann::json;

const std::vector<std::string>& case_fields() {
  static const std::vector<std::string> kFields = {"case_id", "task_type", "context", "expected",
                                                   "metadata"};
  return kFields;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Builds a case from a line that passed check_case_json, moving the strings out of `doc`.
Case to_case(json& doc, int line) {
  Case result;
  result.line = line;
  result.case_id = std::move(doc["case_id"].get_ref<std::string&>());
  auto task_type = doc.find("task_type");
  result.task_type =
      task_type != doc.end() ? std::move(task_type->get_ref<std::string&>()) : "default";
  for (auto& [name, value] : doc["context"].items()) {
    result.context.emplace(name, std::move(value.get_ref<std::string&>()));
  }
  result.expected = std::move(doc["expected"]);
  if (auto metadata = doc.find("metadata"); metadata != doc.end()) {
    result.metadata = std::move(*metadata);
  }
  return result;
}

// Per-file reading state: diagnostics (capped) and every case id with its line.
class DatasetReader {
 public:
  DatasetReader(const std::string& display_name, const std::function<void(Case&&)>& on_case)
      : display_name_(display_name), on_case_(on_case) {}

  void feed(std::string_view line, int number) {
    if (number == 1 && starts_with(line, "\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 BOM
    if (is_blank(line)) return;
    json doc;
    try {
      doc = json::parse(line);
    } catch (const json::parse_error& error) {
      add(json_syntax_diagnostic(error, line, display_name_, number));
      return;
    }
    Diagnostics problems = check_case_json(doc, display_name_, number);
    if (!problems.empty()) {
      for (Diagnostic& problem : problems) add(std::move(problem));
      return;
    }
    const std::string& id = doc["case_id"].get_ref<const std::string&>();
    seen_.push_back(SeenId{stable_hash(id), number, ids_.size()});
    ids_.push_back(id);
    on_case_(to_case(doc, number));
  }

  void report(int line, std::string field, std::string message) {
    add(Diagnostic{display_name_, line, std::move(field), std::move(message)});
  }

  // Reports duplicate ids, then orders everything by line (file-level findings last).
  Diagnostics finish() {
    report_duplicates();
    if (ids_.empty() && diagnostics_.empty() && dropped_ == 0) {
      report(0, "", "contains no cases (one JSON object a line is expected)");
    }
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
                     });
    if (dropped_ > 0) {
      diagnostics_.push_back(Diagnostic{display_name_, 0, "",
                                        std::to_string(dropped_) + " more problems not listed"});
    }
    return std::move(diagnostics_);
  }

 private:
  struct SeenId {
    std::uint64_t hash;
    int line;
    std::size_t index;  // into ids_
  };

  // Sorting hashes once beats a hash map probed per line: on 100,000 ids the map's cache
  // misses cost about twice as much. Ids with equal hashes are compared as text.
  void report_duplicates() {
    std::sort(seen_.begin(), seen_.end(), [](const SeenId& a, const SeenId& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.line < b.line;
    });
    for (std::size_t begin = 0; begin < seen_.size();) {
      std::size_t end = begin + 1;
      while (end < seen_.size() && seen_[end].hash == seen_[begin].hash) ++end;
      for (std::size_t later = begin + 1; later < end; ++later) {
        const std::string& id = ids_[seen_[later].index];
        for (std::size_t first = begin; first < later; ++first) {
          if (ids_[seen_[first].index] != id) continue;
          report(seen_[later].line, "case_id",
                 "duplicate case_id '" + id + "': line " + std::to_string(seen_[first].line) +
                     " has the same id; case ids must be unique");
          break;
        }
      }
      begin = end;
    }
  }

  void add(Diagnostic diagnostic) {
    if (diagnostics_.size() >= kMaxDatasetDiagnostics) {
      ++dropped_;
      return;
    }
    diagnostics_.push_back(std::move(diagnostic));
  }

  const std::string& display_name_;
  const std::function<void(Case&&)>& on_case_;
  std::vector<std::string> ids_;  // every well-formed case's id, in file order
  std::vector<SeenId> seen_;
  Diagnostics diagnostics_;
  std::size_t dropped_ = 0;
};

}  // namespace

Diagnostics check_case_json(const nlohmann::json& doc, const std::string& file, int line) {
  Diagnostics out;
  auto report = [&](const std::string& field, std::string message) {
    out.push_back(Diagnostic{file, line, field, std::move(message)});
  };
  if (!doc.is_object()) {
    report("", wrong_type_message({"object"}, doc));
    return out;
  }
  // One pass over the members (this runs for every line of every run): case_fields()[i] -> value.
  const std::vector<std::string>& fields = case_fields();
  const json* members[5] = {};
  for (auto member = doc.begin(); member != doc.end(); ++member) {
    auto known = std::find(fields.begin(), fields.end(), member.key());
    if (known == fields.end()) {
      report("", unknown_field_message(member.key(), fields));
    } else {
      members[known - fields.begin()] = &member.value();
    }
  }
  const json* case_id = members[0];
  const json* context = members[2];
  for (int required : {0, 2, 3}) {
    if (members[required] == nullptr) report("", missing_field_message(fields[required]));
  }
  if (case_id != nullptr && !case_id->is_string()) {
    report("case_id", wrong_type_message({"string"}, *case_id));
  } else if (case_id != nullptr && case_id->get_ref<const std::string&>().empty()) {
    report("case_id", "must not be empty");
  }
  if (members[1] != nullptr && !members[1]->is_string()) {
    report("task_type", wrong_type_message({"string"}, *members[1]));
  }
  for (int object_field : {2, 3, 4}) {
    const json* value = members[object_field];
    if (value != nullptr && !value->is_object()) {
      report(fields[object_field], wrong_type_message({"object"}, *value));
    }
  }
  if (context != nullptr && context->is_object()) {
    for (auto entry = context->begin(); entry != context->end(); ++entry) {
      if (!entry.value().is_string()) {
        report(join_field("context", entry.key()), wrong_type_message({"string"}, entry.value()));
      }
    }
  }
  return out;
}

Diagnostics read_dataset(const fs::path& path, const std::string& display_name,
                         const std::function<void(Case&&)>& on_case) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {Diagnostic{display_name, 0, "", "is a directory"}};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    bool exists = fs::exists(path, ec);
    return {Diagnostic{display_name, 0, "", exists ? "cannot be read" : "file not found"}};
  }
  DatasetReader reader(display_name, on_case);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) reader.feed(line, ++number);
  if (in.bad()) reader.report(number, "", "read failed after this line");
  return reader.finish();
}

Result<std::vector<Case>> load_dataset(const fs::path& path, const std::string& display_name) {
  std::vector<Case> cases;
  Diagnostics problems =
      read_dataset(path, display_name, [&](Case&& one) { cases.push_back(std::move(one)); });
  if (problems.empty()) return cases;
  Error error = diagnostics_error(problems);
  if (problems.size() == 1 && problems[0].message == "file not found") {
    error.code = ErrorCode::kNotFound;
  }
  return error;
}

Result<DatasetInfo> summarize_dataset(const fs::path& path, const std::string& display_name) {
  DatasetInfo info;
  Diagnostics problems = read_dataset(path, display_name, [&](Case&& one) {
    ++info.cases;
    ++info.task_types[one.task_type];
  });
  if (!problems.empty()) return diagnostics_error(problems);
  return info;
}

}  // namespace fapo
