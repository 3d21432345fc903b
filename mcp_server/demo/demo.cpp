#include "mcp_server/demo/demo.h"

#include <chrono>
#include <iterator>

#include "engine/base/strings.h"
#include "mcp_server/demo/demo_steps.h"
#include "mcp_server/demo/demo_workspace.h"

namespace fapo::demo {
namespace {

using nlohmann::json;

constexpr char kClientName[] = "fapo-demo";
constexpr char kClientVersion[] = "0.1.0";
// get_run waits at most 50 s per call; a run still going after this many calls is stuck.
constexpr int kMaxRunPolls = 12;

struct StepEntry {
  const char* title;
  Status (*run)(Demo&);
};

Status step_stop_server(Demo& demo);

constexpr StepEntry kSteps[] = {
    {"Start fapo mcp as a child process", step_start_server},
    {"initialize", step_initialize},
    {"tools/list", step_list_tools},
    {"Read the tenant", step_describe_tenant},
    {"Evaluate the baseline on train", step_evaluate_baseline},
    {"Find out why cases fail", step_inspect_failures},
    {"Prompt variant: answer with the answer only", step_propose_short_answer},
    {"Review the variant", step_review},
    {"Compare with the best on validation", step_compare},
    {"Prompt variant: keep every name in the notes", step_propose_keep_names},
    {"Review the variant", step_review},
    {"Compare with the best on validation", step_compare},
    {"Prompt variant: pick the entity the passages connect", step_propose_connected_entity},
    {"Review the variant", step_review},
    {"Compare with the best on validation", step_compare},
    {"Record that the prompt level is exhausted", step_note_prompt_exhausted},
    {"Parameter variant: five passages per search", step_propose_more_passages},
    {"Review the variant", step_review},
    {"Compare with the best on validation", step_compare},
    {"Evaluate the best variant on train", step_evaluate_best},
    {"Look back at the history", step_history},
    {"Final test", step_final_test},
    {"Final test again", step_final_test_again},
    {"Summary", step_summary},
    {"Stop the server", step_stop_server},
};

Status step_stop_server(Demo& demo) {
  demo.narrator.agent("Done. Closing the server's stdin ends `fapo mcp`, as a client does on exit.");
  int status = demo.session->shutdown();
  if (status != 0) {
    return make_error(ErrorCode::kIo, "fapo mcp exited with status " + std::to_string(status) +
                                          " after its stdin closed (expected 0)");
  }
  demo.narrator.reply("fapo mcp exited with status 0");
  return ok_status();
}

}  // namespace

std::optional<double> number_at(const json& object, const std::string& key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return {};
  return object[key].get<double>();
}

std::string text_at(const json& object, const std::string& key, const std::string& fallback) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return fallback;
  return object[key].get<std::string>();
}

std::string describe_run_score(const json& run) {
  const json summary = run.value("summary", json::object());
  std::optional<double> mean = number_at(summary, "mean");
  if (!mean) mean = number_at(run, "mean");
  if (!mean) return "no score yet";
  std::string text = format_score(*mean);
  if (auto error = number_at(summary, "standard_error")) text += " ± " + format_score(*error) + " s.e.";
  std::vector<std::string> trials;
  for (const json& trial : summary.value("trial_means", json::array())) {
    if (trial.is_number()) trials.push_back(format_score(trial.get<double>()));
  }
  if (trials.size() > 1) text += " (trials " + join(trials, ", ") + ")";
  return text;
}

Status step_start_server(Demo& demo) {
  demo.narrator.agent(
      "An MCP client such as Claude Code or Codex starts fapo itself and speaks JSON-RPC over the "
      "child's stdin and stdout, one message per line. This demo does the same.");
  mcp::StdioClientOptions client;
  client.argv = {demo.options.server_program.string(), "--workspace",
                 demo.options.workspace.string(), "mcp"};
  client.stderr_path = demo.options.server_log;
  auto started = mcp::StdioClient::start(client);
  if (!started.ok()) return started.error();
  demo.narrator.call("$ " + join(client.argv, " "), "");
  demo.narrator.reply("running as process " + std::to_string((*started)->pid()) +
                      (client.stderr_path.empty() ? ""
                                                  : "; its log goes to " +
                                                        client.stderr_path.string()));
  demo.session = std::make_unique<DemoSession>(std::move(*started), demo.narrator);
  return ok_status();
}

Status step_initialize(Demo& demo) {
  demo.narrator.call("initialize", std::string("protocolVersion=2025-11-25 clientInfo=") +
                                       kClientName + "/" + kClientVersion);
  auto result = demo.session->client().initialize(kClientName, kClientVersion);
  if (!result.ok()) return result.error();
  const json info = result->value("serverInfo", json::object());
  std::vector<std::string> capabilities;
  const json offered = result->value("capabilities", json::object());
  for (const auto& [name, value] : offered.items()) capabilities.push_back(name);
  demo.narrator.reply(text_at(info, "name", "?") + " " + text_at(info, "version") + ", protocol " +
                      text_at(*result, "protocolVersion", "?") + "; capabilities: " +
                      join(capabilities, ", "));
  demo.narrator.call("notifications/initialized", "");
  return ok_status();
}

Status step_list_tools(Demo& demo) {
  demo.narrator.call("tools/list", "");
  auto tools = demo.session->client().list_tools();
  if (!tools.ok()) return tools.error();
  std::vector<std::string> names;
  for (const json& tool : *tools) names.push_back(text_at(tool, "name", "?"));
  demo.session->set_offered_tools(names);
  demo.narrator.reply(std::to_string(names.size()) + " tools: " + join(names, ", "));
  std::vector<std::string> missing;
  for (const char* needed : {"propose_variant", "review_variant", "compare", "record_note",
                             "history", "final_test", "attribute"}) {
    if (!demo.session->offers(needed)) missing.push_back(needed);
  }
  if (!missing.empty()) {
    demo.narrator.detail("not offered by this server: " + join(missing, ", "), Style::kBad);
  }
  return ok_status();
}

Status step_describe_tenant(Demo& demo) {
  demo.narrator.agent("First, what is being optimised: the pipeline, its prompts, the splits and "
                      "the rule for accepting a change.");
  json args = {{"tenant_id", demo.state.tenant}, {"include_prompt_text", true}};
  FAPO_ASSIGN_OR_RETURN(json tenant,
                        demo.session->call("describe_tenant", args, {"include_prompt_text"}));
  const json model = tenant.value("model", json::object());
  const json splits = tenant.value("splits", json::object());
  demo.narrator.reply(
      demo.state.tenant + ": " + std::to_string(tenant["task"].value("cases", 0)) +
      " cases (train " + std::to_string(splits.value("train", 0)) + ", validation " +
      std::to_string(splits.value("validation", 0)) + ", test " +
      std::to_string(splits.value("test", 0)) + "); model " + text_at(model, "provider") + "/" +
      text_at(model, "model") + (model.value("simulated", false) ? " (SIMULATED)" : ""));
  std::vector<std::string> steps;
  for (const json& step : tenant["chain"].value("steps", json::array())) {
    const json settings = step.value("settings", json::object());
    std::string text = text_at(step, "id") + " (" + text_at(step, "kind");
    if (settings.contains("k")) text += " k=" + settings["k"].dump();
    steps.push_back(text + ")");
    demo.state.best_settings[text_at(step, "id")] = settings;
  }
  demo.narrator.detail("chain: " + join(steps, " → "));
  for (const json& prompt : tenant.value("prompts", json::array())) {
    demo.state.best_prompts[text_at(prompt, "file")] = text_at(prompt, "text");
  }
  const json acceptance = tenant.value("acceptance", json::object());
  demo.state.trials = acceptance.value("trials", 3);
  demo.state.min_effect = acceptance.value("min_effect", 2.0);
  demo.state.target = number_at(tenant.value("success", json::object()), "target");
  demo.narrator.detail("a change is accepted when it gains at least " +
                       format_score(demo.state.min_effect) + " points over " +
                       std::to_string(demo.state.trials) + " trials at " +
                       format_percent(acceptance.value("confidence", 0.95)) + " confidence" +
                       (demo.state.target ? "; target " + format_score(*demo.state.target) : ""));
  return ok_status();
}

Result<json> evaluate_on_train(Demo& demo, const std::string& variant) {
  json args = {{"tenant_id", demo.state.tenant}, {"split", "train"},
               {"trials", demo.state.trials}, {"wait_seconds", 0}};
  std::vector<std::string> shown = {"split", "trials", "wait_seconds"};
  // The baseline is evaluate's default; naming it keeps the call valid on servers whose
  // evaluate predates the variant argument.
  if (variant != "baseline") {
    args["variant"] = variant;
    shown.insert(shown.begin(), "variant");
  }
  FAPO_ASSIGN_OR_RETURN(json started, demo.session->call("evaluate", args, shown));
  json run = started.value("run", json::object());
  demo.narrator.reply("run " + text_at(run, "run_id") + ": " + text_at(run, "state") + ", " +
                      std::to_string(run.value("done", 0)) + " of " +
                      std::to_string(run.value("total", 0)) + " results");
  for (int poll = 0; poll < kMaxRunPolls && text_at(run, "state") == "running"; ++poll) {
    json wait = {{"tenant_id", demo.state.tenant}, {"run_id", run["run_id"]}, {"wait_seconds", 50}};
    FAPO_ASSIGN_OR_RETURN(json reply, demo.session->call("get_run", wait,
                                                         {"run_id", "wait_seconds"}));
    run = reply.value("run", json::object());
  }
  if (text_at(run, "state") != "complete") {
    return make_error(ErrorCode::kIo, "run " + text_at(run, "run_id") + " ended in state " +
                                          text_at(run, "state", "?") + ": " +
                                          text_at(run, "error", "no error given"));
  }
  const json summary = run.value("summary", json::object());
  demo.narrator.reply("complete: train mean " + describe_run_score(run) + "; " +
                      format_count(summary.value("model_calls", 0LL)) + " model calls");
  return run;
}

Status step_evaluate_baseline(Demo& demo) {
  demo.narrator.agent("Measure the baseline on train, where every case, output and trace may be "
                      "inspected. Use the acceptance trials, start the run, then wait for it "
                      "with get_run.");
  FAPO_ASSIGN_OR_RETURN(json run, evaluate_on_train(demo, "baseline"));
  demo.state.baseline_run = text_at(run, "run_id");
  demo.state.baseline_train = number_at(run.value("summary", json::object()), "mean");
  return ok_status();
}

Status run_demo(const DemoOptions& options, std::ostream& out) {
  Demo demo{options, Narrator(out, options.color), nullptr, DemoState{}};
  demo.state.tenant = std::string(kDemoTenant);
  demo.narrator.banner(
      "fapo demo: an agent optimises multihop_qa through fapo's MCP server",
      "Offline, on the simulated model: scores describe the simulator's rules, not a real "
      "model.\nworkspace: " + options.workspace.string());
  auto started = std::chrono::steady_clock::now();
  const int total = static_cast<int>(std::size(kSteps));
  for (int index = 0; index < total; ++index) {
    const StepEntry& step = kSteps[index];
    demo.narrator.step(index + 1, total, step.title);
    Status status = step.run(demo);
    if (!status.ok()) {
      if (demo.session) demo.session->shutdown();
      return status.error().with_context("step " + std::to_string(index + 1) + " of " +
                                         std::to_string(total) + " (" + step.title + ")");
    }
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  demo.narrator.blank();
  demo.narrator.banner("The loop completed in " + format_score(seconds.count()) + " s.", "");
  return ok_status();
}

}  // namespace fapo::demo
