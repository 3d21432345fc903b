// The stored variants of one tenant, under .fapo/<tenant>/variants/<variant_id>/ (chain.json,
// prompts/<file>, variant.json). A variant's id is the content hash of its pipeline, so the
// same content can never be stored twice under two ids; its name ("v000" for the baseline,
// then "v001", "v002", ...) is given in order of proposal.
//
// Variants are immutable: each is written into a temporary directory, made read-only (files
// 0444, directories 0555) and renamed into place in one step, so readers see a whole variant
// or none. Proposals take an exclusive flock(2) on variants/.lock while they pick a name and
// store, so concurrent proposals (threads or processes) get distinct names.
//
// Thread safety: a VariantStore is a value holding paths and a borrowed Tenant (which must
// outlive it); every member may be called from several threads and processes at once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/pipeline.h"
#include "engine/run/tenant.h"
#include "engine/run/workspace.h"
#include "engine/variant/variant_diff.h"
#include "engine/variant/variant_edits.h"

namespace fapo {

// variant.json.
struct VariantRecord {
  std::string variant_id;
  std::string name;       // "v000", "v001", ...
  std::string parent_id;  // "" for a baseline
  std::string hypothesis;
  Level level = Level::kBaseline;
  std::vector<std::string> edited_steps;
  std::vector<VariantChange> changes;
  std::string created_at;  // ISO 8601 UTC
};

nlohmann::json to_json(const VariantRecord& record);
Result<VariantRecord> variant_record_from_json(const nlohmann::json& json,
                                               const std::string& source);

class VariantStore {
 public:
  // Reads the dataset once for the context variables candidates may use. `tenant` must
  // outlive the store.
  static Result<VariantStore> open(const Workspace& workspace, const Tenant& tenant);

  // The stored variant holding the tenant's current baseline files, storing it first if
  // needed: as "v000" the first time, under the next name if the tenant's files changed since.
  Result<VariantRecord> ensure_baseline();

  // Builds parent + edits, checks it (build_pipeline), and stores it under the next name.
  // kConflict naming the existing variant when the same content is already stored;
  // kInvalidInput listing every problem of a broken candidate; kNotFound for an unknown parent.
  // `admit`, when given, runs while the store's lock is held, just before storing; its error
  // refuses the proposal. It makes a cap on the number of variants exact under concurrency.
  using Admission = std::function<Status()>;
  Result<VariantRecord> propose(const std::string& parent_id, const VariantEdits& edits,
                                const std::string& hypothesis, const Admission& admit = {});

  // A full id, a unique id prefix of at least 8 hex digits, a name ("v003") or "baseline".
  // Anything else is kInvalidInput (it never becomes a path); kNotFound when nothing matches.
  Result<VariantRecord> find(const std::string& reference);

  Result<PipelineConfig> load_pipeline(const std::string& variant_id) const;
  // Every stored variant, by name.
  Result<std::vector<VariantRecord>> list() const;

  // Copies the variant's chain.json, prompts/ and variant.json into `user_path` (inside the
  // workspace, outside .fapo; created if missing). Refuses to overwrite any existing file.
  // Returns the files written, relative to the workspace.
  Result<std::vector<std::string>> export_to(const std::string& variant_id,
                                             const std::string& user_path) const;

  // "tenants/<id> variant v003" style name for messages.
  std::string display_dir(const std::string& variant_id) const;
  const std::vector<std::string>& context_keys() const { return context_keys_; }

 private:
  VariantStore(Workspace workspace, const Tenant& tenant, std::vector<std::string> keys)
      : workspace_(std::move(workspace)), tenant_(&tenant), context_keys_(std::move(keys)) {}

  Result<VariantRecord> store(const PipelineConfig& pipeline, VariantRecord record,
                              const Admission& admit = {});
  Result<VariantRecord> read_record(const std::string& variant_id) const;
  Result<std::string> next_name() const;

  Workspace workspace_;
  const Tenant* tenant_;
  std::vector<std::string> context_keys_;
};

}  // namespace fapo
