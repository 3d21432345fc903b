// Counterfactual confirmation of a train run's attribution: replays failed cases with the
// suspect step changed and counts how often that alone fixes the case. A retrieval miss is
// replayed with the evidence supplied (the case's gold passages when it names them, else the
// corpus passage holding the missing value, found by search) appended to the suspect search's
// output, and the steps after it rerun; a dropped-evidence, format, reasoning, cascade or
// tool_use failure is replayed by resampling the suspect model (or react) step (a fresh sample
// index) and rerunning what follows. Tool failures are not replayed: a failing tool or server
// fails again, and a timeout that would not is the tool's luck, not the step's. A high rate says the cluster's diagnosis holds; a low one says the failure lies
// elsewhere (or, for a resampled step, that it is systematic rather than a bad draw).
//
// Replays spend task-model calls: plan_confirmation says how many before anything runs (per
// replayed case, the model calls of the steps from the replay's first step on, at most, times
// the replays per case), so a caller can check the budget; run_confirmation returns the calls
// it actually made. Replays go through the tenant's model (behind its response cache when the
// caller loaded it so; each resample draws with its own sample index). Train runs only: a
// replay shows individual cases.
//
// Free functions; they read the run store and the tenant's files and call the tenant's model,
// so they are as thread-safe as that model (every ModelClient is).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attribution/run_attribution.h"
#include "engine/base/result.h"
#include "engine/chain/executor.h"
#include "engine/run/tenant.h"
#include "engine/run/workspace.h"

namespace fapo {

struct ConfirmationOptions {
  std::size_t max_cases = 20;  // failed cases replayed at most, taken from clusters in turn
  int replays_per_case = 1;    // 1..5
  // Checked between replays; when it says stop, the report so far is returned as cancelled.
  std::function<bool()> cancelled;
  std::function<void(std::size_t done, std::size_t total)> progress;  // after each replay
};

enum class ReplayMethod { kEvidenceSupplied, kResampled };
const char* replay_method_name(ReplayMethod method);  // "evidence_supplied", "resampled"

// Whether a class of failure is confirmed by replay, and how.
bool is_confirmable(FailureClass value);

// One failed case and how it is replayed.
struct PlannedReplay {
  std::size_t cluster = 0;  // index into RunAttribution::analysis.clusters
  std::string case_id;
  int trial = 0;
  ReplayMethod method = ReplayMethod::kResampled;
  ReplayStart start;                      // resample is set per replay when it runs
  std::vector<std::string> supplied_ids;  // passages appended (evidence_supplied)
  long long calls = 0;                    // model calls of one replay, at most
};

struct ConfirmationPlan {
  std::shared_ptr<const CompiledChain> chain;  // the run's pipeline
  std::vector<PlannedReplay> replays;          // in the order they run
  std::map<std::string, Case> cases;           // the replayed cases, by id
  int replays_per_case = 1;
  long long estimated_calls = 0;
  long long estimated_tokens = 0;
  double estimated_money = 0;
  // Per cluster index: why (some of) its cases cannot be replayed.
  std::map<std::size_t, std::string> notes;
};

// kInvalidInput when the run is not a train run or options are out of range; kNotFound when the
// run's pipeline is neither the tenant's baseline nor a stored variant.
Result<ConfirmationPlan> plan_confirmation(const Workspace& workspace, const Tenant& tenant,
                                           const RunAttribution& report,
                                           const ConfirmationOptions& options);

struct ClusterConfirmation {
  std::string method;  // replay_method_name, or "none" when no case could be replayed
  std::string note;    // why cases were left out, if any were
  std::size_t cases = 0;
  std::size_t replays = 0;
  std::size_t fixed = 0;   // replays that scored at or above the failure threshold
  std::size_t failed = 0;  // replays that could not be scored (model or scorer failure)
  std::vector<std::string> fixed_case_ids;
};

struct ConfirmationReport {
  long long estimated_calls = 0;
  long long estimated_tokens = 0;
  double estimated_money = 0;
  long long calls_spent = 0;  // model calls the replays made, cached ones included
  long long tokens_in = 0;
  long long tokens_out = 0;
  std::size_t max_cases = 0;
  int replays_per_case = 1;
  std::vector<ClusterConfirmation> clusters;  // parallel to analysis.clusters
  std::size_t cases = 0;
  std::size_t replays = 0;
  std::size_t fixed = 0;
  std::size_t failed = 0;
  bool cancelled = false;

  double rate() const { return replays ? static_cast<double>(fixed) / replays : 0.0; }
};

// Runs the plan. Errors only for what stops every replay (the dataset cannot be read); a
// replay whose model call fails counts as failed and the others go on.
Result<ConfirmationReport> run_confirmation(const Tenant& tenant, const RunAttribution& report,
                                            const ConfirmationPlan& plan,
                                            const ConfirmationOptions& options);

// Adds the confirmation to a train report made by to_json(report, CaseAccess::kFull): a
// "confirmation" summary and, in each cluster, its own "confirmation".
void add_confirmation(nlohmann::json& report_json, const RunAttribution& report,
                      const ConfirmationReport& confirmation);

// The summary alone, for messages and reports: estimate, calls spent, cases, replays, fixed,
// failed, rate.
nlohmann::json confirmation_summary_json(const ConfirmationReport& confirmation);

}  // namespace fapo
