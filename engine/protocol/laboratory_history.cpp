// The compact account a fresh session resumes from: the best variant and how it was reached,
// every variant with its level, verdict, means and decision, the levels declared exhausted,
// the notes, and the budget. Means come from complete runs on train and validation (test-split
// results are never shown here: they belong to the sealed final test).

#include <map>

#include "engine/base/strings.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/run_store.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxHypothesisChars = 300;
constexpr std::size_t kMaxNotes = 20;

struct MeanAccumulator {
  double weighted_sum = 0;
  double weight = 0;
};

// Mean composite score per (variant id, split) over every complete run, each run weighted by
// its scored results: all trials count, not the luckiest re-run.
std::map<std::pair<std::string, std::string>, MeanAccumulator> run_means(
    const Workspace& workspace, const std::string& tenant_id) {
  std::map<std::pair<std::string, std::string>, MeanAccumulator> means;
  RunStore runs(workspace, tenant_id);
  for (const std::string& run_id : runs.list_runs()) {
    auto status = runs.status(run_id);
    if (!status.ok() || status->state != RunState::kComplete) continue;
    const json& manifest = status->manifest;
    const std::string split = manifest.value("split", "");
    if (split != "train" && split != "validation") continue;
    const json summary = manifest.value("summary", json::object());
    const double scored = summary.value("scored", 0.0);
    if (scored <= 0) continue;
    auto& mean = means[{manifest.value("variant_id", ""), split}];
    mean.weighted_sum += summary.value("mean", 0.0) * scored;
    mean.weight += scored;
  }
  return means;
}

json mean_or_null(const std::map<std::pair<std::string, std::string>, MeanAccumulator>& means,
                  const std::string& variant_id, const std::string& split) {
  auto found = means.find({variant_id, split});
  if (found == means.end() || found->second.weight <= 0) return nullptr;
  return found->second.weighted_sum / found->second.weight;
}

json lineage(const std::vector<VariantRecord>& records, const VariantRecord& best) {
  std::map<std::string, const VariantRecord*> by_id;
  for (const VariantRecord& record : records) by_id[record.variant_id] = &record;
  std::vector<std::string> names;
  const VariantRecord* current = &best;
  while (current && names.size() <= records.size()) {
    names.insert(names.begin(), current->name);
    auto parent = by_id.find(current->parent_id);
    current = parent == by_id.end() ? nullptr : parent->second;
  }
  return names;
}

}  // namespace

Result<json> Laboratory::history() {
  FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, store_.list());
  FAPO_ASSIGN_OR_RETURN(VariantRecord current_best, best());
  const auto means = run_means(workspace_, tenant_->id);
  std::map<std::string, std::string> names;
  for (const VariantRecord& record : records) names[record.variant_id] = record.name;

  json variants = json::array();
  for (const VariantRecord& record : records) {
    FAPO_ASSIGN_OR_RETURN(auto review, journal_->latest_review(record.variant_id));
    FAPO_ASSIGN_OR_RETURN(auto decision, journal_->latest_decision(record.variant_id));
    json verdict = review ? json(review->payload.value("verdict", "")) : json(nullptr);
    json decided = nullptr;
    if (decision) decided = decision->payload.value("accepted", false) ? "accepted" : "rejected";
    variants.push_back(
        {{"name", record.name},
         {"variant_id", record.variant_id},
         {"level", level_name(record.level)},
         {"parent", record.parent_id.empty() ? "" : names[record.parent_id]},
         {"hypothesis", truncate_utf8(record.hypothesis, kMaxHypothesisChars)},
         {"verdict", verdict},
         {"train_mean", mean_or_null(means, record.variant_id, "train")},
         {"validation_mean", mean_or_null(means, record.variant_id, "validation")},
         {"decision", decided}});
  }

  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> notes, journal_->notes());
  json note_list = json::array();
  std::size_t first = notes.size() > kMaxNotes ? notes.size() - kMaxNotes : 0;
  for (std::size_t i = first; i < notes.size(); ++i) {
    json note{{"seq", notes[i].seq}, {"time", notes[i].time}, {"note", notes[i].reason}};
    if (notes[i].payload.contains("exhausted_level")) {
      note["exhausted_level"] = notes[i].payload["exhausted_level"];
    }
    note_list.push_back(std::move(note));
  }
  FAPO_ASSIGN_OR_RETURN(std::set<std::string> exhausted, journal_->exhausted_levels());
  auto budget = budget_state();
  return json{
      {"best", {{"variant_id", current_best.variant_id},
                {"name", current_best.name},
                {"lineage", lineage(records, current_best)}}},
      {"variants", std::move(variants)},
      {"exhausted_levels", std::vector<std::string>(exhausted.begin(), exhausted.end())},
      {"notes", std::move(note_list)},
      {"notes_total", notes.size()},
      {"budget", budget.ok() ? to_json(*budget) : json{{"error", budget.error().message}}}};
}

}  // namespace fapo
