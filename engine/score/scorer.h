// Scorers turn a case's final output into a composite score in [0, 100] plus a numeric
// breakdown. `validate_case` runs on every case before any model call, so a dataset the scorer
// cannot read fails fast. Implementations must be safe to call from several threads at once.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/trace.h"
#include "engine/data/case.h"
#include "engine/llm/cost.h"

namespace fapo {

struct Score {
  double composite = 0;                     // [0, 100]
  std::map<std::string, double> breakdown;  // named components, each numeric
  CostTotals judge_usage = {};              // what an LLM judge spent scoring this case
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  // Checks that the case carries what this scorer needs (e.g. expected.answer). The message
  // names the field: "field 'expected.answer' is missing".
  virtual Status validate_case(const Case& case_data) const = 0;
  virtual Result<Score> score(const Case& case_data, const std::string& output,
                              const CaseTrace& trace) const = 0;
  // The highest composite this scorer can give (100 for all built-ins).
  virtual double max_score() const { return 100.0; }
};

// Builds a scorer from the tenant's `scorer` configuration. `tenant_dir` resolves the program
// of a `command` scorer. Errors name the offending configuration field.
Result<std::unique_ptr<Scorer>> make_scorer(const nlohmann::json& config,
                                            const std::filesystem::path& tenant_dir);

}  // namespace fapo
