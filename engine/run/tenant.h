// A loaded tenant: its configuration, baseline pipeline, scorer, retrieval index and model.
// Loading builds the BM25 index once; a Tenant is then shared read-only by every case of a run
// (all members are safe for concurrent use). The task model of an `openai` or `anthropic`
// tenant sends its calls through the process scheduler (process_scheduler.h), shared by every
// run of the process, optionally behind the tenant's response cache; its API key is read from
// the environment at load time, so a missing key fails the load, before any case runs.
// `validate_tenant` checks everything a run needs and reports every problem at once, each naming
// file, line and field.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/diagnostic.h"
#include "engine/chain/pipeline.h"
#include "engine/data/tenant_config.h"
#include "engine/llm/model.h"
#include "engine/llm/provider_config.h"
#include "engine/llm/response_cache.h"
#include "engine/retrieve/bm25.h"
#include "engine/run/workspace.h"
#include "engine/score/scorer.h"

namespace fapo {

struct Tenant {
  std::string id;
  fs::path dir;
  std::string display_dir;  // "tenants/<id>", for messages
  TenantConfig config;
  PipelineConfig baseline;
  std::shared_ptr<const Bm25Index> index;  // null when the tenant has no corpus
  std::shared_ptr<const Scorer> scorer;
  std::shared_ptr<ModelClient> model;
};

// How load_tenant builds the task model.
struct ModelOptions {
  // The response cache (Workspace::cache_db_path) in front of an HTTP provider. The default,
  // kDisabled, opens nothing, so loading a tenant to inspect or validate it leaves no state
  // behind; evaluate() passes the run's mode. The simulated model is never cached: it is
  // deterministic and free, and its replies depend on the case and the tenant's sim rules,
  // which a cache key of the request alone would not see.
  CacheMode cache_mode = CacheMode::kDisabled;
  // Checked between attempts and during backoffs of HTTP calls; must outlive the model.
  const std::atomic<bool>* cancel = nullptr;
};

// Loads and checks the tenant's own files (not every dataset line; see validate_tenant).
Result<Tenant> load_tenant(const Workspace& workspace, std::string_view tenant_id,
                           const ModelOptions& options = {});

// The provider settings of a tenant's task_model (openai or anthropic), for messages named
// "task_model.<field>".
ProviderConfig task_provider_config(const TaskModelConfig& model);

// Settings a pipeline may not change (tenant.json "frozen") checked against its llm steps.
Diagnostics check_frozen(const Tenant& tenant, const PipelineConfig& pipeline,
                         const std::string& chain_file);

// Every tool a react step offers is declared in tenant.json "tools" (the built-in search when
// the tenant has a corpus, or a server's allowed tool).
Diagnostics check_react_tools(const Tenant& tenant, const PipelineConfig& pipeline,
                              const std::string& chain_file);

// What every pipeline of the tenant must respect: check_frozen and check_react_tools.
Diagnostics check_tenant_rules(const Tenant& tenant, const PipelineConfig& pipeline,
                               const std::string& chain_file);

struct TenantReport {
  std::string tenant_id;
  Diagnostics diagnostics;  // empty = valid
  std::size_t cases = 0;
  std::map<std::string, std::size_t> split_counts;
  std::size_t corpus_passages = 0;
  std::vector<std::string> steps;  // "<id> (<kind>)"
  std::string provider;
};

TenantReport validate_tenant(const Workspace& workspace, std::string_view tenant_id);

}  // namespace fapo
