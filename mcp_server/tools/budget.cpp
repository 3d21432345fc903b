// budget: the tenant's budget as the server enforces it (engine/budget/budget.h, through the
// Laboratory): the caps of tenant.json, what the runs on disk, the stored variants and the
// journaled validation evaluations have used, the reserve kept for the final test, what
// remains, about how many more validation comparisons fit, and warnings when the caps cannot
// pay for real progress. Read-only; the refusals themselves happen in evaluate, compare,
// propose_variant and final_test.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/budget/budget.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/spending.h"
#include "mcp_server/tools/laboratory_access.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr char kNote[] =
    "Enforced: every evaluation (evaluate, compare, final_test) is estimated before it starts "
    "and refused if it would not fit outside the final-test reserve; propose_variant is refused "
    "once the variant cap is reached, and validation evaluations are counted from the journal. "
    "Only final_test may spend the reserve. Spending is tallied from the runs on disk; calls "
    "answered from the response cache cost no money.";

constexpr std::string_view kDescription =
    "Shows a tenant's budget as the server enforces it: the caps from tenant.json (task-model "
    "calls, tokens, money, variants, validation evaluations), what has been spent and used so "
    "far, the reserve kept for final_test, what remains, about how many more validation "
    "comparisons (a candidate evaluated on validation at the acceptance trials) fit, and "
    "warnings when the caps cannot pay for at least three tries. evaluate, compare, "
    "propose_variant and final_test refuse what would not fit. Use it before proposing, before "
    "validation runs and before many trials. Read-only and cheap: reads run manifests and the "
    "journal, no model calls.";

// The budget's own account plus the details of the runs on disk.
json spent_json(const json& spent, const Spending& runs) {
  json out = spent;
  out["model_calls"] = spent["calls"];  // the name earlier versions of this tool used
  out["tokens_in"] = runs.tokens_in;
  out["tokens_out"] = runs.tokens_out;
  out["runs"] = runs.runs;
  out["runs_by_split"] = runs.runs_by_split;
  out["unreadable_runs"] = runs.unreadable_runs;
  return out;
}

std::string summary_text(const std::string& tenant_id, const BudgetState& state,
                         const std::vector<std::string>& warnings) {
  std::string text = fmt::format(
      "Tenant {}: spent {} of {} task-model calls and {} of {} tokens{}; outside the final-test "
      "reserve {} calls remain, about {} more validation comparison{} fit, {} variant{} and {} "
      "validation evaluation{} left. Enforced.",
      tenant_id, state.calls_spent, state.caps.task_calls, state.tokens_spent,
      state.caps.task_tokens,
      state.caps.task_money > 0
          ? fmt::format(", {:.4f} of {:g} money", state.money_spent, state.caps.task_money)
          : "",
      std::max(0LL, state.calls_left - state.calls_reserve), state.validation_comparisons_left,
      state.validation_comparisons_left == 1 ? "" : "s", state.variants_left,
      state.variants_left == 1 ? "" : "s", state.validation_evaluations_left,
      state.validation_evaluations_left == 1 ? "" : "s");
  if (state.judge_calls_spent > 0) {
    text += fmt::format(" The LLM judge (judge role) made {} of {} calls.", state.judge_calls_spent,
                        state.caps.judge_calls);
  }
  if (!warnings.empty()) text += " Warning: " + warnings.front() + ".";
  return text;
}

ToolResult budget(const json& arguments, ToolContext& context) {
  auto lab = open_laboratory(context.server, arguments);
  if (!lab.ok()) return ToolResult::failure(lab.error());
  auto state = (*lab)->budget_state();
  if (!state.ok()) return ToolResult::failure(state.error());
  const std::string tenant_id = arguments["tenant_id"];
  const TaskModelConfig& model = (*lab)->tenant().config.task_model;
  auto runs = tally_spending((*lab)->workspace(), tenant_id, model.prices);
  if (!runs.ok()) return ToolResult::failure(runs.error());
  const std::vector<std::string> warnings =
      preflight_warnings(*state, state->one_validation_evaluation);

  json result = to_json(*state);
  result["spent"] = spent_json(result["spent"], *runs);
  result["tenant_id"] = tenant_id;
  result["enforced"] = true;
  result["note"] = kNote;
  result["warnings"] = warnings;
  result["model"] = json{{"provider", model.provider},
                         {"simulated", model.provider == "sim"},
                         {"input_per_mtok", model.prices.input_per_mtok},
                         {"output_per_mtok", model.prices.output_per_mtok}};
  return ToolResult::success(std::move(result), summary_text(tenant_id, *state, warnings));
}

}  // namespace

ToolSpec make_budget_tool() {
  ToolSpec spec;
  spec.name = "budget";
  spec.title = "Show the budget";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = budget;
  return spec;
}

}  // namespace fapo::mcp
