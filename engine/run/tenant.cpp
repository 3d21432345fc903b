#include "engine/run/tenant.h"

#include <set>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/llm/sim_model.h"
#include "engine/retrieve/corpus.h"

namespace fapo {
namespace {

bool has_retrieve_step(const PipelineConfig& pipeline) {
  for (const StepDef* step : all_steps(pipeline.chain)) {
    if (step->kind == StepKind::kRetrieve) return true;
  }
  return false;
}

Result<std::shared_ptr<ModelClient>> make_task_model(const TenantConfig& config,
                                                     const std::string& display_dir) {
  const auto& model = config.task_model;
  if (model.provider == "sim") {
    auto sim = make_sim_model(config.sim, model.model);
    if (!sim.ok()) return sim.error().with_context(display_dir + "/tenant.json");
    return std::shared_ptr<ModelClient>(std::move(*sim));
  }
  return make_error(ErrorCode::kInvalidInput,
                    display_dir + "/tenant.json: field 'task_model.provider': provider '" +
                        model.provider + "' is not available in this build");
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

Result<Tenant> load_tenant(const Workspace& workspace, std::string_view tenant_id) {
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
  Diagnostics frozen = check_frozen(tenant, tenant.baseline, tenant.display_dir + "/chain.json");
  if (!frozen.empty()) return diagnostics_error(frozen);
  if (has_retrieve_step(tenant.baseline) || fs::exists(tenant.dir / "corpus.jsonl")) {
    FAPO_ASSIGN_OR_RETURN(tenant.index, load_index(tenant.dir, tenant.display_dir));
  }
  auto scorer = make_scorer(tenant.config.scorer, tenant.dir);
  if (!scorer.ok()) return scorer.error().with_context(tenant.display_dir + "/tenant.json");
  tenant.scorer = std::move(*scorer);
  FAPO_ASSIGN_OR_RETURN(tenant.model, make_task_model(tenant.config, tenant.display_dir));
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
      if (step->kind != StepKind::kLlm) continue;
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
