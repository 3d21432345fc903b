// A case is one dataset record. `context` feeds templates; `expected` is read only by scorers,
// attribution and the simulated model (never by a chain: the chain state has no access to it).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace fapo {

struct Case {
  std::string case_id;
  std::string task_type;
  std::map<std::string, std::string> context;
  nlohmann::json expected = nlohmann::json::object();
  nlohmann::json metadata = nlohmann::json::object();
  int line = 0;  // 1-based line in dataset.jsonl, for messages
};

}  // namespace fapo
