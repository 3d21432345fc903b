#include "engine/data/tenant_config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/data/schema_check.h"
#include "engine/data/schema_messages.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr double kFractionTolerance = 1e-6;

// The member `key` of `object` when present with a usable type, else nullptr. The typed build
// runs only on schema-valid documents, so these reads cannot fail there.
const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

template <typename T>
void read(const json& object, const char* key, T& out) {
  if (const json* value = member(object, key)) out = value->get<T>();
}

template <typename T>
void read_optional(const json& object, const char* key, std::optional<T>& out) {
  if (!object.is_object() || !object.contains(key)) return;  // absent: keep the default
  const json& value = object.at(key);
  if (value.is_null()) {
    out.reset();
  } else {
    out = value.get<T>();
  }
}

TaskModelConfig task_model_from(const json& doc) {
  TaskModelConfig config;
  read(doc, "provider", config.provider);
  read(doc, "model", config.model);
  read_optional(doc, "base_url", config.base_url);
  read_optional(doc, "api_key_env", config.api_key_env);
  read(doc, "temperature", config.temperature);
  read(doc, "top_p", config.top_p);
  read(doc, "max_tokens", config.max_tokens);
  read(doc, "timeout_s", config.timeout_s);
  read(doc, "retries", config.retries);
  read(doc, "concurrency", config.concurrency);
  read(doc, "requests_per_minute", config.requests_per_minute);
  read(doc, "tokens_per_minute", config.tokens_per_minute);
  read_optional(doc, "seed", config.seed);
  if (const json* prices = member(doc, "prices")) {
    read(*prices, "input_per_mtok", config.prices.input_per_mtok);
    read(*prices, "output_per_mtok", config.prices.output_per_mtok);
  }
  return config;
}

SplitsConfig splits_from(const json& doc) {
  SplitsConfig config;
  read(doc, "train", config.train);
  read(doc, "validation", config.validation);
  read(doc, "test", config.test);
  read(doc, "seed", config.seed);
  read_optional(doc, "stratify", config.stratify);
  if (const json* files = member(doc, "files")) {
    config.files = SplitFiles{files->at("train").get<std::string>(),
                              files->at("validation").get<std::string>(),
                              files->at("test").get<std::string>()};
  }
  return config;
}

ToolsConfig tools_from(const json& doc) {
  ToolsConfig config;
  read(doc, "search", config.search);
  if (const json* servers = member(doc, "servers")) {
    for (const json& item : *servers) {
      ToolServerConfig server;
      read(item, "name", server.name);
      read(item, "command", server.command);
      read(item, "args", server.args);
      read(item, "env", server.env);
      read(item, "pass_env", server.pass_env);
      read(item, "allowed_tools", server.allowed_tools);
      read(item, "sharing", server.sharing);
      read(item, "startup_timeout_s", server.startup_timeout_s);
      read(item, "max_restarts", server.max_restarts);
      config.servers.push_back(std::move(server));
    }
  }
  return config;
}

json to_json(const ToolsConfig& config) {
  json servers = json::array();
  for (const ToolServerConfig& server : config.servers) {
    servers.push_back({{"name", server.name},
                       {"command", server.command},
                       {"args", server.args},
                       {"env", server.env},
                       {"pass_env", server.pass_env},
                       {"allowed_tools", server.allowed_tools},
                       {"sharing", server.sharing},
                       {"startup_timeout_s", server.startup_timeout_s},
                       {"max_restarts", server.max_restarts}});
  }
  return {{"search", config.search}, {"servers", servers}};
}

TenantConfig build(const json& doc) {
  TenantConfig config;
  config.raw = doc;
  read(doc, "tenant_id", config.tenant_id);
  read(doc, "description", config.description);
  if (const json* value = member(doc, "task_model")) config.task_model = task_model_from(*value);
  read(doc, "frozen", config.frozen);
  if (const json* value = member(doc, "splits")) config.splits = splits_from(*value);
  config.scorer = doc.at("scorer");
  if (const json* value = member(doc, "success")) {
    read(*value, "metric", config.success.metric);
    read(*value, "target", config.success.target);
  }
  if (const json* value = member(doc, "scope")) {
    read(*value, "levels", config.scope.levels);
    read(*value, "editable_steps", config.scope.editable_steps);
    read(*value, "parameter_ranges", config.scope.parameter_ranges);
  }
  if (const json* value = member(doc, "budget")) {
    BudgetConfig& budget = config.budget;
    read(*value, "task_calls", budget.task_calls);
    read(*value, "judge_calls", budget.judge_calls);
    read(*value, "task_tokens", budget.task_tokens);
    read(*value, "task_money", budget.task_money);
    read(*value, "variants", budget.variants);
    read(*value, "validation_evaluations", budget.validation_evaluations);
    read(*value, "final_test_reserve", budget.final_test_reserve);
  }
  if (const json* value = member(doc, "tools")) config.tools = tools_from(*value);
  if (const json* value = member(doc, "acceptance")) {
    read(*value, "trials", config.acceptance.trials);
    read(*value, "min_effect", config.acceptance.min_effect);
    read(*value, "confidence", config.acceptance.confidence);
  }
  if (const json* value = member(doc, "sim")) config.sim = *value;
  return config;
}

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(12);  // enough to show why 0.9999 is not 1, short for 0.9
  out << value;
  return out.str();
}

// Fractions sum to 1 (unless explicit files replace them) and stratify names a case field.
void check_splits(const json& splits, const std::string& file, Diagnostics& out) {
  if (!splits.is_object()) return;
  const SplitsConfig defaults;
  const std::pair<const char*, double> kFractions[] = {
      {"train", defaults.train}, {"validation", defaults.validation}, {"test", defaults.test}};
  double sum = 0;
  bool numeric = true;  // a non-number is the schema's finding; a sum of it would mislead
  for (const auto& [name, fallback] : kFractions) {
    const json* value = member(splits, name);
    numeric = numeric && (value == nullptr || value->is_number());
    sum += value != nullptr && value->is_number() ? value->get<double>() : fallback;
  }
  if (member(splits, "files") == nullptr && numeric &&
      std::fabs(sum - 1.0) > kFractionTolerance) {
    out.push_back(Diagnostic{file, 0, "splits",
                             "train + validation + test must sum to 1, got " + format_number(sum)});
  }
  const json* stratify = member(splits, "stratify");
  if (stratify == nullptr || !stratify->is_string()) return;
  const std::string& key = stratify->get_ref<const std::string&>();
  const std::string prefix = "metadata.";
  if (key == "task_type" || (starts_with(key, prefix) && key.size() > prefix.size())) return;
  std::string message = "must be \"task_type\", \"metadata.<key>\" or null, got '" + key + "'";
  if (!key.empty() && key.find('.') == std::string::npos) {
    message += " (for a metadata field write \"metadata." + key + "\")";
  }
  out.push_back(Diagnostic{file, 0, "splits.stratify", message});
}

// Schema findings and semantic findings together, so one pass shows every problem.
Result<Diagnostics> tenant_problems(const json& doc, const std::string& file) {
  FAPO_ASSIGN_OR_RETURN(SchemaChecker checker, SchemaChecker::from_embedded("tenant.schema.json"));
  Diagnostics problems = checker.check(doc, file, 0);
  Diagnostics semantic = check_tenant_semantics(doc, file);
  problems.insert(problems.end(), semantic.begin(), semantic.end());
  return problems;
}

}  // namespace

bool TenantConfig::is_frozen(const std::string& setting) const {
  return std::find(frozen.begin(), frozen.end(), setting) != frozen.end();
}

Diagnostics check_tenant_semantics(const nlohmann::json& doc, const std::string& file) {
  Diagnostics out;
  if (const json* splits = member(doc, "splits")) check_splits(*splits, file, out);
  return out;
}

Result<TenantConfig> parse_tenant_config(const nlohmann::json& doc, const std::string& file) {
  FAPO_ASSIGN_OR_RETURN(Diagnostics problems, tenant_problems(doc, file));
  if (!problems.empty()) return diagnostics_error(problems);
  return build(doc);
}

Result<TenantConfig> load_tenant_config(const fs::path& tenant_json,
                                        const std::string& display_name) {
  auto text = read_file(tenant_json);
  if (!text.ok()) {
    bool missing = text.error().code == ErrorCode::kNotFound;
    return Error{text.error().code,
                 display_name + ": " + (missing ? "file not found" : "cannot be read")};
  }
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::parse_error& error) {
    return diagnostics_error({json_syntax_diagnostic(error, *text, display_name)});
  }
  FAPO_ASSIGN_OR_RETURN(Diagnostics problems, tenant_problems(doc, display_name));
  // The id names the tenant everywhere (tool arguments, .fapo/<id>/): it must be the directory.
  std::error_code ec;
  fs::path absolute = fs::absolute(tenant_json, ec);
  std::string directory = (ec ? tenant_json : absolute).parent_path().filename().string();
  const json* id = member(doc, "tenant_id");
  if (id != nullptr && id->is_string() && id->get_ref<const std::string&>() != directory) {
    problems.push_back(Diagnostic{display_name, 0, "tenant_id",
                                  "is '" + id->get<std::string>() +
                                      "' but the tenant directory is '" + directory +
                                      "'; they must be equal (rename one of them)"});
  }
  if (!problems.empty()) return diagnostics_error(problems);
  return build(doc);
}

nlohmann::json to_json(const TaskModelConfig& config) {
  auto optional = [](const auto& value) { return value ? json(*value) : json(nullptr); };
  return json{{"provider", config.provider},
              {"model", config.model},
              {"base_url", optional(config.base_url)},
              {"api_key_env", optional(config.api_key_env)},
              {"temperature", config.temperature},
              {"top_p", config.top_p},
              {"max_tokens", config.max_tokens},
              {"timeout_s", config.timeout_s},
              {"retries", config.retries},
              {"concurrency", config.concurrency},
              {"requests_per_minute", config.requests_per_minute},
              {"tokens_per_minute", config.tokens_per_minute},
              {"seed", optional(config.seed)},
              {"prices",
               {{"input_per_mtok", config.prices.input_per_mtok},
                {"output_per_mtok", config.prices.output_per_mtok}}}};
}

nlohmann::json to_json(const TenantConfig& config) {
  const SplitsConfig& splits = config.splits;
  json files = nullptr;
  if (splits.files) {
    files = {{"train", splits.files->train},
             {"validation", splits.files->validation},
             {"test", splits.files->test}};
  }
  const BudgetConfig& budget = config.budget;
  return json{
      {"tenant_id", config.tenant_id},
      {"description", config.description},
      {"task_model", to_json(config.task_model)},
      {"frozen", config.frozen},
      {"splits",
       {{"train", splits.train},
        {"validation", splits.validation},
        {"test", splits.test},
        {"seed", splits.seed},
        {"stratify", splits.stratify ? json(*splits.stratify) : json(nullptr)},
        {"files", files}}},
      {"scorer", config.scorer},
      {"success", {{"metric", config.success.metric}, {"target", config.success.target}}},
      {"scope",
       {{"levels", config.scope.levels},
        {"editable_steps", config.scope.editable_steps},
        {"parameter_ranges", config.scope.parameter_ranges}}},
      {"budget",
       {{"task_calls", budget.task_calls},
        {"judge_calls", budget.judge_calls},
        {"task_tokens", budget.task_tokens},
        {"task_money", budget.task_money},
        {"variants", budget.variants},
        {"validation_evaluations", budget.validation_evaluations},
        {"final_test_reserve", budget.final_test_reserve}}},
      {"acceptance",
       {{"trials", config.acceptance.trials},
        {"min_effect", config.acceptance.min_effect},
        {"confidence", config.acceptance.confidence}}},
      {"tools", to_json(config.tools)},
      {"sim", config.sim}};
}

}  // namespace fapo
