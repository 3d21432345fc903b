#include "engine/variant/variant_store.h"

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "engine/base/files.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr char kTenant[] = "multihop_qa";

// A private workspace with a copy of the example tenant, loaded.
struct Fixture {
  Fixture() {
    testing::copy_tenant(kTenant, dir.path());
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    workspace = std::make_unique<Workspace>(*opened);
    auto loaded = load_tenant(*workspace, kTenant);
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
    tenant = std::make_unique<Tenant>(std::move(loaded).value());
  }
  VariantStore store() {
    auto opened = VariantStore::open(*workspace, *tenant);
    REQUIRE(opened.ok());
    return std::move(opened).value();
  }
  std::string baseline_id() {
    auto store_now = store();
    auto baseline = store_now.ensure_baseline();
    REQUIRE(baseline.ok());
    return baseline->variant_id;
  }
  std::string prompt(const std::string& file) { return tenant->baseline.prompts.at(file); }

  TempDir dir;
  std::unique_ptr<Workspace> workspace;
  std::unique_ptr<Tenant> tenant;
};

VariantEdits prompt_edit(const std::string& file, const std::string& text) {
  VariantEdits edits;
  edits.prompts[file] = text;
  return edits;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool has_only(fs::perms perms, fs::perms allowed) {
  return (perms & fs::perms::all) == allowed;
}

TEST_CASE("stores the baseline as v000 once, read-only, under its content hash") {
  Fixture f;
  VariantStore store = f.store();
  auto first = store.ensure_baseline();
  REQUIRE(first.ok());
  CHECK(first->name == "v000");
  CHECK(first->level == Level::kBaseline);
  CHECK(first->parent_id.empty());
  CHECK(first->variant_id == f.tenant->baseline.content_hash());
  auto again = store.ensure_baseline();
  REQUIRE(again.ok());
  CHECK(again->name == "v000");
  const fs::path dir = f.workspace->variant_dir(kTenant, first->variant_id);
  CHECK(has_only(fs::status(dir).permissions(), fs::perms(0555)));
  CHECK(has_only(fs::status(dir / "chain.json").permissions(), fs::perms(0444)));
  CHECK(has_only(fs::status(dir / "prompts" / "answer.md").permissions(), fs::perms(0444)));
  auto loaded = load_pipeline(dir, "stored");
  REQUIRE(loaded.ok());
  CHECK(loaded->content_hash() == first->variant_id);
}

TEST_CASE("a changed tenant baseline is stored under the next name, still as a baseline") {
  Fixture f;
  const std::string first = f.baseline_id();
  testing::write_text(f.dir.path() / "tenants" / kTenant / "prompts" / "answer.md",
                      "User: ${question}\nAnswer briefly.");
  auto reloaded = load_tenant(*f.workspace, kTenant);
  REQUIRE(reloaded.ok());
  *f.tenant = std::move(reloaded).value();
  auto changed = f.store().ensure_baseline();
  REQUIRE(changed.ok());
  CHECK(changed->name == "v001");
  CHECK(changed->level == Level::kBaseline);
  CHECK(changed->variant_id != first);
  CHECK(f.store().find("baseline")->name == "v001");
}

TEST_CASE("a prompt edit becomes v001 at the prompt level and identical content is refused") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  VariantEdits edits = prompt_edit("answer.md", f.prompt("answer.md") + "\nAnswer in a few words.");
  auto proposed = store.propose(baseline, edits, "short answers match the expected form");
  REQUIRE_MESSAGE(proposed.ok(), (proposed.ok() ? "" : proposed.error().message));
  CHECK(proposed->name == "v001");
  CHECK(proposed->level == Level::kPrompt);
  CHECK(proposed->parent_id == baseline);
  CHECK(proposed->edited_steps == std::vector<std::string>{"answer"});
  CHECK(proposed->hypothesis == "short answers match the expected form");

  auto duplicate = store.propose(baseline, edits, "the same again");
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().code == ErrorCode::kConflict);
  CHECK(duplicate.error().message.find("already stored as variant v001") != std::string::npos);

  auto back_to_parent = store.propose(proposed->variant_id,
                                      prompt_edit("answer.md", f.prompt("answer.md")), "undo");
  REQUIRE_FALSE(back_to_parent.ok());
  CHECK(back_to_parent.error().message.find("variant v000") != std::string::npos);
}

TEST_CASE("parameter edits are checked against the chain and the frozen settings") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  VariantEdits k;
  k.parameters = {{"hop1", {{"k", 4}}}};
  auto proposed = store.propose(baseline, k, "more passages reach the summary");
  REQUIRE_MESSAGE(proposed.ok(), (proposed.ok() ? "" : proposed.error().message));
  CHECK(proposed->level == Level::kParameter);
  CHECK(proposed->changes[0] == json{{"kind", "parameter"}, {"step", "hop1"}, {"field", "k"},
                                     {"from", 2}, {"to", 4}});

  VariantEdits unknown_step;
  unknown_step.parameters = {{"hop_1", {{"k", 4}}}};
  auto refused = store.propose(baseline, unknown_step, "typo");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kInvalidInput);
  CHECK(refused.error().message.find("the chain has no step 'hop_1' (did you mean 'hop1'?)") !=
        std::string::npos);

  VariantEdits unknown_field;
  unknown_field.parameters = {{"hop1", {{"top_k", 4}}}};
  refused = store.propose(baseline, unknown_field, "typo");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("'top_k' is not a parameter of retrieve step 'hop1'") !=
        std::string::npos);

  VariantEdits frozen;
  frozen.parameters = {{"answer", {{"temperature", 0.0}}}};
  refused = store.propose(baseline, frozen, "lower temperature");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("'temperature' is frozen by the tenant") != std::string::npos);

  VariantEdits out_of_range;
  out_of_range.parameters = {{"hop1", {{"k", 500}}}};
  refused = store.propose(baseline, out_of_range, "many passages");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("steps[0].k': must be between 1 and 50, got 500") !=
        std::string::npos);
}

TEST_CASE("a broken candidate is refused with every problem listed and nothing stored") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  VariantEdits edits;
  edits.prompts["answer.md"] = "User: ${questoin}";
  edits.prompts["summarize.md"] = "User: ${steps.nowhere.output}";
  edits.prompts["extra.md"] = "User: unused";
  auto refused = store.propose(baseline, edits, "broken");
  REQUIRE_FALSE(refused.ok());
  const std::string& message = refused.error().message;
  CHECK(message.find("no llm step of the chain uses 'extra.md'") != std::string::npos);

  edits.prompts.erase("extra.md");
  refused = store.propose(baseline, edits, "broken");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("questoin") != std::string::npos);
  CHECK(refused.error().message.find("nowhere") != std::string::npos);
  CHECK(refused.error().message.find("was not stored") != std::string::npos);
  auto all = store.list();
  REQUIRE(all.ok());
  CHECK(all->size() == 1);
}

TEST_CASE("a new chain is structural and may bring a new prompt file") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  json chain = f.tenant->baseline.chain.raw;
  chain["steps"].insert(chain["steps"].begin() + 4,
                        json{{"id", "notes2"}, {"kind", "llm"}, {"prompt", "notes2.md"}});
  VariantEdits edits;
  edits.chain = chain;
  auto missing = store.propose(baseline, edits, "second summary");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("give its text in prompts") != std::string::npos);

  edits.prompts["notes2.md"] = "User: Summarize ${steps.hop2.output}";
  auto proposed = store.propose(baseline, edits, "second summary");
  REQUIRE_MESSAGE(proposed.ok(), (proposed.ok() ? "" : proposed.error().message));
  CHECK(proposed->level == Level::kStructural);
  CHECK(proposed->edited_steps == std::vector<std::string>{"notes2"});
  auto pipeline = store.load_pipeline(proposed->variant_id);
  REQUIRE(pipeline.ok());
  CHECK(pipeline->prompts.count("notes2.md") == 1);

  json escaping = f.tenant->baseline.chain.raw;
  escaping["steps"][4]["prompt"] = "../../../tenant.json";
  VariantEdits traversal;
  traversal.chain = escaping;
  traversal.prompts["../../../tenant.json"] = "User: ${question}";
  auto refused = store.propose(baseline, traversal, "escape");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("must be a plain file name") != std::string::npos);
}

TEST_CASE("a malformed new chain is reported with its fields, never thrown") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  VariantEdits edits;
  json steps = json::array();
  steps.push_back({{"id", 5}, {"kind", json::array()}});
  steps.push_back({{"id", "a"}, {"kind", "retrieve"}, {"query", "${question}"}});
  edits.chain = json{{"steps", steps}, {"output", 7}};
  edits.parameters = {{"a", {{"k", 2.5}}}};
  auto refused = store.propose(baseline, edits, "malformed");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kInvalidInput);
  CHECK(refused.error().message.find("parameters.a.k: must be an integer") != std::string::npos);
  CHECK(refused.error().message.find("steps[0]") != std::string::npos);
}

TEST_CASE("finds variants by id, prefix, name and baseline and refuses paths") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  auto v1 = store.propose(baseline, prompt_edit("answer.md", "User: ${question} briefly"), "brief");
  REQUIRE(v1.ok());
  CHECK(store.find("v001")->variant_id == v1->variant_id);
  CHECK(store.find(v1->variant_id)->name == "v001");
  CHECK(store.find(v1->variant_id.substr(0, 8))->name == "v001");
  CHECK(store.find(upper(v1->variant_id.substr(0, 12)))->name == "v001");
  CHECK(store.find("baseline")->name == "v000");

  auto short_prefix = store.find(v1->variant_id.substr(0, 5));
  REQUIRE_FALSE(short_prefix.ok());
  CHECK(short_prefix.error().message.find("too short") != std::string::npos);
  auto missing = store.find("v007");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("the latest is v001") != std::string::npos);
  for (std::string bad : {"../v001", "v001/../../x", "/etc/passwd", "..", ""}) {
    auto refused = store.find(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::kInvalidInput);
  }
}

TEST_CASE("concurrent proposals get distinct names") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  constexpr int kProposals = 8;
  std::vector<std::string> names(kProposals);
  std::vector<std::thread> threads;
  for (int i = 0; i < kProposals; ++i) {
    threads.emplace_back([&, i] {
      VariantStore store = f.store();
      auto proposed = store.propose(
          baseline, prompt_edit("answer.md", "User: ${question} variant " + std::to_string(i)),
          "variant " + std::to_string(i));
      if (proposed.ok()) names[i] = proposed->name;
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> distinct(names.begin(), names.end());
  CHECK(distinct.size() == kProposals);
  CHECK(distinct.count("v001") == 1);
  CHECK(distinct.count("v008") == 1);
  CHECK(distinct.count("") == 0);
}

TEST_CASE("exports inside the workspace, never over existing files nor outside") {
  Fixture f;
  const std::string baseline = f.baseline_id();
  VariantStore store = f.store();
  auto files = store.export_to(baseline, "exported/v000");
  REQUIRE_MESSAGE(files.ok(), (files.ok() ? "" : files.error().message));
  CHECK(std::count(files->begin(), files->end(), "exported/v000/chain.json") == 1);
  CHECK(std::count(files->begin(), files->end(), "exported/v000/prompts/answer.md") == 1);
  auto reloaded = load_pipeline(f.dir.path() / "exported/v000", "exported/v000");
  REQUIRE(reloaded.ok());
  CHECK(reloaded->content_hash() == baseline);

  auto again = store.export_to(baseline, "exported/v000");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::kConflict);
  CHECK(again.error().message.find("would overwrite") != std::string::npos);

  for (std::string bad : {"../outside", "/tmp/fapo-export", ".fapo/x", "tenants/../../x"}) {
    auto refused = store.export_to(baseline, bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::kInvalidInput);
  }
}

}  // namespace
}  // namespace fapo
