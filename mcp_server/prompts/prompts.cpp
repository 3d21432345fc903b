#include "mcp_server/prompts/prompts.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/base/strings.h"
#include "engine/data/tenant_config.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/tools/tool_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxArgumentChars = 2000;

// The protocol. Kept in step with the tools that exist: the rules that no tool enforces yet are
// stated as the agent's own duty, and the text says so.
constexpr char kOptimizeProtocol[] = R"(fapo is your laboratory and referee; you are the optimiser. Work like a careful engineer: measure, find the step that breaks, change the smallest thing that can fix it, and keep a change only when it is measurably better.

## Tools in this server
- list_tenants, describe_tenant (use include_prompt_text: true), validate_tenant: what the tenant is and whether it is valid.
- evaluate: starts a run on train or validation and returns its run_id at once (wait_seconds up to 50 waits for it, with progress). get_run follows a run (wait_seconds up to 50) and gives its summary; cancel_run stops one. At most 2 runs go at once.
- list_cases and get_case: failed cases and full step traces (rendered prompts, replies, retrieved passages), for train runs only.
- budget: caps and what has been spent (reported, not enforced yet).
- Resources: fapo://tenants/<tenant_id>/readme and fapo://tenants/<tenant_id>/runs/<run_id>/report.

Not in this server yet: attribute, propose_variant, review_variant, compare, history, record_note, final_test, export_variant. As they land, the server enforces the rules below in code. Until then the rules marked (yours) are your own duty: follow them exactly, and say in your report that you did.

## Rules
1. Train is for looking, validation is for deciding, test is for the end. Inspect cases only on train runs. Validation runs show aggregates only, by design: never try to reconstruct validation cases. Never evaluate the test split (the server refuses); it is evaluated once, through final_test.
2. Frozen settings (describe_tenant: frozen, usually model, temperature, top_p, max_tokens) never change, and comparisons use the same settings, scorer and cases. (The server checks frozen settings when a run starts.)
3. One scoped change per iteration, with its hypothesis written down before you measure. (yours)
4. No leakage and no overfitting: never put text from any case, any expected answer, or a rule that only serves particular cases into a prompt; no few-shot examples copied from the dataset; keep every ${...} placeholder of an edited prompt. (yours)
5. Stay within the budget (budget tool) and the scope (describe_tenant: scope: allowed levels, editable steps, parameter ranges). (yours)

## The loop
1. Orient: describe_tenant with include_prompt_text: true, the README resource, budget.
2. Baseline on train: evaluate {split: "train", trials: 1, wait_seconds: 50}, then get_run with wait_seconds until the state is complete.
3. Attribute the failures: list_cases {failed_only: true}, then get_case on at least 10 failed cases across task types (all of them if fewer). For each case, read the trace in order and name the step that broke, by kind:
   - infrastructure: the model call failed after retries; not a pipeline problem.
   - cascade: an early step's output was empty or useless and every later step failed with it.
   - retrieval miss: the evidence for the expected answer is in no retrieved passage.
   - dropped evidence: an intermediate step had the evidence in its input and lost it in its output.
   - format: the answer is in the final output but the scorer cannot read it (extra words, too long, wrong shape).
   - reasoning: the evidence reached the final step and the answer is still wrong.
   Count the classes per step and group the outputs by pattern (empty, hedge or refusal, too long, wrong shape). The largest cluster is your next target.
4. Choose the level, cheapest first:
   - prompt: format and reasoning failures, and steps that drop evidence. Edit one prompt.
   - parameter: retrieval misses and cascades. Change one step parameter (for example k) within the scope's ranges.
   - structural: change the chain (add a step, a retrieval hop, a verification loop) only when attribution shows the remaining failures cannot be fixed by any prompt or parameter change. Escalate only when the cheaper level is exhausted, and say why.
5. Propose one change: copy the current best pipeline (the tenant's chain.json and prompts/ for the baseline) into a new directory inside the workspace, for example variants/v002/, and change one thing there that addresses the target cluster. Write the hypothesis: which cases it should fix and about how many points it should gain.
6. Review it before measuring (yours, until review_variant exists): the diff addresses one concern; placeholders and frozen settings are unchanged; no case text; no case-specific rule; the prompt did not grow needlessly. evaluate refuses a chain or prompt that does not parse, naming the file and line; a template variable that names nothing shows up as a step error in get_case, so compare the placeholders with describe_tenant's before you run.
7. Check on train: evaluate with variant_dir; look at which failed cases it fixed and which passing cases it broke (list_cases, get_case).
8. Decide on validation (yours, until compare exists): evaluate the incumbent and the candidate on validation with the tenant's acceptance trials (describe_tenant: acceptance.trials). Accept only when the candidate's mean beats the incumbent's by at least acceptance.min_effect points and by more than the trial-to-trial spread (get_run: trial_means and standard_error). Use every trial you ran, never the best re-run. Each validation run counts against budget.validation_evaluations.
9. Iterate from step 3 on the accepted best until the success target is met, the budget runs low, or attribution says the remaining failures are out of reach at every allowed level.
10. Finish: report the baseline and final train and validation means with their trials, every accepted change with its hypothesis and measured effect, the rejected ones, and what limits the rest. The final test runs once, on the chosen variant only, through final_test when it exists; until then, do not measure test at all.
)";

constexpr char kNewTenantGuide[] = R"(Help the user turn a task and a dataset into a fapo tenant: a directory tenants/<tenant_id>/ in the workspace that fapo can validate, evaluate and optimise. Ask for what is missing rather than guessing; never invent data.

1. Tenant id: lowercase letters, digits, '_' and '-', at most 64 characters, starting with a letter or digit.
2. Scaffold: `fapo --workspace WORKSPACE init TENANT_ID` creates a working tenant (tenant.json, chain.json, prompts/classify.md, dataset.jsonl: a review-sentiment classifier on the simulated model). Replace its parts as below.
3. dataset.jsonl, one JSON object a line: {"case_id": "q0001", "task_type": "...", "context": {"question": "..."}, "expected": {"answer": "..."}, "metadata": {...}}. case_id is unique. Every context value is a string: prompts read them as ${name}. expected is read only by the scorer, never by the pipeline. task_type groups cases so splits are stratified; metadata is free. Convert the user's data with a small script; report lines you could not convert instead of dropping them silently.
4. chain.json: {"steps": [...], "output": "<step id>"}. Step kinds: llm (a prompt file, optional parse rule), retrieve (BM25 over corpus.jsonl: query template, k), transform (extract, join, dedupe, truncate, template), vote (n samples of an llm step, majority), loop (bounded repetition). Start with the simplest chain that does the task; optimisation adds structure only when needed.
5. prompts/*.md: optional `System:` and `User:` lines split the file into messages; ${name} inserts a context value, ${steps.<id>.output} an earlier step's output, $${ a literal "${".
6. corpus.jsonl (only for retrieve steps): {"id": "...", "title": "...", "text": "..."} a line.
7. tenant.json: tenant_id (the directory name), description, task_model (provider "sim", "openai" or "anthropic"; model; base_url; api_key_env is the NAME of the environment variable that holds the key, never the key itself; temperature, top_p, max_tokens, concurrency, prices), frozen (settings no variant may change), splits (train/validation/test fractions, seed, stratify; or explicit split files), scorer (exact_match, token_f1, contains, regex, numeric, label, json_fields, set_recall, instructions, composite, or command for the user's own program), success (metric and target), acceptance (trials, min_effect, confidence), budget. Every field but tenant_id and scorer has a default.
8. Validate: call validate_tenant (or run `fapo validate TENANT_ID`). It lists every problem with its file, line and field; fix them all and validate again until it says valid.
9. Baseline: evaluate on train with wait_seconds 50, then list_cases and get_case to see the first failures. From there, follow the optimize prompt.

The complete formats are in docs/tenant_format.md and docs/scorers.md of the fapo distribution.
)";

const std::vector<PromptSpec>& prompts() {
  static const std::vector<PromptSpec> specs = {
      {"optimize", "Optimise a tenant's pipeline",
       "The whole optimisation protocol for a fapo tenant: baseline on train, attribute failures "
       "to steps, one scoped change at a time, review, decide on validation, escalate prompt -> "
       "parameter -> structural only when a level is exhausted, final test once.",
       {{"tenant_id", "The tenant to optimise (list_tenants shows them).", false}}},
      {"new_tenant", "Create a new tenant",
       "How to scaffold a fapo tenant from a task description and a dataset: fapo init, the file "
       "formats, validation, a first baseline.",
       {{"task", "What the pipeline should do, in a sentence or two.", false},
        {"dataset", "Where the user's data is (a file path) and its format.", false}}}};
  return specs;
}

// Facts from tenant.json that the protocol refers to, so the agent starts with them.
std::string tenant_facts(const Workspace& workspace, const std::string& tenant_id) {
  auto config = load_tenant_config(workspace.tenant_dir(tenant_id) / "tenant.json",
                                   "tenants/" + tenant_id + "/tenant.json");
  if (!config.ok()) {
    return "The tenant's configuration does not load; start with validate_tenant.\n";
  }
  return fmt::format(
      "Facts from its configuration: success target {} on {}; acceptance {} trials, minimum "
      "effect {} points at confidence {}; frozen: {}; allowed levels: {}; model {}/{}{}.\n",
      config->success.target, config->success.metric, config->acceptance.trials,
      config->acceptance.min_effect, config->acceptance.confidence, join(config->frozen, ", "),
      join(config->scope.levels, ", "), config->task_model.provider, config->task_model.model,
      config->task_model.provider == "sim"
          ? " (the SIMULATED model: scores describe the simulator, not a real model)"
          : "");
}

Result<RenderedPrompt> render_optimize(const ServerContext& context,
                                       const std::map<std::string, std::string>& arguments) {
  std::string head = "Optimise the pipeline of a fapo tenant (call list_tenants to choose one).\n";
  auto tenant = arguments.find("tenant_id");
  if (tenant != arguments.end() && !tenant->second.empty()) {
    FAPO_ASSIGN_OR_RETURN(Workspace workspace, open_workspace(context));
    Status known = check_tenant_exists(workspace, tenant->second);
    if (!known.ok()) return make_error(ErrorCode::kInvalidInput, known.error().message);
    head = "Optimise the pipeline of fapo tenant '" + tenant->second + "'.\n" +
           tenant_facts(workspace, tenant->second);
  }
  return RenderedPrompt{"The fapo optimisation protocol", head + "\n" + kOptimizeProtocol};
}

RenderedPrompt render_new_tenant(const ServerContext& context,
                                 const std::map<std::string, std::string>& arguments) {
  auto value = [&](const char* key, const char* otherwise) {
    auto found = arguments.find(key);
    if (found == arguments.end() || found->second.empty()) return std::string(otherwise);
    return truncate_text(sanitize_text(found->second), kMaxArgumentChars);
  };
  std::string text = "Task: " + value("task", "(not given: ask the user)") +
                     "\nDataset: " + value("dataset", "(not given: ask the user)") +
                     "\nWorkspace: " + context.workspace.string() + "\n\n" + kNewTenantGuide;
  return RenderedPrompt{"How to create a fapo tenant", text};
}

Status check_arguments(const PromptSpec& spec, const std::map<std::string, std::string>& given) {
  std::vector<std::string> names;
  for (const PromptArgument& argument : spec.arguments) {
    names.push_back(argument.name);
    if (argument.required && !given.count(argument.name)) {
      return make_error(ErrorCode::kInvalidInput, "prompt '" + spec.name +
                                                      "' needs the argument '" + argument.name + "'");
    }
  }
  for (const auto& [name, value] : given) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return make_error(ErrorCode::kInvalidInput,
                        "prompt '" + spec.name + "' has no argument '" +
                            truncate_text(sanitize_text(name), 60) +
                            "'; its arguments: " + join(names, ", "));
    }
  }
  return ok_status();
}

Reply get_method(const ServerContext& context, const json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return Reply::failure(kInvalidParams, "prompts/get needs params.name, a string");
  }
  std::map<std::string, std::string> arguments;
  if (auto given = params.find("arguments"); given != params.end() && !given->is_null()) {
    if (!given->is_object()) return Reply::failure(kInvalidParams, "params.arguments must be an object");
    for (const auto& [key, value] : given->items()) {
      if (!value.is_string()) {
        return Reply::failure(kInvalidParams, "prompt argument '" + sanitize_text(key) +
                                                  "' must be a string");
      }
      arguments[key] = value.get<std::string>();
    }
  }
  auto prompt = render_prompt(context, params["name"].get<std::string>(), arguments);
  if (!prompt.ok()) return Reply::failure(kInvalidParams, sanitize_text(prompt.error().message));
  json message{{"role", "user"}, {"content", {{"type", "text"}, {"text", prompt->text}}}};
  return Reply::success(
      json{{"description", prompt->description}, {"messages", json::array({std::move(message)})}});
}

json encode_prompt(const PromptSpec& spec) {
  json arguments = json::array();
  for (const PromptArgument& argument : spec.arguments) {
    arguments.push_back({{"name", argument.name},
                         {"description", argument.description},
                         {"required", argument.required}});
  }
  return json{{"name", spec.name},
              {"title", spec.title},
              {"description", spec.description},
              {"arguments", std::move(arguments)}};
}

}  // namespace

const std::vector<PromptSpec>& builtin_prompts() { return prompts(); }

Result<RenderedPrompt> render_prompt(const ServerContext& context, const std::string& name,
                                     const std::map<std::string, std::string>& arguments) {
  const auto& specs = prompts();
  auto spec = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
  if (spec == specs.end()) {
    return make_error(ErrorCode::kNotFound, "unknown prompt '" +
                                                truncate_text(sanitize_text(name), 60) +
                                                "'; prompts: optimize, new_tenant");
  }
  FAPO_RETURN_IF_ERROR(check_arguments(*spec, arguments));
  if (name == "optimize") return render_optimize(context, arguments);
  return render_new_tenant(context, arguments);
}

void install_prompt_methods(Dispatcher& dispatcher, const ServerContext& context) {
  dispatcher.add_method(std::string(kPromptsList), [](const json& params, RequestContext&) {
    auto cursor = decode_cursor_param(params);
    if (!cursor.ok()) return Reply::failure(kInvalidParams, cursor.error().message);
    json items = json::array();
    for (const PromptSpec& spec : prompts()) items.push_back(encode_prompt(spec));
    return Reply::success(encode_list_result("prompts", std::move(items), std::nullopt));
  });
  dispatcher.add_method(
      std::string(kPromptsGet),
      [&context](const json& params, RequestContext&) { return get_method(context, params); },
      Dispatcher::Execution::kWorker);
}

}  // namespace fapo::mcp
