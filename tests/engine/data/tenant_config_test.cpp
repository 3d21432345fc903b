#include "engine/data/tenant_config.h"

#include <doctest/doctest.h>

#include <regex>

#include "engine/data/schema_check.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_text;

json minimal() { return json{{"tenant_id", "qa"}, {"scorer", {{"type", "exact_match"}}}}; }

TenantConfig parse_ok(const json& doc) {
  auto config = parse_tenant_config(doc, "tenants/qa/tenant.json");
  REQUIRE_MESSAGE(config.ok(), config.error().message);
  return *config;
}

std::string parse_error(const json& doc) {
  auto config = parse_tenant_config(doc, "tenants/qa/tenant.json");
  REQUIRE_FALSE(config.ok());
  CHECK(config.error().code == ErrorCode::kInvalidInput);
  return config.error().message;
}

// The tenant.json example of docs/tenant_format.md, made strict JSON: comments dropped and the
// elided sim rules replaced by an empty object.
json documented_example() {
  std::string doc = testing::read_text(testing::source_dir() / "docs" / "tenant_format.md");
  std::size_t start = doc.find("```json\n{\n  \"tenant_id\"");
  REQUIRE(start != std::string::npos);
  start += 8;
  std::string block = doc.substr(start, doc.find("```", start) - start);
  block = std::regex_replace(block, std::regex("//[^\n]*"), "");
  block = std::regex_replace(block, std::regex("\"sim\": \\{ \\.\\.\\. \\}"), "\"sim\": {}");
  return json::parse(block);
}

}  // namespace

TEST_CASE("a minimal tenant gets every documented default") {
  TenantConfig config = parse_ok(minimal());
  CHECK(config.tenant_id == "qa");
  CHECK(config.description.empty());
  const TaskModelConfig& model = config.task_model;
  CHECK(model.provider == "sim");
  CHECK(model.model == "sim-1");
  CHECK_FALSE(model.base_url.has_value());
  CHECK_FALSE(model.api_key_env.has_value());
  CHECK(model.temperature == 1.0);
  CHECK(model.top_p == 0.95);
  CHECK(model.max_tokens == 1024);
  CHECK(model.timeout_s == 60);
  CHECK(model.retries == 4);
  CHECK(model.concurrency == 8);
  CHECK(model.requests_per_minute == 0);
  CHECK(model.tokens_per_minute == 0);
  CHECK_FALSE(model.seed.has_value());
  CHECK(model.prices.input_per_mtok == 0);
  CHECK(config.frozen == std::vector<std::string>{"model", "temperature", "top_p", "max_tokens"});
  CHECK(config.is_frozen("top_p"));
  CHECK_FALSE(config.is_frozen("seed"));
  CHECK(config.splits.train == 0.2);
  CHECK(config.splits.validation == 0.4);
  CHECK(config.splits.test == 0.4);
  CHECK(config.splits.seed == 1);
  CHECK(config.splits.stratify == std::optional<std::string>("task_type"));
  CHECK_FALSE(config.splits.files.has_value());
  CHECK(config.scorer == json{{"type", "exact_match"}});
  CHECK(config.success.metric == "composite_score");
  CHECK(config.success.target == 80);
  CHECK(config.scope.levels == std::vector<std::string>{"prompt", "parameter", "structural"});
  CHECK(config.scope.editable_steps == std::vector<std::string>{"*"});
  CHECK(config.budget.task_calls == 20000);
  CHECK(config.budget.task_tokens == 20000000);
  CHECK(config.budget.variants == 30);
  CHECK(config.budget.validation_evaluations == 20);
  CHECK(config.budget.final_test_reserve == 0.1);
  CHECK(config.acceptance.trials == 3);
  CHECK(config.acceptance.min_effect == 2.0);
  CHECK(config.acceptance.confidence == 0.95);
  CHECK(config.raw == minimal());
}

TEST_CASE("the defaults in code are the defaults the schema documents") {
  auto checker = SchemaChecker::from_embedded("tenant.schema.json");
  REQUIRE(checker.ok());
  const json& schema = checker->schema();
  json effective = to_json(parse_ok(minimal()));
  int compared = 0;
  for (const auto& [name, property] : schema.at("properties").items()) {
    if (property.contains("default")) {
      CHECK_MESSAGE(effective.at(name) == property.at("default"), name);
      ++compared;
    }
  }
  for (const char* section : {"task_model", "splits", "success", "scope", "budget", "acceptance"}) {
    for (const auto& [name, property] : schema.at("$defs").at(section).at("properties").items()) {
      if (!property.contains("default")) continue;
      CHECK_MESSAGE(effective.at(section).at(name) == property.at("default"),
                    section << "." << name);
      ++compared;
    }
  }
  CHECK(compared >= 35);
}

TEST_CASE("the documented tenant.json example is valid and reads as written") {
  TenantConfig config = parse_ok(documented_example());
  CHECK(config.tenant_id == "multihop_qa");
  CHECK(config.description == "free text");
  CHECK(to_json(config).at("task_model") == documented_example().at("task_model"));
}

TEST_CASE("rejects a typo'd field with a suggestion instead of using a default") {
  json doc = minimal();
  doc["task_model"] = {{"temprature", 0.2}};
  doc["aceptance"] = {{"trials", 5}};
  std::string message = parse_error(doc);
  CHECK(message.find("tenants/qa/tenant.json: field 'task_model': unknown field 'temprature' "
                     "(did you mean 'temperature'?)") != std::string::npos);
  CHECK(message.find("tenants/qa/tenant.json: unknown field 'aceptance' (did you mean "
                     "'acceptance'?)") != std::string::npos);
}

TEST_CASE("keeps the sim section as written, whatever it holds") {
  json doc = minimal();
  doc["sim"] = {{"rules", json::array({{{"when", "anything"}, {"reply", 3}}})}, {"x", 1}};
  TenantConfig config = parse_ok(doc);
  CHECK(config.sim == doc["sim"]);
}

TEST_CASE("split fractions must sum to 1 within 1e-6") {
  json doc = minimal();
  doc["splits"] = {{"train", 0.2}, {"validation", 0.3}, {"test", 0.4}};
  CHECK(parse_error(doc) ==
        "tenants/qa/tenant.json: field 'splits': train + validation + test must sum to 1, got 0.9");
  doc["splits"] = {{"train", 0.2}, {"validation", 0.4}, {"test", 0.4000005}};
  CHECK(parse_ok(doc).splits.test == 0.4000005);
  doc["splits"] = {{"train", 0.5}};  // the others keep their defaults: 0.5 + 0.4 + 0.4
  CHECK(parse_error(doc).find("must sum to 1, got 1.3") != std::string::npos);
}

TEST_CASE("explicit split files replace the fractions") {
  json doc = minimal();
  doc["splits"] = {{"train", 0.9},
                   {"files", {{"train", "s/tr.txt"}, {"validation", "s/va.txt"}, {"test", "s/te.txt"}}}};
  TenantConfig config = parse_ok(doc);
  REQUIRE(config.splits.files.has_value());
  CHECK(config.splits.files->validation == "s/va.txt");
}

TEST_CASE("stratify must name task_type or a metadata key") {
  json doc = minimal();
  doc["splits"] = {{"stratify", "difficulty"}};
  CHECK(parse_error(doc) ==
        "tenants/qa/tenant.json: field 'splits.stratify': must be \"task_type\", "
        "\"metadata.<key>\" or null, got 'difficulty' (for a metadata field write "
        "\"metadata.difficulty\")");
  doc["splits"] = {{"stratify", "metadata.difficulty"}};
  CHECK(parse_ok(doc).splits.stratify == std::optional<std::string>("metadata.difficulty"));
  doc["splits"] = {{"stratify", nullptr}};
  CHECK_FALSE(parse_ok(doc).splits.stratify.has_value());
}

TEST_CASE("reports schema and semantic problems together") {
  json doc = minimal();
  doc["tenant_id"] = "Multi Hop";
  doc["splits"] = {{"train", 0.5}, {"stratify", "level"}};
  doc["frozen"] = {"model", "temprature"};
  std::string message = parse_error(doc);
  CHECK(message.find("field 'tenant_id': must match the pattern") != std::string::npos);
  CHECK(message.find("field 'frozen[1]': must be one of") != std::string::npos);
  CHECK(message.find("must sum to 1, got 1.3") != std::string::npos);
  CHECK(message.find("field 'splits.stratify'") != std::string::npos);
}

TEST_CASE("load_tenant_config requires tenant_id to equal the directory name") {
  TempDir dir;
  write_text(dir.path() / "tenants" / "qa" / "tenant.json", minimal().dump(2));
  auto good = load_tenant_config(dir.path() / "tenants" / "qa" / "tenant.json", "tenants/qa/tenant.json");
  REQUIRE_MESSAGE(good.ok(), good.error().message);
  CHECK(good->tenant_id == "qa");

  write_text(dir.path() / "tenants" / "other" / "tenant.json", minimal().dump(2));
  auto moved = load_tenant_config(dir.path() / "tenants" / "other" / "tenant.json",
                                  "tenants/other/tenant.json");
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.error().message ==
        "tenants/other/tenant.json: field 'tenant_id': is 'qa' but the tenant directory is "
        "'other'; they must be equal (rename one of them)");
}

TEST_CASE("load_tenant_config names a missing file and the line of a JSON syntax error") {
  TempDir dir;
  auto missing = load_tenant_config(dir.path() / "qa" / "tenant.json", "tenants/qa/tenant.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message == "tenants/qa/tenant.json: file not found");

  write_text(dir.path() / "qa" / "tenant.json", "{\n  \"tenant_id\": \"qa\",\n  \"scorer\": {,\n}\n");
  auto broken = load_tenant_config(dir.path() / "qa" / "tenant.json", "tenants/qa/tenant.json");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == ErrorCode::kInvalidInput);
  CHECK(broken.error().message.find("tenants/qa/tenant.json:3: invalid JSON at column ") == 0);
}

}  // namespace fapo
