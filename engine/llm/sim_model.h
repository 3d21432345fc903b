// The simulated model (provider "sim"): a rule interpreter that stands in for a real model in
// offline demos, tests and benchmarks. It reads the prompt it is sent and the case the call
// belongs to (CallContext::case_data, never the prompt) and answers with the first rule of the
// tenant's `sim` section that applies; docs/sim_model.md describes the rule language.
//
// Every random choice is a stable hash of (sim seed, case id, rule name, prompt text, sample
// index), so a call is reproducible and different samples of one prompt differ. Temperature
// adds noise (a perturbed reply) at a configured rate; at temperature 0 there is none. Replies
// carry `sim_trace` = {"rule", "noise", "simulated": true}: ground truth for tests and
// benchmarks, labelled as simulated wherever it appears.
//
// The client is immutable after construction; complete() may be called from any number of
// threads at once.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/model.h"

namespace fapo {

// Builds a sim client from a tenant's `sim` section (null: no rules, every call gets the
// default reply). kInvalidInput lists every problem in the section, each naming its path.
Result<std::unique_ptr<ModelClient>> make_sim_model(const nlohmann::json& sim_config,
                                                    const std::string& model_name);

}  // namespace fapo
