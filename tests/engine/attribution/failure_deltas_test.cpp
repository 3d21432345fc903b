#include "engine/attribution/failure_deltas.h"

#include <doctest/doctest.h>

#include "engine/base/files.h"
#include "engine/run/evaluator.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr char kTenant[] = "multihop_qa";

// A workspace with multihop_qa and, in variants/brief, its pipeline with an answer prompt that
// asks for the answer alone and forbids hedging (fixing the verbose and hedged answers).
struct Fixture {
  testing::TempDir dir;
  Workspace workspace = open();

  Workspace open() {
    testing::copy_tenant(kTenant, dir.path());
    const fs::path tenant = dir.path() / "tenants" / kTenant;
    const fs::path variant = dir.path() / "variants" / "brief";
    fs::create_directories(variant);
    fs::copy(tenant / "chain.json", variant / "chain.json");
    fs::copy(tenant / "prompts", variant / "prompts", fs::copy_options::recursive);
    std::string answer = testing::read_text(variant / "prompts" / "answer.md");
    testing::write_text(variant / "prompts" / "answer.md",
                        answer + "Give only the answer, no explanation. Always answer.\n");
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    return *opened;
  }

  std::string run(const std::string& split, const std::string& variant_dir = "") {
    EvalRequest request;
    request.tenant_id = kTenant;
    request.split = split;
    request.variant_dir = variant_dir;
    auto summary = evaluate(workspace, request);
    REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message));
    return summary->run_id;
  }
};

const json* find_row(const json& rows, const std::string& failure_class) {
  for (const json& row : rows) {
    if (row["class"] == failure_class) return &row;
  }
  return nullptr;
}

TEST_CASE("a run against itself has the same failures on both sides and no difference") {
  Fixture fixture;
  const std::string run_id = fixture.run("train");
  auto deltas = failure_count_deltas(fixture.workspace, kTenant, {run_id}, {run_id});
  REQUIRE_MESSAGE(deltas.ok(), (deltas.ok() ? "" : deltas.error().message));
  CHECK((*deltas)["split"] == "train");
  CHECK((*deltas)["candidate"] == (*deltas)["incumbent"]);
  CHECK((*deltas)["candidate"]["failed_cases"].get<int>() > 0);
  REQUIRE_FALSE((*deltas)["classes"].empty());
  double failures = 0;
  for (const json& row : (*deltas)["classes"]) {
    CHECK(row["delta"] == 0);
    failures += row["candidate"].get<double>();
  }
  CHECK(failures == (*deltas)["candidate"]["failed_cases"].get<double>());
  for (const json& row : (*deltas)["steps"]) {
    CHECK(row["delta"] == 0);
    CHECK(row["step"] != "*");  // train rows are never folded
  }
}

TEST_CASE("a brief, never-hedging answer prompt shows as fewer format failures at the answer") {
  Fixture fixture;
  const std::string baseline = fixture.run("train");
  const std::string brief = fixture.run("train", "variants/brief");
  auto deltas = failure_count_deltas(fixture.workspace, kTenant, {brief}, {baseline});
  REQUIRE(deltas.ok());
  const json* format = find_row((*deltas)["classes"], "format");
  REQUIRE(format != nullptr);
  CHECK((*format)["delta"].get<double>() < 0);
  CHECK((*format)["incumbent"].get<double>() > (*format)["candidate"].get<double>());
  CHECK((*deltas)["candidate"]["failed_cases"].get<int>() <
        (*deltas)["incumbent"]["failed_cases"].get<int>());
}

TEST_CASE("sides with different numbers of runs compare failures per run") {
  Fixture fixture;
  const std::string first = fixture.run("train");
  const std::string second = fixture.run("train");
  auto deltas = failure_count_deltas(fixture.workspace, kTenant, {first, second}, {first});
  REQUIRE(deltas.ok());
  CHECK((*deltas)["candidate"]["runs"] == 2);
  CHECK((*deltas)["candidate"]["failed_cases"].get<int>() ==
        2 * (*deltas)["incumbent"]["failed_cases"].get<int>());
  for (const json& row : (*deltas)["classes"]) CHECK(row["delta"] == 0);
}

TEST_CASE("validation counts fold small step groups and name no case") {
  Fixture fixture;
  const std::string baseline = fixture.run("validation");
  const std::string brief = fixture.run("validation", "variants/brief");
  auto deltas = failure_count_deltas(fixture.workspace, kTenant, {brief}, {baseline});
  REQUIRE_MESSAGE(deltas.ok(), (deltas.ok() ? "" : deltas.error().message));
  CHECK((*deltas)["split"] == "validation");
  for (const json& row : (*deltas)["steps"]) {
    if (row["step"] == "*") continue;
    CHECK(std::max(row["candidate"].get<double>(), row["incumbent"].get<double>()) >= 5);
  }
  CHECK(deltas->dump().find("\"mh0") == std::string::npos);
}

TEST_CASE("refuses an empty side, runs of different splits and test runs") {
  Fixture fixture;
  const std::string train = fixture.run("train");
  auto empty = failure_count_deltas(fixture.workspace, kTenant, {}, {train});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == ErrorCode::kInvalidInput);
  CHECK(empty.error().message.find("candidate side has no run") != std::string::npos);

  const std::string validation = fixture.run("validation");
  auto mixed = failure_count_deltas(fixture.workspace, kTenant, {train}, {validation});
  REQUIRE_FALSE(mixed.ok());
  CHECK(mixed.error().code == ErrorCode::kInvalidInput);
  CHECK(mixed.error().message.find("runs of one split") != std::string::npos);

  const std::string test = fixture.run("test");
  auto sealed = failure_count_deltas(fixture.workspace, kTenant, {test}, {test});
  REQUIRE_FALSE(sealed.ok());
  CHECK(sealed.error().message.find("final_test") != std::string::npos);

  auto unknown =
      failure_count_deltas(fixture.workspace, kTenant, {train}, {"r20990101-000000-abcdef"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fapo
