// ReviewContext::build: everything the review needs from the tenant, read once.
#include "engine/review/review.h"

#include <algorithm>
#include <system_error>

#include "engine/data/dataset.h"

namespace fapo {
namespace {

// The split of every case, in dataset order, as fraction mode or the split files decide.
Result<std::vector<Split>> assign_splits(const Tenant& tenant, const std::vector<Case>& cases) {
  const SplitsConfig& config = tenant.config.splits;
  std::vector<Split> out;
  out.reserve(cases.size());
  if (!config.files) {
    for (const Case& item : cases) out.push_back(*split_of(item, config));
    return out;
  }
  std::vector<std::string> ids;
  for (const Case& item : cases) ids.push_back(item.case_id);
  FAPO_ASSIGN_OR_RETURN(ExplicitSplits splits,
                        load_split_files(tenant.dir, tenant.display_dir, *config.files, ids));
  for (const Case& item : cases) out.push_back(*splits.find(item.case_id));
  return out;
}

// Compares the assignment with the recorded manifest, when there is one. A review never writes
// the manifest: the first run does.
Status check_recorded_splits(const Workspace& workspace, const Tenant& tenant,
                             const std::vector<Case>& cases, const std::vector<Split>& splits) {
  const fs::path recorded = workspace.split_manifest_path(tenant.id);
  std::error_code ec;
  if (!fs::exists(recorded, ec)) return ok_status();
  SplitManifest manifest;
  manifest.from_files = tenant.config.splits.files.has_value();
  if (!manifest.from_files) {
    manifest.seed = tenant.config.splits.seed;
    manifest.stratify = tenant.config.splits.stratify;
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    manifest.ids(splits[i]).push_back(cases[i].case_id);
  }
  for (Split split : kAllSplits) std::sort(manifest.ids(split).begin(), manifest.ids(split).end());
  manifest.fingerprint = split_fingerprint(manifest);
  // The manifest exists, so this only compares (and explains a mismatch).
  return check_or_write_split_manifest(recorded, manifest);
}

std::vector<std::string> keys_in_every_case(const std::vector<Case>& cases) {
  std::map<std::string, std::size_t> counts;
  for (const Case& item : cases) {
    for (const auto& [key, value] : item.context) counts[key] += 1;
  }
  std::vector<std::string> out;
  for (const auto& [key, count] : counts) {
    if (count == cases.size()) out.push_back(key);
  }
  return out;
}

TextFingerprint fingerprint_of(const CaseTextIndex& index, const PipelineConfig& pipeline) {
  TextFingerprint out;
  for (const auto& [source, text] : pipeline_texts(pipeline)) {
    TextFingerprint part = index.fingerprint(text);
    out.phrases.insert(part.phrases.begin(), part.phrases.end());
    out.answers.insert(part.answers.begin(), part.answers.end());
  }
  return out;
}

}  // namespace

Result<ReviewContext> ReviewContext::build(const Workspace& workspace, const Tenant& tenant) {
  const std::string tenant_json = tenant.display_dir + "/tenant.json";
  FAPO_ASSIGN_OR_RETURN(ParameterRanges ranges,
                        parse_parameter_ranges(tenant.config.scope.parameter_ranges, tenant_json));
  FAPO_ASSIGN_OR_RETURN(std::vector<Case> cases,
                        load_dataset(tenant.dir / "dataset.jsonl",
                                     tenant.display_dir + "/dataset.jsonl"));
  FAPO_ASSIGN_OR_RETURN(std::vector<Split> splits, assign_splits(tenant, cases));
  FAPO_RETURN_IF_ERROR(check_recorded_splits(workspace, tenant, cases, splits));

  auto index = std::make_shared<CaseTextIndex>();
  ReviewContext context;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    index->add_case(cases[i], splits[i] == Split::kTrain);
    context.case_ids_.push_back(cases[i].case_id);
  }
  // Only what the checks read: no model, scorer or retrieval index is kept alive.
  auto slim = std::make_shared<Tenant>();
  slim->id = tenant.id;
  slim->dir = tenant.dir;
  slim->display_dir = tenant.display_dir;
  slim->config = tenant.config;
  slim->baseline = tenant.baseline;
  context.baseline_text_ =
      std::make_shared<const TextFingerprint>(fingerprint_of(*index, tenant.baseline));
  context.tenant_ = std::move(slim);
  context.context_keys_ = keys_in_every_case(cases);
  context.ranges_ = std::move(ranges);
  context.index_ = std::move(index);
  context.case_splits_ = std::move(splits);
  return context;
}

}  // namespace fapo
