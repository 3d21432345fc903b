// Edits that turn a parent pipeline into a candidate: new prompt texts, parameter settings, or
// a whole new chain. build_pipeline applies them and checks the result the way a run would
// (chain structure, templates, variables against the dataset's context, frozen settings), so a
// broken candidate is refused when it is proposed, with every problem listed at once, rather
// than when it is evaluated.
//
// Pure functions on values (build_pipeline reads nothing from disk); thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/pipeline.h"
#include "engine/run/tenant.h"

namespace fapo {

struct VariantEdits {
  // Prompt file name (as in prompts/, e.g. "answer.md") -> complete new text. Only files the
  // resulting chain uses; a new file is allowed when the new chain references it.
  std::map<std::string, std::string> prompts;
  // {"<step_id>": {"<field>": value}}: parameter fields of existing steps (see
  // parameter_fields_of_kind). A null value removes the field, so the step uses its default.
  nlohmann::json parameters = nlohmann::json::object();
  // A complete chain.json object replacing the parent's chain (applied before parameters).
  std::optional<nlohmann::json> chain;

  bool empty() const {
    return prompts.empty() && (parameters.is_null() || parameters.empty()) && !chain;
  }
};

// What a candidate is checked against.
struct BuildContext {
  const Tenant* tenant = nullptr;         // frozen settings; must outlive the call
  std::vector<std::string> context_keys;  // context variables present in every case
  std::string display_dir;                // names the candidate in messages ("variant of v003")
};

// The candidate's pipeline: `parent` with `edits` applied. kInvalidInput listing every problem
// (unknown step or field with a "did you mean", frozen settings, a prompt file the chain does
// not use, a new chain's missing prompt, invalid templates, unresolved variables).
Result<PipelineConfig> build_pipeline(const PipelineConfig& parent, const VariantEdits& edits,
                                      const BuildContext& context);

// The checks of build_pipeline for a pipeline as it is: compiles, resolves every variable,
// respects the frozen settings. Empty when valid.
std::vector<std::string> check_pipeline(const PipelineConfig& pipeline,
                                        const BuildContext& context);

}  // namespace fapo
