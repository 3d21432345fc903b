// The evaluator runs one variant of a tenant on one split for n trials and leaves a run on
// disk (run_store.h): it validates every case with the scorer before any model call, checks
// the split manifest, executes cases on a worker pool, scores them, appends each result as it
// finishes, and writes the manifest last. A killed run resumes where it stopped (each
// (case, trial) is scored exactly once). Memory stays bounded: cases stream from the dataset
// through a bounded queue and results go straight to disk.
//
// Model usage (calls, cached calls, tokens, money) is metered per case and role, stored in each
// result line as "usage", and summed into the RunSummary and the manifest.
//
// `evaluate` may be called from several threads for different runs; the observer is called
// from worker threads and must be thread-safe.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/cost.h"
#include "engine/llm/response_cache.h"
#include "engine/run/workspace.h"

namespace fapo {

struct EvalRequest {
  std::string tenant_id;
  std::string split = "train";
  int trials = 1;
  // A directory inside the workspace holding chain.json and prompts/ (an exported variant);
  // empty = the tenant's baseline.
  std::string variant_dir;
  // A variant stored by the server (workspace.variant_dir); exclusive with variant_dir.
  std::string variant_id;
  std::string resume_run_id;  // non-empty: continue this run instead of starting one
  int concurrency = 0;        // 0 = the tenant's task_model.concurrency
  // The response cache of an openai/anthropic task model: kNormal reads and stores,
  // kDisabled calls the provider every time (--no-cache), kReplayOnly never calls it and records
  // a miss as an infrastructure failure of that case (--replay-only). The simulated model is
  // never cached, so the mode does not change a sim run.
  CacheMode cache_mode = CacheMode::kNormal;
};

// "use", "off", "replay-only": the names the CLI and the run summary use.
const char* cache_mode_name(CacheMode mode);

// Aggregates of a run, computed from its results file.
struct RunSummary {
  std::string run_id;
  std::string tenant_id;
  std::string variant_id;
  std::string split;
  std::string status;  // "complete", "cancelled", "failed"
  std::string model_provider;
  int trials = 0;
  std::size_t cases = 0;             // distinct cases in the plan
  std::size_t results = 0;           // (case, trial) results recorded
  std::size_t scored = 0;            // results with a score
  std::size_t infrastructure_failures = 0;
  std::size_t scorer_failures = 0;
  // Results an LLM judge could not score, scored by its fallback scorer instead (a judge with
  // fallback "exclude" counts its failures under scorer_failures).
  std::size_t judge_fallbacks = 0;
  double mean = 0;                   // over scored results, in [0, 100]
  double standard_error = 0;         // of the mean of per-case means
  std::vector<double> trial_means;
  std::map<std::string, double> breakdown_means;
  std::vector<std::string> failed_case_examples;  // infrastructure/scorer failures, first few
  long long tokens_in = 0;    // every model call of the traces, cached ones included
  long long tokens_out = 0;
  long long model_calls = 0;  // every model call, cached ones included
  // Usage per role ("task"; "judge" once a judge model is used): calls that reached the
  // provider, cached calls, failed calls, attempts, the tokens the provider charged and their
  // cost from the tenant's price table. Sums of the results' "usage", so a resumed run counts
  // every part of it.
  std::map<std::string, CostTotals> usage;
  long long cached_calls = 0;  // model calls answered from the response cache
  double cost = 0;             // money over all roles; cached calls cost nothing
  std::string cache_mode;      // "use", "off", "replay-only" (of the last part, when resumed)
  double wall_seconds = 0;
};

nlohmann::json to_json(const RunSummary& summary);
RunSummary run_summary_from_json(const nlohmann::json& json);

// Progress callbacks; called from worker threads.
class EvalObserver {
 public:
  virtual ~EvalObserver() = default;
  virtual void on_started(const std::string& run_id, std::size_t total, std::size_t done) = 0;
  virtual void on_result(std::size_t done, std::size_t total, double running_mean) = 0;
};

Result<RunSummary> evaluate(const Workspace& workspace, const EvalRequest& request,
                            EvalObserver* observer = nullptr,
                            const std::atomic<bool>* cancel = nullptr);

}  // namespace fapo
