// The retrieval corpus of a tenant (`corpus.jsonl`): one passage a line, `{"id", "title",
// "text"}`. Loading checks every line and reports every problem at once, each naming the file,
// the line and the field, so one pass fixes them all. Passages are plain values; the functions
// here are thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

struct Passage {
  std::string id;     // unique in the corpus
  std::string title;  // may be empty
  std::string text;
};

// Reads and parses `path`; `display_name` (e.g. "tenants/qa/corpus.jsonl") starts every
// message. A missing file is kNotFound; bad lines, duplicate ids and an empty corpus are
// kInvalidInput.
Result<std::vector<Passage>> load_corpus(const std::filesystem::path& path,
                                         const std::string& display_name);

// The same checks over content already in memory.
Result<std::vector<Passage>> parse_corpus(std::string_view content,
                                          const std::string& display_name);

}  // namespace fapo
