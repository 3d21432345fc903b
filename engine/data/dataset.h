// Reading a tenant's dataset.jsonl: one case a line, checked line by line so that one pass
// reports every malformed line (bad JSON, wrong fields, duplicate case ids) with its number.
//
// The checks are those of schemas/case.schema.json, applied by hand: the dataset is read at the
// start of every run, and validating each line with valijson cost about half as much again as
// parsing it, while the case shape is small enough to check directly. The schema stays the
// specification, and a test holds the two to the same findings and wording.
//
// All functions are reentrant; concurrent calls share nothing.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"
#include "engine/data/case.h"

namespace fapo {

namespace fs = std::filesystem;

// A file with more problems than this lists this many and then counts the rest, so a file in
// the wrong format (a CSV, say) does not produce a message of megabytes.
inline constexpr std::size_t kMaxDatasetDiagnostics = 1000;

// Streams `path` and calls `on_case` for every well-formed case, in file order, as it is read.
// Returns every problem found, ordered by line ("<display_name>:17: field 'context.question':
// must be a string, got number"); blank lines are skipped. Duplicate case ids are found after
// the last line (each later occurrence is reported, naming the first line), so `on_case` may
// already have seen a duplicate: any diagnostic means the dataset is unusable as a whole, and
// callers that want all-or-nothing use load_dataset.
Diagnostics read_dataset(const fs::path& path, const std::string& display_name,
                         const std::function<void(Case&&)>& on_case);

// Every case, or one kInvalidInput error listing every diagnostic (kNotFound when the file is
// missing).
Result<std::vector<Case>> load_dataset(const fs::path& path, const std::string& display_name);

// The findings of case.schema.json for one parsed line: "missing required field 'case_id'",
// "unknown field 'metdata' (did you mean 'metadata'?)", "must be a string, got number", ...
Diagnostics check_case_json(const nlohmann::json& doc, const std::string& file, int line);

struct DatasetInfo {
  std::size_t cases = 0;
  std::map<std::string, std::size_t> task_types;  // task_type -> number of cases
};

// Counts of a valid dataset (streams it; nothing is kept in memory).
Result<DatasetInfo> summarize_dataset(const fs::path& path, const std::string& display_name);

}  // namespace fapo
