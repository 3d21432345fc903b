// Parameters a variant may set, their sane bounds, and the tenant's narrower ranges
// (tenant.json scope.parameter_ranges). The ranges document is keyed by a parameter field,
// applying to every step, or by "<step_id>.<field>", applying to one step and taking precedence:
//
//   "parameter_ranges": {
//     "k": {"min": 1, "max": 10},
//     "hop2.k": {"min": 2, "max": 8},
//     "temperature": {"values": [0, 0.7]}
//   }
//
// An entry holds "min" and/or "max" (inclusive), or "values" (the allowed values). Plain
// values; safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/chain_def.h"

namespace fapo {

struct ParameterRange {
  std::optional<double> min;
  std::optional<double> max;
  std::vector<double> values;  // non-empty: only these are allowed
  std::string key;             // as written in tenant.json, for messages

  bool allows(double value) const;
  std::string describe() const;  // "1-10", "at least 2", "one of 0, 0.7"
};

struct ParameterRanges {
  std::map<std::string, ParameterRange> by_key;  // "k" or "hop2.k"

  // The range for `field` of step `step_id`, if any (the step's own entry first).
  const ParameterRange* find(const std::string& step_id, const std::string& field) const;
};

// Parses scope.parameter_ranges; `file` names tenant.json in messages. Every problem is
// reported at once (unknown field with a suggestion, malformed entry, min above max).
Result<ParameterRanges> parse_parameter_ranges(const nlohmann::json& doc, const std::string& file);

// The parameter fields of a step with their values; an unset optional field (a per-step
// temperature, say) is left out. Fields: k (retrieve), n (vote), max_iterations (loop),
// temperature, top_p, max_tokens (llm), max_words, max_chars (transform).
std::vector<std::pair<std::string, double>> parameter_values(const StepDef& step);

// The sane bounds of a field (those of schemas/chain.schema.json), as a range.
ParameterRange sane_range(const std::string& field);

}  // namespace fapo
