// A copy of the multihop_qa tenant in a private workspace, its review context, and helpers to
// build candidate pipelines from its baseline and to pick cases of each split.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/review/review.h"
#include "engine/run/tenant.h"
#include "tests/test_support.h"

namespace fapo::review_testing {

inline const char* kTenant = "multihop_qa";

class Fixture {
 public:
  // `edit_tenant_json` changes tenant.json before the tenant is loaded.
  explicit Fixture(const std::function<void(nlohmann::json&)>& edit_tenant_json = {}) {
    testing::copy_tenant(kTenant, dir_.path());
    if (edit_tenant_json) {
      auto file = tenant_dir() / "tenant.json";
      auto doc = nlohmann::json::parse(testing::read_text(file));
      edit_tenant_json(doc);
      testing::write_text(file, doc.dump(2));
    }
    auto workspace = Workspace::open(dir_.path());
    REQUIRE(workspace.ok());
    workspace_ = *workspace;
    auto tenant = load_tenant(*workspace_, kTenant);
    REQUIRE_MESSAGE(tenant.ok(), tenant.error().message);
    tenant_ = std::move(*tenant);
    auto cases = load_dataset(tenant_.dir / "dataset.jsonl", "dataset.jsonl");
    REQUIRE(cases.ok());
    cases_ = std::move(*cases);
    auto manifest = build_split_manifest(tenant_.dir / "dataset.jsonl", "dataset.jsonl",
                                         tenant_.config.splits, tenant_.dir);
    REQUIRE(manifest.ok());
    manifest_ = std::move(*manifest);
  }

  std::filesystem::path tenant_dir() const { return dir_.path() / "tenants" / kTenant; }
  const Workspace& workspace() const { return *workspace_; }
  const Tenant& tenant() const { return tenant_; }
  const PipelineConfig& baseline() const { return tenant_.baseline; }
  const SplitManifest& manifest() const { return manifest_; }

  const ReviewContext& context() {
    if (!context_) {
      auto built = ReviewContext::build(*workspace_, tenant_);
      REQUIRE_MESSAGE(built.ok(), built.error().message);
      context_ = std::move(*built);
    }
    return *context_;
  }

  // The baseline with `file`'s text replaced.
  PipelineConfig with_prompt(const std::string& file, const std::string& text) const {
    PipelineConfig out = tenant_.baseline;
    out.prompts[file] = text;
    return out;
  }
  // The baseline with `addition` appended to `file`.
  PipelineConfig with_added(const std::string& file, const std::string& addition) const {
    return with_prompt(file, tenant_.baseline.prompts.at(file) + addition);
  }
  // The baseline with a chain parsed from the baseline's chain.json as edited by `edit`.
  PipelineConfig with_chain(const std::function<void(nlohmann::json&)>& edit) const {
    nlohmann::json raw = tenant_.baseline.chain.raw;
    edit(raw);
    auto chain = parse_chain(raw, "chain.json");
    REQUIRE_MESSAGE(chain.ok(), chain.error().message);
    PipelineConfig out = tenant_.baseline;
    out.chain = std::move(*chain);
    return out;
  }

  Result<ReviewReport> review(const PipelineConfig& candidate, const std::string& level = "prompt",
                              std::vector<std::string> edited_steps = {"answer"},
                              std::vector<PriorVariant> earlier = {}) {
    ReviewInput input;
    input.level = level;
    input.edited_steps = std::move(edited_steps);
    input.parent = &tenant_.baseline;
    input.candidate = &candidate;
    input.earlier = std::move(earlier);
    return review_variant(context(), input);
  }

  bool in_split(const Case& item, Split split) const {
    const auto& ids = manifest_.ids(split);
    return std::binary_search(ids.begin(), ids.end(), item.case_id);
  }

  // Cases of `split` whose answer has at least `min_words` words (max_words at most) and is
  // the expected value of no other case: a value that identifies its case.
  std::vector<Case> cases_with_unique_answer(Split split, std::size_t min_words,
                                             std::size_t max_words) const {
    std::map<std::string, int> uses;
    for (const Case& item : cases_) {
      for (const auto& value : item.expected.items()) {
        if (value.value().is_string()) uses[normalize_answer(value.value().get<std::string>())]++;
        if (value.value().is_array()) {
          for (const auto& v : value.value()) uses[normalize_answer(v.get<std::string>())]++;
        }
      }
    }
    std::vector<Case> out;
    for (const Case& item : cases_) {
      std::string answer = normalize_answer(item.expected["answer"].get<std::string>());
      std::size_t words = word_count(answer);
      if (in_split(item, split) && uses[answer] == 1 && words >= min_words &&
          words <= max_words && answer.size() >= kMinAnswerChars) {
        out.push_back(item);
      }
    }
    return out;
  }

  std::vector<Case> cases_of(Split split) const {
    std::vector<Case> out;
    for (const Case& item : cases_) {
      if (in_split(item, split)) out.push_back(item);
    }
    return out;
  }

 private:
  testing::TempDir dir_;
  std::optional<Workspace> workspace_;
  Tenant tenant_;
  std::vector<Case> cases_;
  SplitManifest manifest_;
  std::optional<ReviewContext> context_;
};

inline std::vector<const ReviewFinding*> findings_with(const ReviewReport& report,
                                                       const std::string& id) {
  std::vector<const ReviewFinding*> out;
  for (const ReviewFinding& finding : report.findings) {
    if (finding.id == id) out.push_back(&finding);
  }
  return out;
}

inline std::string ids_of(const ReviewReport& report) {
  std::vector<std::string> ids;
  for (const ReviewFinding& finding : report.findings) ids.push_back(finding.id);
  return join(ids, ",");
}

inline bool contains_ci(const std::string& text, const std::string& part) {
  return to_lower(text).find(to_lower(part)) != std::string::npos;
}

}  // namespace fapo::review_testing
