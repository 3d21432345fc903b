#include "engine/data/splits.h"

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "engine/base/diagnostic.h"
#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/data/dataset.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr int kManifestFormat = 1;
constexpr std::size_t kExampleIds = 3;      // ids quoted per change in a conflict message
constexpr std::size_t kMissingIdsShown = 20;

const std::string& file_of(const SplitFiles& files, Split split) {
  switch (split) {
    case Split::kTrain: return files.train;
    case Split::kValidation: return files.validation;
    case Split::kTest: return files.test;
  }
  return files.test;
}

std::string quote_ids(const std::vector<std::string>& ids, std::size_t limit) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < ids.size() && i < limit; ++i) shown.push_back("'" + ids[i] + "'");
  std::string text = join(shown, ", ");
  if (ids.size() > limit) text += ", ...";
  return text;
}

struct Placement {
  Split split;
  int line;
};

// Reads one split file into `placed`, reporting ids that are unknown or already placed.
void read_split_file(const std::string& text, Split split, const std::array<std::string, 3>& shown,
                     const std::unordered_set<std::string>& known,
                     std::unordered_map<std::string, Placement>& placed, Diagnostics& problems) {
  const std::string& file = shown[static_cast<int>(split)];
  std::vector<std::string> lines = fapo::split(text, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string id = trim(lines[i]);
    int line = static_cast<int>(i) + 1;
    if (id.empty()) continue;
    if (known.count(id) == 0) {
      problems.push_back(Diagnostic{file, line, "", "case id '" + id + "' is not in the dataset"});
      continue;
    }
    auto [previous, inserted] = placed.try_emplace(id, Placement{split, line});
    if (inserted) continue;
    const Placement& first = previous->second;
    std::string where = first.split == split ? "earlier in this file"
                                             : "in " + shown[static_cast<int>(first.split)];
    problems.push_back(Diagnostic{file, line, "",
                                  "case id '" + id + "' is also listed " + where + " (line " +
                                      std::to_string(first.line) +
                                      "); every case must be in exactly one split"});
  }
}

// The canonical text the fingerprint hashes: JSON with sorted ids (nlohmann orders keys).
json fingerprint_document(const SplitManifest& manifest) {
  json doc = {{"from_files", manifest.from_files},
              {"seed", manifest.seed},
              {"stratify", manifest.stratify ? json(*manifest.stratify) : json(nullptr)}};
  for (Split split : kAllSplits) {
    std::vector<std::string> ids = manifest.ids(split);
    if (!std::is_sorted(ids.begin(), ids.end())) std::sort(ids.begin(), ids.end());
    doc[split_name(split)] = std::move(ids);
  }
  return doc;
}

std::vector<std::string> difference(const std::vector<std::string>& a,
                                    const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::string show_settings(const SplitManifest& manifest) {
  if (manifest.from_files) return "explicit split files";
  return "seed " + std::to_string(manifest.seed) + ", stratify " +
         (manifest.stratify ? "'" + *manifest.stratify + "'" : std::string("none"));
}

// "train: 3 ids added (e.g. 'q1', 'q2', 'q3'), 1 removed (e.g. 'q9')" for each changed split.
std::vector<std::string> describe_changes(const SplitManifest& stored,
                                          const SplitManifest& current) {
  std::vector<std::string> changes;
  if (show_settings(stored) != show_settings(current)) {
    changes.push_back("settings: " + show_settings(stored) + " -> " + show_settings(current));
  }
  for (Split split : kAllSplits) {
    std::vector<std::string> added = difference(current.ids(split), stored.ids(split));
    std::vector<std::string> removed = difference(stored.ids(split), current.ids(split));
    if (added.empty() && removed.empty()) continue;
    std::string change = std::string(split_name(split)) + ": ";
    change += std::to_string(added.size()) + " ids added";
    if (!added.empty()) change += " (e.g. " + quote_ids(added, kExampleIds) + ")";
    change += ", " + std::to_string(removed.size()) + " removed";
    if (!removed.empty()) change += " (e.g. " + quote_ids(removed, kExampleIds) + ")";
    changes.push_back(change);
  }
  return changes;
}

Result<std::vector<std::string>> string_list(const json& doc, const char* key,
                                             const std::string& file) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) {
    return make_error(ErrorCode::kInvalidInput,
                      file + ": field '" + key + "': must be an array of case ids");
  }
  std::vector<std::string> ids;
  ids.reserve(it->size());
  for (const json& id : *it) {
    if (!id.is_string()) {
      return make_error(ErrorCode::kInvalidInput,
                        file + ": field '" + key + "': must hold strings, got " + id.dump());
    }
    ids.push_back(id.get<std::string>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kValidation: return "validation";
    case Split::kTest: return "test";
  }
  return "test";
}

std::optional<Split> split_from_string(std::string_view name) {
  for (Split split : kAllSplits) {
    if (name == split_name(split)) return split;
  }
  return std::nullopt;
}

std::string stratum_of(const Case& case_data, const std::optional<std::string>& stratify) {
  if (!stratify) return "";
  if (*stratify == "task_type") return case_data.task_type;
  const std::string prefix = "metadata.";
  if (!starts_with(*stratify, prefix) || !case_data.metadata.is_object()) return "";
  auto value = case_data.metadata.find(stratify->substr(prefix.size()));
  if (value == case_data.metadata.end() || value->is_null()) return "";
  return value->is_string() ? value->get<std::string>() : value->dump();
}

std::optional<Split> split_of(const Case& case_data, const SplitsConfig& config) {
  if (config.files) return std::nullopt;
  std::string key = case_data.case_id;
  // Salting with the stratum makes each stratum an independent draw at the same proportions.
  // \x1f (unit separator) keeps ("a", "b:c") and ("a:b", "c") apart.
  if (config.stratify) key = stratum_of(case_data, config.stratify) + '\x1f' + key;
  double unit = hash_to_unit(stable_hash(key, config.seed));
  if (unit < config.train) return Split::kTrain;
  // test == 0 must never receive a case through rounding of the cumulative sum.
  if (unit < config.train + config.validation || config.test <= 0) return Split::kValidation;
  return Split::kTest;
}

std::optional<Split> ExplicitSplits::find(const std::string& case_id) const {
  auto it = split_by_id.find(case_id);
  if (it == split_by_id.end()) return std::nullopt;
  return it->second;
}

Result<ExplicitSplits> load_split_files(const fs::path& tenant_dir, const std::string& display_dir,
                                        const SplitFiles& files,
                                        const std::vector<std::string>& dataset_ids) {
  std::unordered_set<std::string> known(dataset_ids.begin(), dataset_ids.end());
  std::unordered_map<std::string, Placement> placed;
  std::array<std::string, 3> shown;
  for (Split split : kAllSplits) {
    const std::string& relative = file_of(files, split);
    shown[static_cast<int>(split)] = display_dir.empty() ? relative : display_dir + "/" + relative;
  }
  Diagnostics problems;
  for (Split split : kAllSplits) {
    const std::string& relative = file_of(files, split);
    const std::string& file = shown[static_cast<int>(split)];
    fs::path path = tenant_dir / relative;
    if (fs::path(relative).is_absolute() || !is_within(tenant_dir, path)) {
      problems.push_back(Diagnostic{display_dir.empty() ? "tenant.json" : display_dir + "/tenant.json",
                                    0, std::string("splits.files.") + split_name(split),
                                    "'" + relative + "' must be a path inside the tenant directory"});
      continue;
    }
    auto text = read_file(path);
    if (!text.ok()) {
      bool missing = text.error().code == ErrorCode::kNotFound;
      problems.push_back(Diagnostic{file, 0, "",
                                    (missing ? "file not found" : std::string("cannot be read")) +
                                        " (named by splits.files." + split_name(split) + ")"});
      continue;
    }
    read_split_file(*text, split, shown, known, placed, problems);
  }
  std::vector<std::string> unplaced;
  for (const std::string& id : dataset_ids) {
    if (placed.count(id) == 0) unplaced.push_back(id);
  }
  if (!unplaced.empty()) {
    problems.push_back(Diagnostic{
        display_dir.empty() ? "splits" : display_dir + "/splits", 0, "",
        std::to_string(unplaced.size()) + " case ids of the dataset are in no split file: " +
            quote_ids(unplaced, kMissingIdsShown) + "; every case must be in exactly one split"});
  }
  if (!problems.empty()) return diagnostics_error(problems);
  ExplicitSplits result;
  for (auto& [id, placement] : placed) result.split_by_id.emplace(id, placement.split);
  return result;
}

const std::vector<std::string>& SplitManifest::ids(Split split) const {
  switch (split) {
    case Split::kTrain: return train;
    case Split::kValidation: return validation;
    case Split::kTest: return test;
  }
  return test;
}

std::vector<std::string>& SplitManifest::ids(Split split) {
  return const_cast<std::vector<std::string>&>(std::as_const(*this).ids(split));
}

std::string split_fingerprint(const SplitManifest& manifest) {
  return sha256_hex(fingerprint_document(manifest).dump());
}

nlohmann::json to_json(const SplitManifest& manifest) {
  json doc = {{"format", kManifestFormat},
              {"mode", manifest.from_files ? "files" : "fractions"},
              {"seed", manifest.seed},
              {"stratify", manifest.stratify ? json(*manifest.stratify) : json(nullptr)},
              {"fingerprint", manifest.fingerprint}};
  json counts = json::object();
  for (Split split : kAllSplits) {
    counts[split_name(split)] = manifest.ids(split).size();
    doc[split_name(split)] = manifest.ids(split);
  }
  doc["counts"] = counts;  // for people reading the file; not read back
  return doc;
}

Result<SplitManifest> split_manifest_from_json(const nlohmann::json& doc, const std::string& file) {
  auto invalid = [&](const std::string& what) {
    return make_error(ErrorCode::kInvalidInput, file + ": " + what);
  };
  if (!doc.is_object()) return invalid("a split manifest must be a JSON object");
  if (doc.value("format", json()) != kManifestFormat) {
    return invalid("unknown split manifest format " + doc.value("format", json()).dump());
  }
  SplitManifest manifest;
  try {
    manifest.from_files = doc.at("mode").get<std::string>() == "files";
    manifest.seed = doc.at("seed").get<std::uint64_t>();
    const json& stratify = doc.at("stratify");
    if (!stratify.is_null()) manifest.stratify = stratify.get<std::string>();
    manifest.fingerprint = doc.at("fingerprint").get<std::string>();
  } catch (const json::exception& error) {
    return invalid(std::string("malformed split manifest: ") + error.what());
  }
  for (Split split : kAllSplits) {
    FAPO_ASSIGN_OR_RETURN(manifest.ids(split), string_list(doc, split_name(split), file));
  }
  if (split_fingerprint(manifest) != manifest.fingerprint) {
    return make_error(ErrorCode::kConflict,
                      file + ": the case ids no longer match the recorded fingerprint (the file "
                             "was edited); delete it to record the current assignment again");
  }
  return manifest;
}

Result<SplitManifest> build_split_manifest(const fs::path& dataset, const std::string& display_name,
                                           const SplitsConfig& config, const fs::path& tenant_dir) {
  SplitManifest manifest;
  manifest.from_files = config.files.has_value();
  if (!manifest.from_files) {
    manifest.seed = config.seed;
    manifest.stratify = config.stratify;
  }
  std::vector<std::string> all_ids;
  Diagnostics problems = read_dataset(dataset, display_name, [&](Case&& one) {
    if (auto split = split_of(one, config)) {
      manifest.ids(*split).push_back(std::move(one.case_id));
    } else {
      all_ids.push_back(std::move(one.case_id));
    }
  });
  if (!problems.empty()) return diagnostics_error(problems);
  if (manifest.from_files) {
    std::string display_dir = fs::path(display_name).parent_path().string();
    FAPO_ASSIGN_OR_RETURN(ExplicitSplits explicit_splits,
                          load_split_files(tenant_dir, display_dir, *config.files, all_ids));
    for (const std::string& id : all_ids) {
      manifest.ids(*explicit_splits.find(id)).push_back(id);
    }
  }
  for (Split split : kAllSplits) std::sort(manifest.ids(split).begin(), manifest.ids(split).end());
  manifest.fingerprint = split_fingerprint(manifest);
  return manifest;
}

Status check_or_write_split_manifest(const fs::path& manifest_path, const SplitManifest& current) {
  const std::string file = manifest_path.string();
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) {
    return write_file_atomic(manifest_path, to_json(current).dump(1) + "\n");
  }
  FAPO_ASSIGN_OR_RETURN(std::string text, read_file(manifest_path));
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& error) {
    return make_error(ErrorCode::kConflict, file + ": not a readable split manifest (" +
                                                error.what() +
                                                "); delete it to record the current assignment");
  }
  auto stored = split_manifest_from_json(doc, file);
  if (!stored.ok()) return stored.error();
  if (stored->fingerprint == current.fingerprint) return ok_status();
  std::vector<std::string> changes = describe_changes(*stored, current);
  return make_error(
      ErrorCode::kConflict,
      file + ": the split assignment differs from the one recorded when this tenant was first "
             "run (" + join(changes, "; ") + "). Results are only comparable on the same cases. "
             "Restore the dataset and the splits settings in tenant.json, or, to adopt the new "
             "assignment, delete " + file + " (runs recorded before then will not compare with "
             "new ones).");
}

}  // namespace fapo
