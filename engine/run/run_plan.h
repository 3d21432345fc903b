// A run plan: what one run evaluates (a variant on the cases of one split, n trials) and the
// settings it ran under. It is written once, atomically, as a run's plan.json when the run is
// created and never changes, so a resumed run continues exactly the run that was started.
// Values; thread safety is that of the members.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

struct RunPlan {
  std::string run_id;     // filled by RunStore::create
  std::string tenant_id;  // filled by RunStore::create when empty
  std::string variant_id;
  std::string split;                  // "train", "validation" or "test"
  int trials = 1;                     // trials are numbered 0 .. trials-1
  std::vector<std::string> case_ids;  // in evaluation order, unique
  // Everything the run's meaning depends on: model settings, scorer config, split
  // fingerprint, dataset sha256, chain and prompt hashes. Opaque to the store.
  nlohmann::json settings = nlohmann::json::object();
  std::string created_at;  // ISO 8601 UTC; filled by RunStore::create when empty
};

nlohmann::json to_json(const RunPlan& plan);

// Decodes a plan; errors name `source` (e.g. the file) and the field.
Result<RunPlan> run_plan_from_json(const nlohmann::json& json, std::string_view source);

}  // namespace fapo
