// A loaded tenant: its configuration, baseline pipeline, scorer, retrieval index and model.
// Loading builds the BM25 index once; a Tenant is then shared read-only by every case of a run
// (all members are safe for concurrent use). `validate_tenant` checks everything a run needs
// and reports every problem at once, each naming file, line and field.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/diagnostic.h"
#include "engine/chain/pipeline.h"
#include "engine/data/tenant_config.h"
#include "engine/llm/model.h"
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

// Loads and checks the tenant's own files (not every dataset line; see validate_tenant).
Result<Tenant> load_tenant(const Workspace& workspace, std::string_view tenant_id);

// Settings a pipeline may not change (tenant.json "frozen") checked against its llm steps.
Diagnostics check_frozen(const Tenant& tenant, const PipelineConfig& pipeline,
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
