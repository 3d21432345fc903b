// `fapo init NAME`: scaffolds a small working tenant (a one-step classifier on the simulated
// model) that validates and evaluates as it is, as a starting point to edit.
#include <CLI/CLI.hpp>

#include <iostream>

#include <nlohmann/json.hpp>

#include "engine/base/files.h"
#include "engine/run/workspace.h"
#include "mcp_server/cli/cli.h"

namespace fapo::cli {
namespace {

const char* kChain = R"({
  "steps": [
    {"id": "classify", "kind": "llm", "prompt": "classify.md"}
  ],
  "output": "classify"
}
)";

const char* kPrompt = R"(System:
You label the sentiment of product reviews.
User:
Review: ${review}
What is the sentiment of this review?
)";

// The simulated model answers verbosely unless the prompt asks for a single word, so the
// scaffold has a first failure to fix by editing the prompt.
std::string tenant_json(const std::string& name) {
  nlohmann::json tenant = {
      {"tenant_id", name},
      {"description", "Sentiment classification of product reviews (scaffold)"},
      {"task_model", {{"provider", "sim"}, {"model", "sim-1"}, {"temperature", 1.0}}},
      {"splits", {{"train", 0.4}, {"validation", 0.3}, {"test", 0.3}, {"seed", 1},
                  {"stratify", "task_type"}}},
      {"scorer", {{"type", "label"}, {"field", "label"},
                  {"labels", {"positive", "negative", "neutral"}}}},
      {"sim",
       {{"seed", 1},
        {"noise", {{"per_temperature", 0.02}}},
        {"rules",
         {{{"name", "verbose_label"},
           {"when", {{"prompt_lacks_any", {"one word"}}}},
           {"probability", 0.7},
           {"reply", "Overall the review seems mostly fine, with some mixed feelings."}},
          {{"name", "correct_label"}, {"when", nlohmann::json::object()},
           {"reply", "${expected.label}"}}}},
        {"default_reply", "neutral"}}}};
  return tenant.dump(2) + "\n";
}

std::string dataset() {
  const char* reviews[][2] = {
      {"Works perfectly and arrived early.", "positive"},
      {"Broke after two days, very disappointed.", "negative"},
      {"It does what it says, nothing more.", "neutral"},
      {"Absolutely love it, would buy again.", "positive"},
      {"The battery dies within an hour.", "negative"},
      {"Average quality for the price.", "neutral"},
      {"Excellent build and great support.", "positive"},
      {"Stopped working and support never replied.", "negative"},
      {"Fine for occasional use.", "neutral"},
      {"Best purchase I made this year.", "positive"},
      {"Cheap plastic, cracked on arrival.", "negative"},
      {"Neither good nor bad.", "neutral"},
  };
  std::string out;
  int index = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& review : reviews) {
      ++index;
      nlohmann::json line = {
          {"case_id", "r" + std::to_string(index)},
          {"task_type", review[1]},
          {"context", {{"review", std::string(review[0]) + (round ? " (" + std::to_string(round) + ")" : "")}}},
          {"expected", {{"label", review[1]}}},
          {"metadata", nlohmann::json::object()}};
      out += line.dump() + "\n";
    }
  }
  return out;
}

}  // namespace

void add_init_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand("init", "Create a working example tenant to start from");
  auto name = std::make_shared<std::string>();
  command->add_option("name", *name, "Tenant id for the new tenant")->required();
  command->callback([&options, &exit_code, name] {
    if (auto valid = check_tenant_id(*name); !valid.ok()) {
      exit_code = report_error(options, valid.error());
      return;
    }
    auto workspace = Workspace::open(options.workspace);
    if (!workspace.ok()) {
      exit_code = report_error(options, workspace.error());
      return;
    }
    fs::path dir = workspace->tenant_dir(*name);
    if (fs::exists(dir)) {
      exit_code = report_error(
          options, make_error(ErrorCode::kConflict,
                              workspace->display_path(dir) + " already exists; pick another name"));
      return;
    }
    for (const auto& [file, text] :
         std::vector<std::pair<std::string, std::string>>{{"tenant.json", tenant_json(*name)},
                                                          {"chain.json", kChain},
                                                          {"prompts/classify.md", kPrompt},
                                                          {"dataset.jsonl", dataset()}}) {
      if (auto written = write_file_atomic(dir / file, text); !written.ok()) {
        exit_code = report_error(options, written.error());
        return;
      }
    }
    std::cout << "created " << workspace->display_path(dir) << "\n"
              << "next: fapo validate " << *name << "  then  fapo eval " << *name << "\n";
    exit_code = kExitOk;
  });
}

}  // namespace fapo::cli
