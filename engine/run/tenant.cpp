#include "engine/run/tenant.h"

#include <algorithm>
#include <limits>
#include <set>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/llm/http_model_client.h"
#include "engine/llm/metered_client.h"
#include "engine/llm/process_scheduler.h"
#include "engine/llm/sim_model.h"
#include "engine/retrieve/corpus.h"
#include "engine/tools/corpus_search.h"

namespace fapo {
namespace {

bool has_retrieve_step(const PipelineConfig& pipeline) {
  for (const StepDef* step : all_steps(pipeline.chain)) {
    if (step->kind == StepKind::kRetrieve) return true;
  }
  return false;
}

// A CachingClient that owns its cache, so the tenant's model can be handed around alone.
class CachedModel final : public ModelClient {
 public:
  CachedModel(std::unique_ptr<ResponseCache> cache, std::unique_ptr<ModelClient> inner,
              CachingClient::Options options)
      : cache_(std::move(cache)), client_(std::move(inner), cache_.get(), std::move(options)) {}
  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override {
    return client_.complete(request, context);
  }
  std::string provider() const override { return client_.provider(); }

 private:
  std::unique_ptr<ResponseCache> cache_;  // declared first: outlives client_
  CachingClient client_;
};

Result<std::shared_ptr<ModelClient>> make_http_model(const Workspace& workspace,
                                                     const Tenant& tenant,
                                                     const ModelOptions& options) {
  const ProviderConfig provider = task_provider_config(tenant.config.task_model);
  CallBindings bindings;
  bindings.run.cancelled = options.cancel;
  bindings.role = CostRole::kTask;
  bindings.on_call = note_call_attempts;
  auto client = make_provider_client(provider, process_scheduler(), bindings);
  if (!client.ok()) {
    // "environment variable X is not set (task_model.api_key_env)", a bad URL or range.
    return client.error().with_context(tenant.display_dir + "/tenant.json (tenant '" +
                                       tenant.id + "')");
  }
  if (options.cache_mode == CacheMode::kDisabled) {
    return std::shared_ptr<ModelClient>(std::move(*client));
  }
  auto cache = ResponseCache::open(workspace.cache_db_path(tenant.id));
  if (!cache.ok()) return cache.error().with_context("tenant '" + tenant.id + "'");
  CachingClient::Options cache_options{options.cache_mode, effective_base_url(provider), false};
  return std::shared_ptr<ModelClient>(std::make_shared<CachedModel>(
      std::move(*cache), std::move(*client), std::move(cache_options)));
}

Result<std::shared_ptr<ModelClient>> make_task_model(const Workspace& workspace,
                                                     const Tenant& tenant,
                                                     const ModelOptions& options) {
  const auto& model = tenant.config.task_model;
  if (model.provider == "sim") {
    auto sim = make_sim_model(tenant.config.sim, model.model);
    if (!sim.ok()) return sim.error().with_context(tenant.display_dir + "/tenant.json");
    return std::shared_ptr<ModelClient>(std::move(*sim));
  }
  if (model.provider == "openai" || model.provider == "anthropic") {
    return make_http_model(workspace, tenant, options);
  }
  return make_error(ErrorCode::kInvalidInput,
                    tenant.display_dir + "/tenant.json: field 'task_model.provider': provider '" +
                        model.provider + "' is not available (use sim, openai or anthropic)");
}

int clamp_to_int(std::int64_t value) {
  return static_cast<int>(std::min<std::int64_t>(value, std::numeric_limits<int>::max()));
}

Result<std::shared_ptr<const Bm25Index>> load_index(const fs::path& dir,
                                                    const std::string& display_dir) {
  FAPO_ASSIGN_OR_RETURN(std::vector<Passage> passages,
                        load_corpus(dir / "corpus.jsonl", display_dir + "/corpus.jsonl"));
  return std::make_shared<const Bm25Index>(Bm25Index::build(std::move(passages)));
}

// Errors from loaders already name their file and line in each message line; keep them whole.
void add_error(Diagnostics& out, const Error& error) {
  for (const std::string& line : split(error.message, '\n')) {
    if (!line.empty()) out.push_back({"", 0, "", line});
  }
}

}  // namespace

ProviderConfig task_provider_config(const TaskModelConfig& model) {
  ProviderConfig config;
  config.provider = model.provider;
  config.model = model.model;
  config.base_url = model.base_url.value_or("");
  config.api_key_env = model.api_key_env.value_or("");
  config.temperature = model.temperature;
  config.top_p = model.top_p;
  config.max_tokens = model.max_tokens;
  config.timeout_s = model.timeout_s;
  config.retries = model.retries;
  config.concurrency = model.concurrency;
  config.requests_per_minute = clamp_to_int(model.requests_per_minute);
  config.tokens_per_minute = clamp_to_int(model.tokens_per_minute);
  config.seed = model.seed;
  config.prices = Prices{model.prices.input_per_mtok, model.prices.output_per_mtok};
  config.config_path = "task_model";
  return config;
}

Diagnostics check_frozen(const Tenant& tenant, const PipelineConfig& pipeline,
                         const std::string& chain_file) {
  std::set<std::string> frozen(tenant.config.frozen.begin(), tenant.config.frozen.end());
  Diagnostics out;
  for (const StepDef* step : all_steps(pipeline.chain)) {
    auto check = [&](bool set, const char* name) {
      if (set && frozen.count(name)) {
        out.push_back({chain_file, 0, "step '" + step->id + "'." + name,
                       std::string("'") + name + "' is frozen by tenant.json (\"frozen\"): "
                       "remove it from the step or unfreeze it"});
      }
    };
    check(step->temperature.has_value(), "temperature");
    check(step->top_p.has_value(), "top_p");
    check(step->max_tokens.has_value(), "max_tokens");
  }
  return out;
}

std::set<std::string> declared_tool_names(const Tenant& tenant) {
  std::set<std::string> names;
  if (tenant.config.tools.search && tenant.index) names.insert(kSearchToolName);
  for (const ToolServerConfig& server : tenant.config.tools.servers) {
    names.insert(server.allowed_tools.begin(), server.allowed_tools.end());
  }
  return names;
}

Diagnostics check_react_tools(const Tenant& tenant, const PipelineConfig& pipeline,
                              const std::string& chain_file) {
  const std::set<std::string> declared = declared_tool_names(tenant);
  Diagnostics out;
  for (const StepDef* step : all_steps(pipeline.chain)) {
    if (step->kind != StepKind::kReact) continue;
    for (std::size_t i = 0; i < step->tools.size(); ++i) {
      if (declared.count(step->tools[i])) continue;
      const std::vector<std::string> known(declared.begin(), declared.end());
      auto hint = closest_match(step->tools[i], known);
      out.push_back({chain_file, 0, "step '" + step->id + "'.tools[" + std::to_string(i) + "]",
                     "no tool '" + step->tools[i] + "' is declared" +
                         (hint ? " (did you mean '" + *hint + "'?)" : "") + "; declared: " +
                         (known.empty() ? "none (enable tools.search with a corpus, or declare "
                                          "tools.servers in tenant.json)"
                                        : join(known, ", "))});
    }
  }
  return out;
}

Diagnostics check_tenant_rules(const Tenant& tenant, const PipelineConfig& pipeline,
                               const std::string& chain_file) {
  Diagnostics out = check_frozen(tenant, pipeline, chain_file);
  Diagnostics tools = check_react_tools(tenant, pipeline, chain_file);
  out.insert(out.end(), tools.begin(), tools.end());
  return out;
}

namespace {

// A tool name must name one tool: the built-in search or one server's tool.
Diagnostics check_tool_names(const Tenant& tenant) {
  std::map<std::string, std::string> owner;
  if (tenant.config.tools.search && tenant.index) owner[kSearchToolName] = "the built-in search";
  Diagnostics out;
  const auto& servers = tenant.config.tools.servers;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const std::string where = "tools.servers[" + std::to_string(i) + "]";
    for (std::size_t j = 0; j < i; ++j) {
      if (servers[j].name == servers[i].name) {
        out.push_back({tenant.display_dir + "/tenant.json", 0, where + ".name",
                       "server name '" + servers[i].name + "' is used twice"});
      }
    }
    for (const std::string& tool : servers[i].allowed_tools) {
      auto [it, added] = owner.emplace(tool, "server '" + servers[i].name + "'");
      if (!added) {
        out.push_back({tenant.display_dir + "/tenant.json", 0, where + ".allowed_tools",
                       "tool '" + tool + "' is also provided by " + it->second});
      }
    }
  }
  return out;
}

}  // namespace

Result<Tenant> load_tenant(const Workspace& workspace, std::string_view tenant_id,
                           const ModelOptions& options) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  Tenant tenant;
  tenant.id = std::string(tenant_id);
  tenant.dir = workspace.tenant_dir(tenant_id);
  tenant.display_dir = workspace.display_path(tenant.dir);
  if (!fs::exists(tenant.dir / "tenant.json")) {
    return make_error(ErrorCode::kNotFound,
                      "no tenant '" + tenant.id + "': " + tenant.display_dir +
                          "/tenant.json does not exist (fapo init " + tenant.id +
                          " creates one)");
  }
  FAPO_ASSIGN_OR_RETURN(tenant.config, load_tenant_config(tenant.dir / "tenant.json",
                                                          tenant.display_dir + "/tenant.json"));
  if (tenant.config.tenant_id != tenant.id) {
    return make_error(ErrorCode::kInvalidInput,
                      tenant.display_dir + "/tenant.json: field 'tenant_id': '" +
                          tenant.config.tenant_id + "' must equal the directory name '" +
                          tenant.id + "'");
  }
  FAPO_ASSIGN_OR_RETURN(tenant.baseline, load_pipeline(tenant.dir, tenant.display_dir));
  if (has_retrieve_step(tenant.baseline) || fs::exists(tenant.dir / "corpus.jsonl")) {
    FAPO_ASSIGN_OR_RETURN(tenant.index, load_index(tenant.dir, tenant.display_dir));
  }
  Diagnostics rules = check_tool_names(tenant);
  Diagnostics pipeline_rules =
      check_tenant_rules(tenant, tenant.baseline, tenant.display_dir + "/chain.json");
  rules.insert(rules.end(), pipeline_rules.begin(), pipeline_rules.end());
  if (!rules.empty()) return diagnostics_error(rules);
  auto scorer = make_scorer(tenant.config.scorer, tenant.dir);
  if (!scorer.ok()) return scorer.error().with_context(tenant.display_dir + "/tenant.json");
  tenant.scorer = std::move(*scorer);
  FAPO_ASSIGN_OR_RETURN(tenant.model, make_task_model(workspace, tenant, options));
  return tenant;
}

namespace {

// Context keys present in every case, and in some case, for the variable check.
struct ContextKeys {
  std::vector<std::string> in_every_case;
  std::map<std::string, std::pair<std::size_t, int>> missing;  // key -> (cases, first line)
};

void check_dataset(const Tenant& tenant, TenantReport& report, ContextKeys& keys) {
  std::string file = tenant.display_dir + "/dataset.jsonl";
  std::map<std::string, std::size_t> key_counts;
  std::size_t scorer_failures = 0;
  Diagnostics problems =
      read_dataset(tenant.dir / "dataset.jsonl", file, [&](Case&& item) {
        ++report.cases;
        for (const auto& [key, value] : item.context) key_counts[key] += 1;
        Status valid = tenant.scorer ? tenant.scorer->validate_case(item) : ok_status();
        if (!valid.ok() && ++scorer_failures <= 20) {
          report.diagnostics.push_back(
              {file, item.line, "", "case '" + item.case_id + "': " + valid.error().message});
        }
      });
  report.diagnostics.insert(report.diagnostics.end(), problems.begin(), problems.end());
  if (report.cases == 0 && problems.empty()) {
    report.diagnostics.push_back({file, 0, "", "the dataset has no cases"});
  }
  for (const auto& [key, count] : key_counts) {
    if (count == report.cases) {
      keys.in_every_case.push_back(key);
    } else {
      keys.missing[key] = {report.cases - count, 0};
    }
  }
}

void check_pipeline(const Tenant& tenant, TenantReport& report, const ContextKeys& keys) {
  auto compiled = CompiledChain::compile(tenant.baseline, tenant.display_dir);
  if (!compiled.ok()) {
    add_error(report.diagnostics, compiled.error());
    return;
  }
  std::vector<std::string> known = keys.in_every_case;
  for (const auto& [key, missing] : keys.missing) known.push_back(key);
  for (Diagnostic diagnostic : compiled->check_variables(known)) {
    report.diagnostics.push_back(std::move(diagnostic));
  }
  // Variables that exist in some cases only: the template would fail on the others.
  for (const auto& [key, missing] : keys.missing) {
    for (const StepDef* step : all_steps(tenant.baseline.chain)) {
      if (!has_prompt(*step)) continue;
      for (const TemplateVariable& variable : compiled->prompt(*step).variables()) {
        if (!variable.is_step_output && variable.name == key) {
          report.diagnostics.push_back(
              {tenant.display_dir + "/prompts/" + step->prompt, variable.line, "",
               "step '" + step->id + "': ${" + key + "} is missing from the context of " +
                   std::to_string(missing.first) + " case(s)"});
          break;
        }
      }
    }
  }
}

}  // namespace

TenantReport validate_tenant(const Workspace& workspace, std::string_view tenant_id) {
  TenantReport report;
  report.tenant_id = std::string(tenant_id);
  auto tenant = load_tenant(workspace, tenant_id);
  if (!tenant.ok()) {
    add_error(report.diagnostics, tenant.error());
    return report;
  }
  report.provider = tenant->config.task_model.provider;
  if (tenant->index) report.corpus_passages = tenant->index->size();
  for (const StepDef& step : tenant->baseline.chain.steps) {
    report.steps.push_back(step.id + " (" + step_kind_name(step.kind) + ")");
  }
  ContextKeys keys;
  check_dataset(*tenant, report, keys);
  check_pipeline(*tenant, report, keys);
  if (!report.diagnostics.empty()) return report;
  auto manifest = build_split_manifest(tenant->dir / "dataset.jsonl",
                                       tenant->display_dir + "/dataset.jsonl",
                                       tenant->config.splits, tenant->dir);
  if (!manifest.ok()) {
    add_error(report.diagnostics, manifest.error());
    return report;
  }
  for (Split split : {Split::kTrain, Split::kValidation, Split::kTest}) {
    report.split_counts[split_name(split)] = manifest->ids(split).size();
  }
  return report;
}

}  // namespace fapo
