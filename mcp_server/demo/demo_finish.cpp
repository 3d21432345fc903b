// The end of `fapo demo`: the winner on train, the history, the final test (run once, then
// returned sealed), and the summary of what the loop bought for how many model calls.
#include <cstdio>

#include "engine/base/strings.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/demo/demo_steps.h"

namespace fapo::demo {
namespace {

using nlohmann::json;

std::string decision_text(const json& decision) {
  if (decision.is_string()) return decision.get<std::string>();
  if (decision.is_boolean()) return decision.get<bool>() ? "accepted" : "rejected";
  if (decision.is_object() && decision.contains("accepted") && decision["accepted"].is_boolean()) {
    return decision["accepted"].get<bool>() ? "accepted" : "rejected";
  }
  return "—";
}

std::string score_or_dash(const std::optional<double>& value) {
  return value ? format_score(*value) : "—";
}

const json* find_variant(const json& history, const std::string& name) {
  if (!history.is_object() || !history.contains("variants") || !history["variants"].is_array()) {
    return nullptr;
  }
  for (const json& variant : history["variants"]) {
    if (text_at(variant, "name") == name || text_at(variant, "variant_id") == name) return &variant;
  }
  return nullptr;
}

// Table cells: a positive width pads on the right (text), a negative one on the left
// (numbers). Widths count code points, so "—" and "→" take one column.
struct Cell {
  std::string text;
  int width;
};

std::string row(const std::vector<Cell>& cells) {
  std::string line;
  for (const Cell& cell : cells) {
    std::size_t width = static_cast<std::size_t>(cell.width < 0 ? -cell.width : cell.width);
    std::size_t used = mcp::count_chars(cell.text);
    std::string pad(used < width ? width - used : 0, ' ');
    line += (cell.width < 0 ? pad + cell.text : cell.text + pad) + " ";
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string history_row(const std::string& name, const std::string& level,
                        const std::string& review, const std::string& train,
                        const std::string& validation, const std::string& decision,
                        const std::string& hypothesis) {
  return row({{name, 5}, {level, 9}, {review, 6}, {train, -6}, {validation, -6},
              {"", 0}, {decision, 9}, {hypothesis, 0}});
}

long long model_calls(const json& budget) {
  return budget.value("spent", json::object()).value("model_calls", -1LL);
}

Result<long long> fetch_model_calls(Demo& demo) {
  json args = {{"tenant_id", demo.state.tenant}};
  FAPO_ASSIGN_OR_RETURN(demo.state.budget, demo.session->call("budget", args, {}));
  long long calls = model_calls(demo.state.budget);
  demo.narrator.reply(format_count(calls) + " model calls spent so far");
  return calls;
}

std::string describe_final(const json& result) {
  std::string text = text_at(result, "name", text_at(result, "variant_id")) + " on test: " +
                     score_or_dash(number_at(result, "mean"));
  if (auto error = number_at(result, "standard_error")) text += " ± " + format_score(*error) + " s.e.";
  text += " (" + result.value("cases", json("?")).dump() + " cases × " +
          result.value("trials", json("?")).dump() + " trials)";
  return text;
}

}  // namespace

Status step_evaluate_best(Demo& demo) {
  demo.narrator.agent("Before the final test, measure the best variant (" + demo.state.best +
                      ") on train and see what still fails.");
  FAPO_ASSIGN_OR_RETURN(json run, evaluate_on_train(demo, "best"));
  demo.state.best_train = number_at(run.value("summary", json::object()), "mean");
  json args = {{"tenant_id", demo.state.tenant}, {"run_id", run["run_id"]},
               {"failed_only", true}, {"limit", 3}};
  FAPO_ASSIGN_OR_RETURN(json listed, demo.session->call("list_cases", args,
                                                        {"run_id", "failed_only", "limit"}));
  demo.narrator.reply(std::to_string(listed.value("failed_total", 0)) +
                      " cases still fail in some trial, for example:");
  for (const json& item : listed.value("cases", json::array())) {
    demo.narrator.detail(text_at(item, "case_id") + " → \"" +
                         excerpt(text_at(item, "final_output"), 80) + "\"");
  }
  return ok_status();
}

Status step_history(Demo& demo) {
  demo.narrator.agent("Look back: every proposal stays in the journal, accepted or not, with "
                      "its hypothesis and scores. A fresh session would start here.");
  json args = {{"tenant_id", demo.state.tenant}};
  FAPO_ASSIGN_OR_RETURN(demo.state.history, demo.session->call("history", args, {}));
  const json& history = demo.state.history;
  const json best = history.value("best", json::object());
  std::vector<std::string> lineage;
  for (const json& name : best.value("lineage", json::array())) {
    if (name.is_string()) lineage.push_back(name.get<std::string>());
  }
  demo.narrator.reply("best " + text_at(best, "name", "?") +
                      (lineage.empty() ? "" : ", lineage " + join(lineage, " → ")));
  demo.narrator.detail(
      history_row("name", "level", "review", "train", "valid.", "decision", "hypothesis"),
      Style::kDim);
  for (const json& variant : history.value("variants", json::array())) {
    const json verdict = variant.value("verdict", json());
    demo.narrator.detail(history_row(text_at(variant, "name"), text_at(variant, "level"),
                             verdict.is_string() ? verdict.get<std::string>() : "—",
                             score_or_dash(number_at(variant, "train_mean")),
                             score_or_dash(number_at(variant, "validation_mean")),
                             decision_text(variant.value("decision", json())),
                             excerpt(text_at(variant, "hypothesis"), 40)));
  }
  std::vector<std::string> exhausted;
  for (const json& level : history.value("exhausted_levels", json::array())) {
    if (level.is_string()) exhausted.push_back(level.get<std::string>());
  }
  demo.narrator.detail("exhausted levels: " + (exhausted.empty() ? "none" : join(exhausted, ", ")) +
                       "; notes: " + std::to_string(history.value("notes", json::array()).size()));
  return ok_status();
}

Status step_final_test(Demo& demo) {
  demo.narrator.agent("Commit to " + demo.state.best + ": the test split is evaluated once, "
                      "through final_test, and the result is sealed.");
  json args = {{"tenant_id", demo.state.tenant}, {"variant", "best"}};
  FAPO_ASSIGN_OR_RETURN(demo.state.final_result, demo.session->call("final_test", args,
                                                                    {"variant"}));
  const json& result = demo.state.final_result;
  demo.narrator.reply(describe_final(result), Style::kGood);
  demo.narrator.detail("run " + text_at(result, "run_id") + ", sealed at " +
                       text_at(result, "sealed_at", "?") +
                       (result.value("already_sealed", false) ? " (sealed by an earlier call)" : ""));
  return ok_status();
}

Status step_final_test_again(Demo& demo) {
  demo.narrator.agent("Ask again, as a forgetful or hopeful agent might: the server must return "
                      "the sealed result without running anything.");
  FAPO_ASSIGN_OR_RETURN(long long before, fetch_model_calls(demo));
  json args = {{"tenant_id", demo.state.tenant}, {"variant", "best"}};
  FAPO_ASSIGN_OR_RETURN(json again, demo.session->call("final_test", args, {"variant"}));
  demo.narrator.reply(describe_final(again) + ", already_sealed=" +
                      (again.value("already_sealed", false) ? "true" : "false"));
  FAPO_ASSIGN_OR_RETURN(long long after, fetch_model_calls(demo));
  if (!again.value("already_sealed", false) ||
      number_at(again, "mean") != number_at(demo.state.final_result, "mean")) {
    return make_error(ErrorCode::kConflict,
                      "the second final_test did not return the sealed result of the first");
  }
  if (after != before) {
    return make_error(ErrorCode::kConflict, "the second final_test spent " +
                                                std::to_string(after - before) + " model calls");
  }
  demo.narrator.detail("the same sealed result; no model calls spent (" + format_count(before) +
                           " → " + format_count(after) + ")",
                       Style::kGood);
  return ok_status();
}

Status step_summary(Demo& demo) {
  const DemoState& state = demo.state;
  const json* baseline = find_variant(state.history, "v000");
  const json* best = find_variant(state.history, state.best);
  auto validation = [](const json* variant) {
    return variant ? number_at(*variant, "validation_mean") : std::optional<double>();
  };
  std::string final_name = text_at(state.final_result, "name", state.best);
  demo.narrator.detail(row({{"", 16}, {"train", -6}, {"valid.", -6}, {"test", -6}}), Style::kDim);
  demo.narrator.detail(row({{"baseline (v000)", 16},
                            {score_or_dash(state.baseline_train), -6},
                            {score_or_dash(validation(baseline)), -6},
                            {"—", -6},
                            {"  the test split runs once, for the final variant", 0}}));
  demo.narrator.detail(row({{"final (" + final_name + ")", 16},
                            {score_or_dash(state.best_train), -6},
                            {score_or_dash(validation(best)), -6},
                            {score_or_dash(number_at(state.final_result, "mean")), -6}}),
                       Style::kGood);
  int accepted = 0;
  for (const Attempt& attempt : state.attempts) accepted += attempt.decision == "accept";
  demo.narrator.reply(std::to_string(state.attempts.size()) + " variants proposed, " +
                      std::to_string(accepted) + " accepted, " +
                      std::to_string(state.attempts.size() - accepted) + " rejected");
  const json spent = state.budget.value("spent", json::object());
  const json caps = state.budget.value("caps", json::object());
  demo.narrator.reply(format_count(spent.value("model_calls", 0LL)) + " model calls, " +
                      format_count(spent.value("tokens", 0LL)) + " tokens over " +
                      std::to_string(spent.value("runs", 0)) + " runs; " +
                      std::to_string(spent.value("validation_evaluations", 0)) + " of " +
                      std::to_string(caps.value("validation_evaluations", 0)) +
                      " validation evaluations used" +
                      (state.budget.value("model", json::object()).value("simulated", false)
                           ? " (simulated model: no money spent)"
                           : ", money " + format_score(spent.value("money", 0.0))));
  if (auto test = number_at(state.final_result, "mean"); test && state.target) {
    demo.narrator.reply("the tenant's target of " + format_score(*state.target) + " is " +
                        (*test >= *state.target ? "reached" : "not reached") + " on test");
  }
  return ok_status();
}

}  // namespace fapo::demo
