// Diagnostics: validation findings that name a file, a line and a field, collected all at once
// so a user fixes every problem in one pass. Plain values; not thread-safe to share mutably.
#pragma once

#include <string>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

struct Diagnostic {
  std::string file;   // path relative to the workspace when possible
  int line = 0;       // 1-based; 0 when the finding is about the whole file
  std::string field;  // JSON pointer-ish path such as "context.question"; may be empty
  std::string message;

  // "tenants/qa/dataset.jsonl:17: field 'context.question': must be a string, got number"
  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

// One Error listing every diagnostic, one per line.
Error diagnostics_error(const Diagnostics& diagnostics);

}  // namespace fapo
