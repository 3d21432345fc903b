#include "engine/protocol/laboratory.h"

#include "engine/base/strings.h"
#include "engine/variant/text_diff.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNoteChars = 4000;

// Per changed file, the parent's text against the variant's (chain.json as formatted JSON).
json file_diffs(const PipelineConfig& parent, const PipelineConfig& child) {
  json out = json::array();
  std::string chain = unified_diff(parent.chain.raw.dump(2), child.chain.raw.dump(2));
  if (!chain.empty()) out.push_back({{"file", "chain.json"}, {"diff", chain}});
  std::map<std::string, std::pair<std::string, std::string>> texts;
  for (const auto& [file, text] : parent.prompts) texts[file].first = text;
  for (const auto& [file, text] : child.prompts) texts[file].second = text;
  for (const auto& [file, pair] : texts) {
    std::string diff = unified_diff(pair.first, pair.second);
    if (!diff.empty()) out.push_back({{"file", "prompts/" + file}, {"diff", diff}});
  }
  return out;
}

std::optional<std::string> split_for(Purpose purpose) {
  switch (purpose) {
    case Purpose::kTrain: return "train";
    case Purpose::kValidation: return "validation";
    case Purpose::kFinalTest: return "test";
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<Laboratory>> Laboratory::open(const Workspace& workspace,
                                                     const std::string& tenant_id) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  FAPO_ASSIGN_OR_RETURN(Tenant loaded, load_tenant(workspace, tenant_id));
  auto tenant = std::make_shared<const Tenant>(std::move(loaded));
  FAPO_ASSIGN_OR_RETURN(VariantStore store, VariantStore::open(workspace, *tenant));
  FAPO_ASSIGN_OR_RETURN(std::unique_ptr<Journal> journal,
                        Journal::open(workspace.journal_db_path(tenant_id)));
  std::unique_ptr<Laboratory> lab(
      new Laboratory(workspace, std::move(tenant), std::move(store), std::move(journal)));
  FAPO_RETURN_IF_ERROR(lab->store_.ensure_baseline());
  return lab;
}

Result<VariantRecord> Laboratory::best() {
  FAPO_ASSIGN_OR_RETURN(VariantRecord baseline, store_.ensure_baseline());
  FAPO_ASSIGN_OR_RETURN(std::string best_id, journal_->best_variant_id(baseline.variant_id));
  return store_.find(best_id);
}

Result<VariantRecord> Laboratory::resolve(const std::string& reference) {
  if (reference == "best") return best();
  return store_.find(reference);
}

Result<VariantRecord> Laboratory::propose(const Proposal& proposal) {
  FAPO_RETURN_IF_ERROR(check_not_sealed());
  FAPO_ASSIGN_OR_RETURN(VariantRecord parent, resolve(proposal.parent));
  // Checked again under the store's lock, so concurrent proposals cannot overrun the cap.
  FAPO_RETURN_IF_ERROR(check_variant_budget());
  FAPO_ASSIGN_OR_RETURN(VariantRecord record,
                        store_.propose(parent.variant_id, proposal.edits, proposal.hypothesis,
                                       [this] { return check_variant_budget(); }));
  json payload{{"name", record.name},
               {"parent_id", record.parent_id},
               {"parent", parent.name},
               {"level", level_name(record.level)},
               {"edited_steps", record.edited_steps},
               {"changes", record.changes}};
  auto journaled = journal_->append("proposal", proposal.actor, record.variant_id,
                                    record.hypothesis, payload);
  if (!journaled.ok()) {
    return journaled.error().with_context("variant " + record.name +
                                          " was stored but its proposal was not journaled");
  }
  return record;
}

Result<VariantView> Laboratory::view(const std::string& reference) {
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, resolve(reference));
  VariantView view;
  if (!record.parent_id.empty()) {
    FAPO_ASSIGN_OR_RETURN(VariantRecord parent, store_.find(record.parent_id));
    view.parent_name = parent.name;
    FAPO_ASSIGN_OR_RETURN(PipelineConfig before, store_.load_pipeline(parent.variant_id));
    FAPO_ASSIGN_OR_RETURN(PipelineConfig after, store_.load_pipeline(record.variant_id));
    view.diff = file_diffs(before, after);
  }
  FAPO_ASSIGN_OR_RETURN(view.review, journal_->latest_review(record.variant_id));
  FAPO_ASSIGN_OR_RETURN(view.decision, journal_->latest_decision(record.variant_id));
  view.record = std::move(record);
  return view;
}

Result<std::vector<std::string>> Laboratory::export_variant(const std::string& reference,
                                                            const std::string& path) {
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, resolve(reference));
  return store_.export_to(record.variant_id, path);
}

Result<std::int64_t> Laboratory::record_note(const std::string& note,
                                             std::optional<Level> exhausted,
                                             const std::string& actor) {
  const std::string text = trim(note);
  if (text.empty()) {
    return make_error(ErrorCode::kInvalidInput, "the note is empty: write what you learned");
  }
  if (text.size() > kMaxNoteChars) {
    return make_error(ErrorCode::kInvalidInput,
                      "the note is longer than " + std::to_string(kMaxNoteChars) +
                          " characters; keep notes to what a later session needs");
  }
  json payload = json::object();
  if (exhausted) {
    if (*exhausted == Level::kBaseline) {
      return make_error(ErrorCode::kInvalidInput,
                        "exhausted_level must be prompt, parameter or structural");
    }
    payload["exhausted_level"] = level_name(*exhausted);
  }
  FAPO_ASSIGN_OR_RETURN(VariantRecord current, best());
  return journal_->append("note", actor, current.variant_id, text, payload);
}

Result<std::int64_t> Laboratory::record_run(const std::string& run_id,
                                            const std::string& variant_id,
                                            const std::string& split, int trials, Purpose purpose,
                                            const std::string& actor) {
  json payload{{"run_id", run_id},
               {"split", split},
               {"trials", trials},
               {"variant_id", variant_id},
               {"purpose",
                purpose == Purpose::kFinalTest ? "final_test" : purpose_name(purpose)}};
  return journal_->append("run", actor, variant_id, "evaluation started", payload);
}

Status Laboratory::check_evaluation_allowed(const std::string& variant_id,
                                            const std::string& split, Purpose purpose,
                                            int trials) {
  if (split == "test" && purpose != Purpose::kFinalTest) {
    return make_error(ErrorCode::kInvalidInput,
                      "the test split is reachable only through final_test, which evaluates the "
                      "chosen variant once and seals the result; use train to find failures and "
                      "validation to measure a change");
  }
  if (split != "train" && split != "validation" && split != "test") {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + split + "': use 'train' or 'validation'");
  }
  if (split_for(purpose) != split) {
    return make_error(ErrorCode::kInvalidInput, std::string("a ") + purpose_name(purpose) +
                                                    " evaluation runs on the " +
                                                    *split_for(purpose) + " split, not " + split);
  }
  if (trials < 1) return make_error(ErrorCode::kInvalidInput, "trials must be at least 1");
  // Train stays open after the seal (looking at failures spends only budget); validation and
  // test would only produce numbers nothing may act on any more.
  if (purpose != Purpose::kTrain) FAPO_RETURN_IF_ERROR(check_not_sealed());
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, store_.find(variant_id));
  if (purpose == Purpose::kValidation) FAPO_RETURN_IF_ERROR(check_review_allows_validation(record));
  return check_budget_allows(record, split, purpose, trials);
}

Status Laboratory::check_review_allows_validation(const VariantRecord& record) {
  if (record.level == Level::kBaseline) return ok_status();
  FAPO_ASSIGN_OR_RETURN(std::optional<JournalEntry> review,
                        journal_->latest_review(record.variant_id));
  if (!review) {
    return make_error(ErrorCode::kConflict,
                      "variant " + record.name + " has not been reviewed; call review_variant "
                      "first: only a variant whose review passes (or warns) may be evaluated on "
                      "validation");
  }
  const std::string verdict = review->payload.value("verdict", "");
  if (verdict == "pass" || verdict == "warn") return ok_status();
  return make_error(ErrorCode::kConflict,
                    "variant " + record.name + " failed review (verdict '" + verdict +
                        "'), so it cannot be evaluated on validation; fix what the review found "
                        "in a new proposal (get_variant shows the findings)");
}

namespace {

// Path, size and modification time of every file under the tenant's directory: cheap to take
// (a few stat calls) and different whenever a file is edited, added or removed.
std::string tenant_files_signature(const fs::path& dir) {
  std::string signature;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto size = it->file_size(ec);
    auto time = it->last_write_time(ec);
    signature += it->path().string() + '\t' + std::to_string(size) + '\t' +
                 std::to_string(time.time_since_epoch().count()) + '\n';
  }
  return signature;
}

}  // namespace

Result<std::shared_ptr<Laboratory>> LaboratoryPool::get(const std::string& tenant_id) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  std::string files = tenant_files_signature(workspace_.tenant_dir(tenant_id));
  std::lock_guard lock(mutex_);
  auto found = open_.find(tenant_id);
  if (found != open_.end() && found->second.files == files) return found->second.lab;
  FAPO_ASSIGN_OR_RETURN(std::unique_ptr<Laboratory> lab, Laboratory::open(workspace_, tenant_id));
  std::shared_ptr<Laboratory> shared = std::move(lab);
  open_[tenant_id] = Entry{shared, std::move(files)};
  return shared;
}

}  // namespace fapo
