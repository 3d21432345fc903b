// The steps of `fapo demo`, one function each, sharing a Demo: the options, the narrator, the
// MCP session (once the server runs) and what the agent has learnt so far. run_demo (demo.cpp)
// calls them in order and stops at the first error. Internal to mcp_server/demo.
//
// Not thread-safe: one thread runs the steps.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "mcp_server/demo/demo.h"
#include "mcp_server/demo/demo_session.h"
#include "mcp_server/demo/narrator.h"

namespace fapo::demo {

// One proposal and what became of it.
struct Attempt {
  std::string name;        // "v001"
  std::string level;       // as the server computed it
  std::string verdict;     // review verdict
  std::string decision;    // "accept", "reject" or "" before the comparison
  std::optional<double> mean_difference;
};

// What the agent knows, accumulated step by step.
struct DemoState {
  std::string tenant;
  int trials = 3;
  double min_effect = 2.0;
  std::optional<double> target;
  std::map<std::string, std::string> best_prompts;  // prompt file -> text of the best variant
  std::map<std::string, std::string> candidate_prompts;
  std::map<std::string, nlohmann::json> best_settings;  // step id -> settings of the best
  std::map<std::string, nlohmann::json> candidate_settings;
  std::string best = "v000";      // name of the current best variant (v000: the baseline)
  std::vector<Attempt> attempts;  // the last one is the current candidate
  std::string baseline_run;       // the baseline's train run
  std::optional<double> baseline_train;
  std::optional<double> best_train;
  nlohmann::json history;         // the history tool's last reply
  nlohmann::json final_result;    // the first final_test reply
  nlohmann::json budget;          // the budget tool's last reply
};

struct Demo {
  const DemoOptions& options;
  Narrator narrator;
  std::unique_ptr<DemoSession> session;
  DemoState state;
};

// Setup and first analysis (demo.cpp, demo_failures.cpp).
Status step_start_server(Demo& demo);
Status step_initialize(Demo& demo);
Status step_list_tools(Demo& demo);
Status step_describe_tenant(Demo& demo);
Status step_evaluate_baseline(Demo& demo);
Status step_inspect_failures(Demo& demo);

// The optimisation loop (demo_loop.cpp).
Status step_propose_short_answer(Demo& demo);
Status step_propose_keep_names(Demo& demo);
Status step_propose_connected_entity(Demo& demo);
Status step_review(Demo& demo);
Status step_compare(Demo& demo);
Status step_note_prompt_exhausted(Demo& demo);
Status step_propose_more_passages(Demo& demo);

// The end (demo_finish.cpp).
Status step_evaluate_best(Demo& demo);
Status step_history(Demo& demo);
Status step_final_test(Demo& demo);
Status step_final_test_again(Demo& demo);
Status step_summary(Demo& demo);

// Shared helpers.
// Evaluates `variant` on train (waiting with get_run while it runs); returns the run object.
Result<nlohmann::json> evaluate_on_train(Demo& demo, const std::string& variant);
// "36.1 ± 6.2 s.e. (trials 35.0, 36.7, 36.7)" from a run object.
std::string describe_run_score(const nlohmann::json& run);
// A number at `key` of `object`, if there is one.
std::optional<double> number_at(const nlohmann::json& object, const std::string& key);
// A string at `key`, or `fallback`.
std::string text_at(const nlohmann::json& object, const std::string& key,
                    const std::string& fallback = "");
// Prints the clusters of an attribute reply (tolerant of the exact layout).
void print_attribution(Narrator& narrator, const nlohmann::json& attribution);

}  // namespace fapo::demo
