// The format of a run's results.jsonl: one JSON object per line, each for one finished
// (case_id, trial), appended by RunWriter with one write(2) per line. Readers accept a file
// being appended to: a last line without its '\n' is a write in progress (or the remains of a
// killed writer) and is skipped, never parsed. Blank lines are skipped. Any other line that is
// not a JSON object is damage from outside and is reported with its line number.
//
// Internal to engine/run. Free functions, thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "engine/base/result.h"

namespace fapo {

using ResultKey = std::pair<std::string, int>;  // (case_id, trial)

// The key a result line carries: its string "case_id" and integer "trial". The error
// (kInternal) says which field is missing or of the wrong type, without a location.
Result<ResultKey> result_key(const nlohmann::json& line);

using ResultLineVisitor =
    std::function<Status(const nlohmann::json& line, std::size_t line_number)>;

// Streams the complete lines of `path` to `visit` (line numbers from 1) and stops at the first
// error `visit` returns. A missing file has no lines. Unparsable lines give kConflict
// "<shown_as>:<line>: ...".
Status for_each_result_line(const std::filesystem::path& path, std::string_view shown_as,
                            const ResultLineVisitor& visit);

}  // namespace fapo
