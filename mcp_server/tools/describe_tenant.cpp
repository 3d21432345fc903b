// describe_tenant: a tenant's configuration as an optimiser needs it — the task, the model,
// the chain's steps with their kinds and parameters, the prompt files, the scorer, split sizes,
// acceptance, budget and success target. It never shows a case of any split, and it leaves out
// the simulated model's rules (they are the simulator's ground truth, not part of the task).

#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/strings.h"
#include "engine/chain/pipeline.h"
#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/data/tenant_config.h"
#include "engine/prompt/prompt_file.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/tool_support.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxPromptTextChars = 4000;
constexpr char kSimulatedNote[] =
    "Simulated model: replies come from rules in the tenant's configuration, not from a "
    "language model. Scores describe the simulator, and changes that help it are the kinds of "
    "changes that help a real model on this task.";

constexpr std::string_view kDescription =
    "Describes one tenant's pipeline and settings: the task (case count and task types), the "
    "task model (marked when it is fapo's simulated model), the chain's steps in order with "
    "their kinds and parameters, the prompt files with sizes and placeholders (optionally their "
    "text), the scorer, split sizes, success target, acceptance rule, budget caps and the scope "
    "of allowed changes. Use it after list_tenants and before evaluate, to understand what you "
    "are optimising. It shows no dataset case. Cheap: reads the tenant's files, no model calls.";

json model_json(const TaskModelConfig& model) {
  json out{{"provider", model.provider},        {"model", model.model},
           {"simulated", model.provider == "sim"}, {"temperature", model.temperature},
           {"top_p", model.top_p},              {"max_tokens", model.max_tokens},
           {"concurrency", model.concurrency}};
  if (model.provider == "sim") out["note"] = kSimulatedNote;
  return out;
}

json chain_json(const ChainDef& chain) {
  json steps = json::array();
  if (chain.raw.contains("steps") && chain.raw["steps"].is_array()) {
    for (const json& step : chain.raw["steps"]) {
      json settings = step;
      settings.erase("id");
      settings.erase("kind");
      steps.push_back({{"id", step.value("id", "")},
                       {"kind", step.value("kind", "")},
                       {"settings", std::move(settings)}});
    }
  }
  return json{{"output", chain.output}, {"steps", std::move(steps)}};
}

json prompts_json(const PipelineConfig& pipeline, bool include_text) {
  json prompts = json::array();
  for (const auto& [file, text] : pipeline.prompts) {
    json entry{{"file", file},
               {"chars", count_chars(text)},
               {"lines", split(text, '\n').size()},
               {"placeholders", json::array()}};
    if (auto parsed = PromptTemplate::parse(text, "prompts/" + file); parsed.ok()) {
      entry["placeholders"] = parsed->placeholder_names();
    }
    if (include_text) entry["text"] = truncate_text(text, kMaxPromptTextChars);
    prompts.push_back(std::move(entry));
  }
  return prompts;
}

// Split sizes only; a dataset the splits cannot be computed from is reported, not fatal.
json splits_json(const fs::path& tenant_dir, const std::string& display, const SplitsConfig& config) {
  json out{{"mode", config.files ? "files" : "fractions"}};
  auto manifest = build_split_manifest(tenant_dir / "dataset.jsonl", display + "/dataset.jsonl",
                                       config, tenant_dir);
  if (!manifest.ok()) {
    out["problem"] = truncate_text(manifest.error().message, 600);
    return out;
  }
  for (Split split : kAllSplits) out[split_name(split)] = manifest->ids(split).size();
  return out;
}

std::string summarize(const json& result) {
  std::vector<std::string> steps;
  for (const json& step : result["chain"]["steps"]) {
    steps.push_back(step["id"].get<std::string>() + " (" + step["kind"].get<std::string>() + ")");
  }
  const json& model = result["model"];
  const json& splits = result["splits"];
  std::string text = result["tenant_id"].get<std::string>() + ": " +
                     std::to_string(result["task"]["cases"].get<int>()) + " cases; chain " +
                     join(steps, " -> ") + "; model " + model["provider"].get<std::string>() +
                     "/" + model["model"].get<std::string>() +
                     (model["simulated"].get<bool>() ? " (SIMULATED)" : "") + "; scorer " +
                     result["scorer"].value("type", "?");
  if (splits.contains("train")) {
    text += "; splits train " + std::to_string(splits["train"].get<int>()) + " / validation " +
            std::to_string(splits["validation"].get<int>()) + " / test " +
            std::to_string(splits["test"].get<int>());
  }
  return text + "; success target " + result["success"]["target"].dump() + " on " +
         result["success"]["metric"].get<std::string>() + ".";
}

ToolResult describe_tenant(const json& arguments, ToolContext& context) {
  auto workspace = open_tenant(context.server, arguments);
  if (!workspace.ok()) return ToolResult::failure(workspace.error());
  const std::string tenant_id = arguments["tenant_id"];
  const fs::path dir = workspace->tenant_dir(tenant_id);
  const std::string display = "tenants/" + tenant_id;
  const std::string hint = "validate_tenant lists every problem of the tenant at once.";

  auto config = load_tenant_config(dir / "tenant.json", display + "/tenant.json");
  if (!config.ok()) return failure_with_hint(config.error(), hint);
  auto pipeline = load_pipeline(dir, display);
  if (!pipeline.ok()) return failure_with_hint(pipeline.error(), hint);
  auto dataset = summarize_dataset(dir / "dataset.jsonl", display + "/dataset.jsonl");
  if (!dataset.ok()) return failure_with_hint(dataset.error(), hint);
  if (context.cancel.is_cancelled()) return ToolResult::failure("cancelled");

  const json effective = to_json(*config);
  std::error_code ec;
  json result{
      {"tenant_id", tenant_id},
      {"description", config->description},
      {"task", {{"cases", dataset->cases},
                {"task_types", dataset->task_types},
                {"corpus", fs::exists(dir / "corpus.jsonl", ec)}}},
      {"model", model_json(config->task_model)},
      {"frozen", config->frozen},
      {"chain", chain_json(pipeline->chain)},
      {"prompts", prompts_json(*pipeline, arguments.value("include_prompt_text", false))},
      {"scorer", config->scorer.is_object() ? config->scorer : json::object()},
      {"splits", splits_json(dir, display, config->splits)},
      {"success", effective["success"]},
      {"acceptance", effective["acceptance"]},
      {"budget", effective["budget"]},
      {"scope", effective["scope"]}};
  std::string summary = summarize(result);
  return ToolResult::success(std::move(result), std::move(summary));
}

}  // namespace

ToolSpec make_describe_tenant_tool() {
  ToolSpec spec;
  spec.name = "describe_tenant";
  spec.title = "Describe a tenant";
  spec.description = std::string(kDescription);
  spec.hints = ToolHints{.read_only = true, .destructive = false, .idempotent = true,
                         .open_world = false};
  spec.handler = describe_tenant;
  return spec;
}

}  // namespace fapo::mcp
