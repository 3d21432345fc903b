// Train / validation / test splits. A case's split is decided once and never moves:
//  - fraction mode: a stable hash of (splits.seed, stratum, case_id) mapped to [0, 1) and
//    compared with the cumulative fractions, so adding cases never moves an existing one and
//    each stratum is split independently in the same proportions;
//  - explicit mode: splits.files lists the ids of each split; every case in exactly one.
// The split manifest (ids per split and a SHA-256 fingerprint) is written once to
// .fapo/<tenant>/splits.json and every later run checks the dataset still yields it, so results
// are only ever compared on the cases they were measured on.
//
// Free functions are pure or touch only the files they name; values are plain and safe to
// share between threads once built.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/data/case.h"
#include "engine/data/tenant_config.h"

namespace fapo {

enum class Split { kTrain, kValidation, kTest };

inline constexpr std::array<Split, 3> kAllSplits = {Split::kTrain, Split::kValidation,
                                                    Split::kTest};

const char* split_name(Split split);  // "train", "validation", "test"
std::optional<Split> split_from_string(std::string_view name);

// The value a case is stratified by: its task_type, or metadata.<key> (strings as they are,
// other values as JSON text, "" when absent); "" when `stratify` is not set.
std::string stratum_of(const Case& case_data, const std::optional<std::string>& stratify);

// The split of a case in fraction mode; nullopt when `config.files` is set, because then the
// split files decide (see load_split_files).
std::optional<Split> split_of(const Case& case_data, const SplitsConfig& config);

// Explicit mode: case id -> split, from the files of splits.files.
struct ExplicitSplits {
  std::unordered_map<std::string, Split> split_by_id;

  std::optional<Split> find(const std::string& case_id) const;
};

// Reads the split files (paths relative to `tenant_dir`, which they must not leave; one id a
// line, blank lines ignored) and checks them against the dataset: an id in two files (or twice
// in one), an id that is not in the dataset, and dataset ids in no file are all reported at
// once, with the file and line. `display_dir` prefixes file names in messages ("tenants/qa").
Result<ExplicitSplits> load_split_files(const fs::path& tenant_dir, const std::string& display_dir,
                                        const SplitFiles& files,
                                        const std::vector<std::string>& dataset_ids);

struct SplitManifest {
  bool from_files = false;              // explicit mode; then seed and stratify are unused
  std::uint64_t seed = 0;
  std::optional<std::string> stratify;
  std::vector<std::string> train;       // sorted case ids
  std::vector<std::string> validation;
  std::vector<std::string> test;
  std::string fingerprint;              // split_fingerprint() of the above

  const std::vector<std::string>& ids(Split split) const;
  std::vector<std::string>& ids(Split split);
};

// Lowercase hex SHA-256 over the settings and the sorted ids of each split.
std::string split_fingerprint(const SplitManifest& manifest);

nlohmann::json to_json(const SplitManifest& manifest);
// kInvalidInput for a malformed manifest; kConflict when its ids do not match its fingerprint
// (the file was edited).
Result<SplitManifest> split_manifest_from_json(const nlohmann::json& doc, const std::string& file);

// Streams the dataset and assigns every case (fraction mode) or reads the split files
// (explicit mode, relative to `tenant_dir`). Errors list every dataset or split-file problem.
Result<SplitManifest> build_split_manifest(const fs::path& dataset, const std::string& display_name,
                                           const SplitsConfig& config, const fs::path& tenant_dir);

// Writes `current` to `manifest_path` (atomically) when no manifest exists yet; otherwise
// compares fingerprints and returns kConflict naming each split that changed, how many ids were
// added and removed (with examples), which settings changed, and what to do about it.
Status check_or_write_split_manifest(const fs::path& manifest_path, const SplitManifest& current);

}  // namespace fapo
