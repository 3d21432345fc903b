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

// The protocol, written for an agent. The server enforces every rule stated here; the text
// says so, so the agent knows a refusal is the rule and not a fault.
constexpr char kOptimizeProtocol[] = R"(fapo is your laboratory and referee; you are the optimiser. Work like a careful engineer: measure, find the step that breaks, change the smallest thing that can fix it, and keep a change only when it is measurably better. The server enforces the rules below: a refused call says which rule and what to do instead.

## Tools, in loop order
- Orient: describe_tenant (include_prompt_text: true), the README resource, budget, history (resume here in a fresh session).
- Measure: evaluate {split: "train", variant, trials} starts a run and returns its run_id; get_run follows it (wait_seconds up to 50); cancel_run stops one. At most 2 runs go at once.
- Diagnose: attribute {run_id} names the step that broke in each failed train case (class, evidence, confidence), clusters the failures, recommends a level and estimates the ceiling of each level. list_cases and get_case show cases and full step traces, train runs only.
- Change: propose_variant {hypothesis, parent (default best), prompts | parameters | chain} stores an immutable variant (v001, v002, ...) and computes its level; get_variant shows it and its diff; export_variant writes it into the workspace to ship.
- Check: review_variant runs the deterministic checks (placeholders, scope, frozen settings, held-out leakage, copies of training cases, duplicates, prompt growth). A failed review ends the variant.
- Decide: compare {candidate} against the best on validation: it runs the evaluations it needs, then accepts only a gain of at least the minimum effect that is statistically significant; an accept moves the best pointer.
- Record and finish: record_note {note, exhausted_level}; final_test once, at the very end.

## Rules (enforced)
1. Train is for looking, validation is for deciding, test is for the end. Cases and traces only on train runs; validation shows aggregates only; the test split runs only through final_test, once, and its result is sealed.
2. Frozen settings (usually model, temperature, top_p, max_tokens) never change; comparisons need the same cases, scorer and settings.
3. Every variant is stored immutably and keeps its place in the history, accepted or not.
4. No leakage and no overfitting: no text from validation or test cases, no verbatim training cases, no rules for particular cases, placeholders of edited prompts unchanged. review_variant blocks these.
5. Budgets are hard caps (model calls, tokens, money, variants, validation evaluations), with a reserve for the final test. budget says what is left and how many validation comparisons that buys.

## The loop
1. Orient: describe_tenant, budget, history.
2. Baseline on train: evaluate {split: "train", trials: acceptance.trials}, then get_run with wait_seconds until complete.
3. attribute the run. Target the largest cluster at the recommended level.
4. Choose the level, cheapest first: prompt (format, reasoning, dropped evidence), then parameter (retrieval misses, cascades: k, n, max_iterations), then structural (a step, a hop, a verification loop) only when attribution shows the cheaper levels cannot reach the failures.
5. propose_variant with ONE change and a hypothesis: which cases it should fix and about how many points.
6. review_variant. Fix what it blocks by proposing again; never work around a finding.
7. Optionally evaluate it on train to see which failed cases it fixed and which it broke.
8. compare it with the best on validation; call again while its status is "evaluating".
9. When three honest attempts at a level gain nothing, record_note with exhausted_level and escalate.
10. Iterate until the success target is met, the budget runs low, or attribution says the remaining failures are out of reach. Then final_test, and report: baseline and final means on train, validation and test, every accepted change with its hypothesis and measured effect, the rejected ones, and what limits the rest.
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
