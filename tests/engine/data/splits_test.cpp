#include "engine/data/splits.h"

#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_text;

std::string case_line(const std::string& id, const std::string& task_type,
                      const json& metadata = json::object()) {
  return json{{"case_id", id},
              {"task_type", task_type},
              {"context", {{"question", "q"}}},
              {"expected", {{"answer", "a"}}},
              {"metadata", metadata}}
             .dump() +
         "\n";
}

// `count` cases q0000.. with three task types of unequal size (1/2, 1/3, 1/6).
void write_cases(const fs::path& path, int first, int count, std::ios::openmode mode = {}) {
  std::ofstream out(path, std::ios::binary | mode);
  for (int i = first; i < first + count; ++i) {
    std::string type = i % 6 < 3 ? "bridge" : (i % 6 < 5 ? "comparison" : "count");
    char id[16];
    std::snprintf(id, sizeof id, "q%05d", i);
    out << case_line(id, type);
  }
}

SplitManifest build(const fs::path& dataset, const SplitsConfig& config, const fs::path& dir) {
  auto manifest = build_split_manifest(dataset, "tenants/qa/dataset.jsonl", config, dir);
  REQUIRE_MESSAGE(manifest.ok(), manifest.error().message);
  return *manifest;
}

std::map<std::string, Split> assignment(const SplitManifest& manifest) {
  std::map<std::string, Split> out;
  for (Split split : kAllSplits) {
    for (const std::string& id : manifest.ids(split)) out[id] = split;
  }
  return out;
}

SplitFiles files() { return SplitFiles{"splits/train.txt", "splits/validation.txt", "splits/test.txt"}; }

}  // namespace

TEST_CASE("split names convert both ways") {
  for (Split split : kAllSplits) CHECK(split_from_string(split_name(split)) == split);
  CHECK(std::string(split_name(Split::kValidation)) == "validation");
  CHECK_FALSE(split_from_string("valid").has_value());
}

TEST_CASE("the stratum is the task type or a metadata value") {
  Case one;
  one.case_id = "q1";
  one.task_type = "bridge";
  one.metadata = {{"level", "hard"}, {"hops", 2}};
  CHECK(stratum_of(one, std::nullopt).empty());
  CHECK(stratum_of(one, "task_type") == "bridge");
  CHECK(stratum_of(one, "metadata.level") == "hard");
  CHECK(stratum_of(one, "metadata.hops") == "2");
  CHECK(stratum_of(one, "metadata.absent").empty());
}

TEST_CASE("fraction mode is deterministic, follows the seed and leaves explicit mode alone") {
  Case one;
  one.case_id = "q1";
  one.task_type = "bridge";
  SplitsConfig config;
  CHECK(split_of(one, config) == split_of(one, config));
  int moved = 0;
  for (int i = 0; i < 200; ++i) {
    one.case_id = "c" + std::to_string(i);
    SplitsConfig other = config;
    other.seed = 2;
    if (split_of(one, config) != split_of(one, other)) ++moved;
  }
  CHECK(moved > 50);  // a new seed is a new draw, not the same one
  config.files = files();
  CHECK_FALSE(split_of(one, config).has_value());
}

TEST_CASE("a zero fraction receives no cases") {
  SplitsConfig config;
  config.train = 0.5;
  config.validation = 0.5;
  config.test = 0;
  Case one;
  for (int i = 0; i < 2000; ++i) {
    one.case_id = "c" + std::to_string(i);
    CHECK(split_of(one, config) != Split::kTest);
  }
}

TEST_CASE("stratified proportions hold within every stratum of 3,000 cases") {
  TempDir dir;
  write_cases(dir.path() / "dataset.jsonl", 0, 3000);
  SplitsConfig config;  // 0.2 / 0.4 / 0.4, stratified by task_type
  SplitManifest manifest = build(dir.path() / "dataset.jsonl", config, dir.path());
  std::map<std::string, std::map<Split, int>> counts;
  for (const auto& [id, split] : assignment(manifest)) {
    int number = std::stoi(id.substr(1));
    std::string type = number % 6 < 3 ? "bridge" : (number % 6 < 5 ? "comparison" : "count");
    ++counts[type][split];
  }
  REQUIRE(counts.size() == 3);
  const std::map<Split, double> target = {
      {Split::kTrain, 0.2}, {Split::kValidation, 0.4}, {Split::kTest, 0.4}};
  for (const auto& [type, per_split] : counts) {
    int total = 0;
    for (const auto& [split, n] : per_split) total += n;
    for (const auto& [split, fraction] : target) {
      double share = per_split.count(split) ? per_split.at(split) / double(total) : 0.0;
      CAPTURE(type);
      CAPTURE(split_name(split));
      CHECK(std::abs(share - fraction) < 0.05);
    }
  }
  CHECK(manifest.train.size() + manifest.validation.size() + manifest.test.size() == 3000);
}

TEST_CASE("appending cases never moves an existing case, and the manifest check notices it") {
  TempDir dir;
  fs::path dataset = dir.path() / "dataset.jsonl";
  fs::path manifest_path = dir.path() / ".fapo" / "qa" / "splits.json";
  write_cases(dataset, 0, 600);
  SplitsConfig config;
  SplitManifest before = build(dataset, config, dir.path());
  REQUIRE(check_or_write_split_manifest(manifest_path, before).ok());
  REQUIRE(fs::exists(manifest_path));
  CHECK(check_or_write_split_manifest(manifest_path, before).ok());

  write_cases(dataset, 600, 150, std::ios::app);
  SplitManifest after = build(dataset, config, dir.path());
  std::map<std::string, Split> old_assignment = assignment(before);
  std::map<std::string, Split> new_assignment = assignment(after);
  CHECK(new_assignment.size() == 750);
  int moved = 0;
  for (const auto& [id, split] : old_assignment) moved += new_assignment.at(id) != split;
  CHECK(moved == 0);

  Status check = check_or_write_split_manifest(manifest_path, after);
  REQUIRE_FALSE(check.ok());
  CHECK(check.error().code == ErrorCode::kConflict);
  std::string added_train = std::to_string(after.train.size() - before.train.size());
  CHECK(check.error().message.find("train: " + added_train + " ids added (e.g. 'q00") !=
        std::string::npos);
  CHECK(check.error().message.find(", 0 removed") != std::string::npos);
}

TEST_CASE("a changed assignment is refused with what changed and what to do") {
  TempDir dir;
  fs::path dataset = dir.path() / "dataset.jsonl";
  fs::path manifest_path = dir.path() / "splits.json";
  write_text(dataset, case_line("a1", "x") + case_line("a2", "x") + case_line("a3", "x"));
  SplitsConfig config;
  config.train = 1.0;
  config.validation = 0.0;
  config.test = 0.0;
  REQUIRE(check_or_write_split_manifest(manifest_path, build(dataset, config, dir.path())).ok());

  SUBCASE("a removed case") {
    write_text(dataset, case_line("a1", "x") + case_line("a3", "x"));
    Status check = check_or_write_split_manifest(manifest_path, build(dataset, config, dir.path()));
    REQUIRE_FALSE(check.ok());
    CHECK(check.error().code == ErrorCode::kConflict);
    const std::string& message = check.error().message;
    CHECK(message.find(manifest_path.string() + ": the split assignment differs") == 0);
    CHECK(message.find("train: 0 ids added, 1 removed (e.g. 'a2')") != std::string::npos);
    CHECK(message.find("validation:") == std::string::npos);
    CHECK(message.find("delete " + manifest_path.string()) != std::string::npos);
  }
  SUBCASE("an edited seed") {
    config.seed = 9;
    Status check = check_or_write_split_manifest(manifest_path, build(dataset, config, dir.path()));
    REQUIRE_FALSE(check.ok());
    CHECK(check.error().message.find(
              "settings: seed 1, stratify 'task_type' -> seed 9, stratify 'task_type'") !=
          std::string::npos);
  }
}

TEST_CASE("the manifest round-trips through JSON and detects hand edits") {
  TempDir dir;
  write_cases(dir.path() / "dataset.jsonl", 0, 40);
  SplitManifest manifest = build(dir.path() / "dataset.jsonl", SplitsConfig{}, dir.path());
  CHECK(manifest.fingerprint.size() == 64);
  json doc = to_json(manifest);
  CHECK(doc.at("counts").at("train") == manifest.train.size());
  auto back = split_manifest_from_json(doc, "splits.json");
  REQUIRE_MESSAGE(back.ok(), back.error().message);
  CHECK(back->train == manifest.train);
  CHECK(back->test == manifest.test);
  CHECK(back->stratify == manifest.stratify);
  CHECK(back->fingerprint == manifest.fingerprint);

  std::swap(doc["train"][0], doc["test"][0]);
  auto edited = split_manifest_from_json(doc, "splits.json");
  REQUIRE_FALSE(edited.ok());
  CHECK(edited.error().code == ErrorCode::kConflict);
  CHECK(edited.error().message.find("splits.json: the case ids no longer match") == 0);

  auto garbage = split_manifest_from_json(json{{"format", 1}, {"mode", 3}}, "splits.json");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code == ErrorCode::kInvalidInput);
}

TEST_CASE("explicit split files assign every case") {
  TempDir dir;
  write_text(dir.path() / "dataset.jsonl",
             case_line("a", "t") + case_line("b", "t") + case_line("c", "t") + case_line("d", "t"));
  write_text(dir.path() / "splits" / "train.txt", "a\n\n b \n");
  write_text(dir.path() / "splits" / "validation.txt", "c\n");
  write_text(dir.path() / "splits" / "test.txt", "d");
  SplitsConfig config;
  config.files = files();
  SplitManifest manifest = build(dir.path() / "dataset.jsonl", config, dir.path());
  CHECK(manifest.from_files);
  CHECK(manifest.train == std::vector<std::string>{"a", "b"});
  CHECK(manifest.validation == std::vector<std::string>{"c"});
  CHECK(manifest.test == std::vector<std::string>{"d"});
  CHECK_FALSE(manifest.stratify.has_value());
}

TEST_CASE("explicit split files report every problem with file and line") {
  TempDir dir;
  std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  write_text(dir.path() / "splits" / "train.txt", "a\nb\n");
  write_text(dir.path() / "splits" / "validation.txt", "zz\nb\n");
  write_text(dir.path() / "splits" / "test.txt", "c\nc\n");
  auto loaded = load_split_files(dir.path(), "tenants/qa", files(), ids);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error().code == ErrorCode::kInvalidInput);
  CHECK(loaded.error().message ==
        "tenants/qa/splits/validation.txt:1: case id 'zz' is not in the dataset\n"
        "tenants/qa/splits/validation.txt:2: case id 'b' is also listed in "
        "tenants/qa/splits/train.txt (line 2); every case must be in exactly one split\n"
        "tenants/qa/splits/test.txt:2: case id 'c' is also listed earlier in this file (line 1); "
        "every case must be in exactly one split\n"
        "tenants/qa/splits: 2 case ids of the dataset are in no split file: 'd', 'e'; every "
        "case must be in exactly one split");
}

TEST_CASE("explicit split files must exist inside the tenant directory") {
  TempDir dir;
  write_text(dir.path() / "splits" / "train.txt", "a\n");
  SplitFiles paths = files();
  paths.validation = "../elsewhere.txt";
  auto loaded = load_split_files(dir.path(), "tenants/qa", paths, {"a"});
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error().message ==
        "tenants/qa/tenant.json: field 'splits.files.validation': '../elsewhere.txt' must be a "
        "path inside the tenant directory\n"
        "tenants/qa/splits/test.txt: file not found (named by splits.files.test)");
}

TEST_CASE("building a manifest reports dataset problems") {
  TempDir dir;
  write_text(dir.path() / "dataset.jsonl", case_line("a", "t") + case_line("a", "t"));
  auto manifest = build_split_manifest(dir.path() / "dataset.jsonl", "tenants/qa/dataset.jsonl",
                                       SplitsConfig{}, dir.path());
  REQUIRE_FALSE(manifest.ok());
  CHECK(manifest.error().message.find("tenants/qa/dataset.jsonl:2: field 'case_id': duplicate") ==
        0);
}

}  // namespace fapo
