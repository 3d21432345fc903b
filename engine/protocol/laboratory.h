// The Laboratory: the optimisation protocol's rules for one tenant of a workspace, in one
// place. It owns the tenant's variant store and journal and answers what the protocol allows:
// proposing a variant (within the variant budget, journaled), reading and exporting variants,
// recording notes, the compact history a fresh session resumes from, the current best variant,
// and — before any evaluation starts — whether that evaluation is allowed at all:
//
//   * the test split only for the final test (and the final test only on the test split);
//   * validation only for a variant whose latest review verdict is pass or warn (the baseline,
//     which is the tenant's own pipeline, needs no review);
//   * every evaluation must fit the budget, keeping the final-test reserve for the final test;
//   * once the final test is sealed, the optimisation is finished: no more proposals,
//     comparisons, or validation and test evaluations.
//
// It also runs the protocol's three steps that combine the parts: review (deterministic checks,
// journaled), compare (runs the missing evaluations, then decides on validation and moves the
// best pointer) and final_test (one test evaluation, sealed once). Evaluations go through a
// RunManager the caller lends for the call; waiting for them is bounded, and a later call picks
// up runs an earlier one started.
//
// MCP tools and CLI commands are thin wrappers of it: none of these rules lives in a tool.
//
// Thread safety: a Laboratory may be shared by several threads (the store and the journal are
// safe for concurrent use, and the loaded tenant is read-only); several processes may work on
// the same tenant at once (the store locks, the journal is SQLite). Starting evaluations and
// sealing the final test happen under a per-tenant file lock (.fapo/<tenant>/protocol.lock), so
// concurrent calls — from one Laboratory, two, or two processes — never start the same
// evaluation twice or run the test split twice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/budget/budget.h"
#include "engine/compare/compare.h"
#include "engine/journal/journal.h"
#include "engine/protocol/evaluation_wait.h"
#include "engine/review/review.h"
#include "engine/run/run_manager.h"
#include "engine/run/tenant.h"
#include "engine/run/workspace.h"
#include "engine/variant/variant_store.h"

namespace fapo {

struct Proposal {
  std::string parent = "best";  // any reference resolve() accepts
  VariantEdits edits;
  std::string hypothesis;
  std::string actor = "agent";
};

// A stored variant with what the journal says about it.
struct VariantView {
  VariantRecord record;
  std::string parent_name;  // "" for a baseline
  // Per changed file against the parent: {"file": "prompts/answer.md", "diff": unified text}.
  nlohmann::json diff = nlohmann::json::array();
  std::optional<JournalEntry> review;    // the latest review
  std::optional<JournalEntry> decision;  // the latest decision with this variant as candidate
};

struct CompareOutcome {
  std::string status;  // "decided" | "evaluating"
  std::string split;
  VariantRecord candidate;
  VariantRecord incumbent;
  std::optional<Comparison> comparison;  // when decided
  // Per failure class and step, how many cases each side failed (engine/attribution); null
  // when the runs could not be attributed.
  nlohmann::json failure_deltas;
  // A validation comparison against the current best: its decision was journaled and an
  // accept moved the best pointer. Train comparisons (and validation ones against another
  // incumbent) inform but never decide.
  bool decisive = false;
  std::string note;  // why a decided comparison was not decisive; what an evaluating one awaits
  std::vector<PendingEvaluation> evaluations;  // started or awaited by this call
  EvaluationEstimate estimate;                 // of the evaluations this call started
  VariantRecord best;                          // after the call
};

struct FinalTestOutcome {
  std::string status;           // "sealed" | "running"
  bool already_sealed = false;  // sealed by an earlier call: nothing was spent
  // When sealed: {variant_id, name, mean, standard_error, cases, trials, run_id, sealed_at}.
  nlohmann::json result;
  std::optional<PendingEvaluation> evaluation;  // the test run, while it runs
  EvaluationEstimate estimate;                  // of the test run, when this call started it
};

class Laboratory {
 public:
  // Loads the tenant (configuration, baseline, scorer, model) and opens its store and journal;
  // stores the baseline as v000 if this is the tenant's first use.
  static Result<std::unique_ptr<Laboratory>> open(const Workspace& workspace,
                                                  const std::string& tenant_id);

  const Workspace& workspace() const { return workspace_; }
  const Tenant& tenant() const { return *tenant_; }
  std::shared_ptr<const Tenant> shared_tenant() const { return tenant_; }
  VariantStore& variants() { return store_; }
  Journal& journal() { return *journal_; }

  // Everything VariantStore::find accepts, plus "best".
  Result<VariantRecord> resolve(const std::string& reference);
  // The candidate of the latest accepted decision; the baseline when none.
  Result<VariantRecord> best();

  // Stores the proposal (see VariantStore::propose) if the variant budget allows, and journals
  // it. kConflict when the variant cap is reached.
  Result<VariantRecord> propose(const Proposal& proposal);
  Result<VariantView> view(const std::string& reference);
  // Files written, relative to the workspace.
  Result<std::vector<std::string>> export_variant(const std::string& reference,
                                                  const std::string& path);
  Result<std::int64_t> record_note(const std::string& note, std::optional<Level> exhausted,
                                   const std::string& actor = "agent");
  // Journals an evaluation run that started (payload {run_id, split, trials, variant_id,
  // purpose: "train"|"validation"|"final_test"}); validation runs journaled here count against
  // the validation evaluation cap.
  Result<std::int64_t> record_run(const std::string& run_id, const std::string& variant_id,
                                  const std::string& split, int trials, Purpose purpose,
                                  const std::string& actor = "agent");

  // The compact account of the tenant's optimisation (the `history` tool's result):
  // {best: {variant_id, name, lineage}, variants: [...], exhausted_levels, notes, budget}.
  Result<nlohmann::json> history();

  // The gate before any evaluation of `variant_id` on `split` for `trials` trials.
  // kInvalidInput when the split does not match the purpose (the test split is reachable only
  // through the final test); kConflict when validation lacks a passing review or the budget
  // cannot pay; the message says what to do instead.
  Status check_evaluation_allowed(const std::string& variant_id, const std::string& split,
                                  Purpose purpose, int trials);

  // The budget as spent so far (variants and validation evaluations from store and journal).
  Result<BudgetState> budget_state();

  // .fapo/<tenant>/protocol.lock (see ProtocolLock): held while checking the gate, starting and
  // journaling an evaluation, while deciding, and while sealing the final test.
  std::filesystem::path protocol_lock_path() const;

  // Runs the review checks on a variant (against every stored variant and its journaled verdict
  // and decision) and journals the verdict and findings. Reviewing again is allowed: the
  // journal keeps every review and the latest counts.
  Result<ReviewReport> review(const std::string& reference, const std::string& actor = "agent");

  // Compares `candidate` with `incumbent` on `split` ("train" or "validation"), first starting
  // (budget permitting) the evaluations that give each side acceptance.trials complete trials
  // there; status "evaluating" when they do not finish within the wait (call again: running
  // evaluations are picked up, never started twice). On validation both sides need a review
  // verdict of pass or warn (the baseline needs none), and a candidate that failed review is
  // refused on any split. The comparison is journaled; a validation comparison against the
  // current best also journals the decision, and an accept moves the best pointer.
  // kInvalidInput for the test split; kConflict for a missing or failed review, an exhausted
  // budget, an uncontrolled comparison (naming what differs) or a sealed final test.
  Result<CompareOutcome> compare(RunManager& runs, const std::string& candidate,
                                 const std::string& incumbent = "best",
                                 const std::string& split = "validation",
                                 const WaitOptions& wait = {}, const std::string& actor = "agent");

  // Evaluates `reference` once on the test split (acceptance.trials trials, the budget's reserve
  // usable) and seals the result: journaled and written once to .fapo/<tenant>/final_test.json.
  // Once sealed, every call returns the sealed result and spends nothing. Status "running"
  // when the test run does not finish within the wait; the next call waits for the same run
  // and seals it. kConflict when the variant's review has not passed or the budget cannot pay.
  Result<FinalTestOutcome> final_test(RunManager& runs, const std::string& reference = "best",
                                      const WaitOptions& wait = {},
                                      const std::string& actor = "agent");
  // The sealed final test ({variant_id, name, mean, ...}), if there is one.
  Result<std::optional<nlohmann::json>> sealed_final_test();

 private:
  Laboratory(Workspace workspace, std::shared_ptr<const Tenant> tenant, VariantStore store,
             std::unique_ptr<Journal> journal)
      : workspace_(std::move(workspace)),
        tenant_(std::move(tenant)),
        store_(std::move(store)),
        journal_(std::move(journal)) {}

  Status check_review_allows_validation(const VariantRecord& record);
  Status check_budget_allows(const VariantRecord& record, const std::string& split,
                             Purpose purpose, int trials);
  Status check_variant_budget();
  // kConflict "the final test of tenant X is sealed ..." once it is.
  Status check_not_sealed();
  std::filesystem::path final_test_path() const;  // .fapo/<tenant>/final_test.json

  Result<std::shared_ptr<const ReviewContext>> review_context();
  // Every variant proposed before `candidate_id`, with its latest verdict and decision.
  Result<std::vector<PriorVariant>> prior_variants(const std::string& candidate_id);

  // compare's parts (laboratory_compare.cpp).
  Status check_compare_reviews(const VariantRecord& candidate, const VariantRecord& incumbent,
                               const std::string& split);
  Status start_missing_evaluations(RunManager& runs, CompareOutcome& outcome,
                                   const std::string& actor);
  Status check_joint_budget(const EvaluationEstimate& total, Purpose purpose,
                            std::size_t evaluations);
  Result<CompareOutcome> decide(CompareOutcome outcome, const std::string& actor);

  // final_test's parts (laboratory_final_test.cpp).
  Status check_review_allows_final_test(const VariantRecord& record);
  Result<PendingEvaluation> find_or_start_test_run(RunManager& runs, const VariantRecord& record,
                                                   const std::string& actor,
                                                   EvaluationEstimate& estimate);
  Result<nlohmann::json> seal(const VariantRecord& record, const RunSnapshot& run,
                              const std::string& actor);

  Workspace workspace_;
  std::shared_ptr<const Tenant> tenant_;
  VariantStore store_;
  std::unique_ptr<Journal> journal_;

  std::mutex review_mutex_;  // guards review_context_ (built on first use)
  std::shared_ptr<const ReviewContext> review_context_;
};

// One Laboratory per tenant for a long-lived server: opened on first use, then shared, and
// opened afresh when the tenant's files change on disk (a user raising a budget cap or fixing a
// prompt expects the server to see it). Calls in flight keep the Laboratory they started with.
// Thread-safe.
class LaboratoryPool {
 public:
  explicit LaboratoryPool(Workspace workspace) : workspace_(std::move(workspace)) {}
  Result<std::shared_ptr<Laboratory>> get(const std::string& tenant_id);

 private:
  struct Entry {
    std::shared_ptr<Laboratory> lab;
    std::string files;  // what the tenant's files looked like when it was opened
  };
  Workspace workspace_;
  std::mutex mutex_;  // guards open_
  std::map<std::string, Entry> open_;
};

}  // namespace fapo
