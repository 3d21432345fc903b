// The Laboratory: the optimisation protocol's rules for one tenant of a workspace, in one
// place. It owns the tenant's variant store and journal and answers what the protocol allows:
// proposing a variant (within the variant budget, journaled), reading and exporting variants,
// recording notes, the compact history a fresh session resumes from, the current best variant,
// and — before any evaluation starts — whether that evaluation is allowed at all:
//
//   * the test split only for the final test (and the final test only on the test split);
//   * validation only for a variant whose latest review verdict is pass or warn (the baseline,
//     which is the tenant's own pipeline, needs no review);
//   * every evaluation must fit the budget, keeping the final-test reserve for the final test.
//
// MCP tools and CLI commands are thin wrappers of it: none of these rules lives in a tool.
//
// Thread safety: a Laboratory may be shared by several threads (the store and the journal are
// safe for concurrent use, and the loaded tenant is read-only); several processes may work on
// the same tenant at once (the store locks, the journal is SQLite).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/budget/budget.h"
#include "engine/journal/journal.h"
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
  // purpose}); validation runs journaled here count against the validation evaluation cap.
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

  Workspace workspace_;
  std::shared_ptr<const Tenant> tenant_;
  VariantStore store_;
  std::unique_ptr<Journal> journal_;
};

// One Laboratory per tenant for a long-lived server: opened on first use, then shared.
// Thread-safe.
class LaboratoryPool {
 public:
  explicit LaboratoryPool(Workspace workspace) : workspace_(std::move(workspace)) {}
  Result<std::shared_ptr<Laboratory>> get(const std::string& tenant_id);

 private:
  Workspace workspace_;
  std::mutex mutex_;  // guards open_
  std::map<std::string, std::shared_ptr<Laboratory>> open_;
};

}  // namespace fapo
