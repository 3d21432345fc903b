#include "engine/run/spending.h"

#include "engine/llm/cost.h"
#include "engine/run/run_store.h"
#include "engine/run/run_summary.h"

namespace fapo {
namespace {

// The totals of one run: from its manifest when it has one, else from its results so far.
// Result lines carry their metered usage, whose cost leaves out calls answered from the cache;
// lines written before usage was metered are priced from their tokens.
Result<RunSummary> run_totals(const RunStore& store, const std::string& run_id,
                              const ModelPrices& prices) {
  FAPO_ASSIGN_OR_RETURN(RunStatus status, store.status(run_id));
  if (status.manifest.is_object() && status.manifest.contains("summary") &&
      status.manifest["summary"].is_object()) {
    return run_summary_from_json(status.manifest["summary"]);
  }
  SummaryAccumulator accumulator;
  double unmetered_cost = 0;
  FAPO_RETURN_IF_ERROR(store.for_each_result(run_id, [&](const nlohmann::json& line) {
    accumulator.add(line);
    if (!line.contains("usage")) {
      unmetered_cost += call_cost(Prices{prices.input_per_mtok, prices.output_per_mtok},
                                  line.value("tokens_in", 0LL), line.value("tokens_out", 0LL));
    }
  }));
  RunSummary summary;
  accumulator.fill(summary);  // sums the metered cost
  summary.cost += unmetered_cost;
  return summary;
}

}  // namespace

Result<Spending> tally_spending(const Workspace& workspace, const std::string& tenant_id,
                                const ModelPrices& prices) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  RunStore store(workspace, tenant_id);
  Spending spending;
  for (const std::string& run_id : store.list_runs()) {
    auto plan = store.load_plan(run_id);
    auto totals = plan.ok() ? run_totals(store, run_id, prices) : plan.error();
    if (!totals.ok()) {
      ++spending.unreadable_runs;
      continue;
    }
    ++spending.runs;
    ++spending.runs_by_split[plan->split];
    spending.results += totals->results;
    spending.model_calls += totals->model_calls;
    spending.tokens_in += totals->tokens_in;
    spending.tokens_out += totals->tokens_out;
    spending.cost += totals->cost;
    const auto judge = totals->usage.find(cost_role_name(CostRole::kJudge));
    if (judge != totals->usage.end()) spending.judge += judge->second;
  }
  return spending;
}

}  // namespace fapo
