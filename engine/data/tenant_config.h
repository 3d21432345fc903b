// A tenant's configuration (tenants/<tenant_id>/tenant.json) as typed values, with every
// default of docs/tenant_format.md filled in. Loading checks the file against
// schemas/tenant.schema.json (unknown fields are rejected, so a typo never silently becomes a
// default) and then the rules a schema cannot say: split fractions sum to 1, the stratify key
// names a case field, the tenant id equals the directory name. All problems come back at once.
//
// Plain values: safe to share between threads once loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"

namespace fapo {

namespace fs = std::filesystem;

struct ModelPrices {
  double input_per_mtok = 0;  // money per million input tokens
  double output_per_mtok = 0;
};

struct TaskModelConfig {
  std::string provider = "sim";  // "sim" | "openai" | "anthropic"
  std::string model = "sim-1";
  std::optional<std::string> base_url;
  std::optional<std::string> api_key_env;  // name of the variable holding the key, never the key
  double temperature = 1.0;
  double top_p = 0.95;
  int max_tokens = 1024;
  double timeout_s = 60;
  int retries = 4;
  int concurrency = 8;
  std::int64_t requests_per_minute = 0;  // 0 = unlimited
  std::int64_t tokens_per_minute = 0;    // 0 = unlimited
  std::optional<std::int64_t> seed;
  ModelPrices prices;
};

struct SplitFiles {
  std::string train;  // paths relative to the tenant directory
  std::string validation;
  std::string test;
};

struct SplitsConfig {
  double train = 0.2;
  double validation = 0.4;
  double test = 0.4;
  std::uint64_t seed = 1;
  std::optional<std::string> stratify = "task_type";  // "task_type", "metadata.<key>", or none
  std::optional<SplitFiles> files;                      // explicit split files instead
};

struct SuccessConfig {
  std::string metric = "composite_score";
  double target = 80;
};

struct ScopeConfig {
  std::vector<std::string> levels = {"prompt", "parameter", "structural"};
  std::vector<std::string> editable_steps = {"*"};
  nlohmann::json parameter_ranges = nlohmann::json::object();  // read by the variant checks
};

struct BudgetConfig {
  std::int64_t task_calls = 20000;
  std::int64_t judge_calls = 20000;  // calls of an LLM judge scorer (the judge role)
  std::int64_t task_tokens = 20000000;
  double task_money = 0;  // 0 = no money cap (the simulated model costs nothing)
  int variants = 30;
  int validation_evaluations = 20;
  double final_test_reserve = 0.1;  // fraction of every budget kept for final_test
};

struct AcceptanceConfig {
  int trials = 3;
  double min_effect = 2.0;  // composite points
  double confidence = 0.95;
};

// An external tool server (an MCP server spoken to over stdio) a react step may use.
struct ToolServerConfig {
  std::string name;     // unique among the tenant's servers; names it in traces and messages
  std::string command;  // a path relative to the tenant directory, or a program found on PATH
  std::vector<std::string> args;
  // Added to a minimal environment (PATH, HOME, LANG): the server sees no other variable, so
  // API keys of the task model never reach it.
  std::map<std::string, std::string> env;
  // Variables passed through from fapo's own environment by name (a key the server needs), so
  // their values are never written in tenant files; a missing one fails the server's start.
  std::vector<std::string> pass_env;
  std::vector<std::string> allowed_tools;  // the only tools of the server a chain may offer
  std::string sharing = "shared";  // "shared": one process for every case; "per_worker"
  double startup_timeout_s = 30;   // start, initialize and list tools
  int max_restarts = 3;            // restarts after a crash or a hung call, per run
};

struct ToolsConfig {
  bool search = true;  // the built-in corpus search ("search"), when the tenant has a corpus
  std::vector<ToolServerConfig> servers;
};

struct TenantConfig {
  std::string tenant_id;
  std::string description;
  TaskModelConfig task_model;
  std::vector<std::string> frozen = {"model", "temperature", "top_p", "max_tokens"};
  SplitsConfig splits;
  nlohmann::json scorer;  // has "type"; the rest is read by make_scorer
  SuccessConfig success;
  ScopeConfig scope;
  BudgetConfig budget;
  AcceptanceConfig acceptance;
  ToolsConfig tools;
  nlohmann::json sim = nlohmann::json::object();  // raw rules of the simulated model
  nlohmann::json raw;                             // the file as written

  bool is_frozen(const std::string& setting) const;
};

// Checks `doc` (schema and semantic rules) and builds the typed configuration. `file` names
// the source in messages. Does not compare tenant_id with a directory (see load_tenant_config).
Result<TenantConfig> parse_tenant_config(const nlohmann::json& doc, const std::string& file);

// Reads, checks and builds tenants/<id>/tenant.json; also requires tenant_id to equal the name
// of the directory holding the file. kNotFound when the file is missing; kInvalidInput listing
// every problem otherwise ("tenants/qa/tenant.json: field 'splits': train + validation + test
// must sum to 1, got 0.9").
Result<TenantConfig> load_tenant_config(const fs::path& tenant_json,
                                        const std::string& display_name);

// The rules beyond the schema, for a document that may also break the schema (each rule
// looks only at fields of the right type). Empty when all hold.
Diagnostics check_tenant_semantics(const nlohmann::json& doc, const std::string& file);

// The effective configuration (defaults filled in) in the tenant.json layout, without `raw`.
// Used to record what a run used and to show it.
nlohmann::json to_json(const TenantConfig& config);
nlohmann::json to_json(const TaskModelConfig& config);

}  // namespace fapo
