// Acceptance benchmark: how often `compare` accepts, measured over many independent worlds.
//
// Each world is a generated tenant of 300 one-step questions answered by the simulated model at
// temperature 1.0 (10 % of replies perturbed per call), with its own sim seed. Three variants are
// evaluated on validation (all 300 cases), 3 trials each, as the tenant's acceptance asks:
//   baseline  the shipped prompt;
//   copy      the same prompt with one extra space, which no sim rule reads: a different
//             pipeline hash, the same behaviour, fresh noise draws;
//   better    the prompt plus "Always answer": fixes the hedging of the hard cases (17 of 300,
//             each then right 90 % of the time), a real gain of about 5 points.
// Then it compares copy vs baseline (false positives: the rate must stay at or below the nominal
// level 1 - confidence) and better vs baseline (power). Acceptance: trials 3, confidence 0.95,
// min_effect 2 points (the tenant default, and the gain the example tenants ask for). The false
// positive rate is also printed with min_effect 0 ("significance alone": p < 0.05 and the
// interval above 0), which isolates the statistical part of the rule.
//
//   build/acceptance_bench [--seeds 100] [--concurrency 2] [--keep DIR]
//
// Prints the rates with their counts and the runtime; exits 1 when the false-positive rate of
// the acceptance rule exceeds the nominal level.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/compare/compare.h"
#include "engine/run/evaluator.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kCases = 300;
constexpr int kTrials = 3;
constexpr double kConfidence = 0.95;
constexpr double kMinEffect = 2.0;
constexpr char kTenant[] = "acceptance";

constexpr char kPrompt[] =
    "User:\nQuestion: ${question}\n\nAnswer the question. Reply with the answer only.\n";
constexpr char kCopyPrompt[] =
    "User:\nQuestion: ${question}\n\nAnswer the question.  Reply with the answer only.\n";
constexpr char kBetterPrompt[] =
    "User:\nQuestion: ${question}\n\nAnswer the question. Reply with the answer only. Always "
    "answer, even when unsure.\n";

json sim_rules(std::uint64_t seed) {
  return {{"seed", seed},
          {"noise", {{"per_temperature", 0.1}, {"max", 0.2}}},
          {"rules",
           {{{"name", "hedge_hard"},
             {"when", {{"metadata", {{"difficulty", "hard"}}},
                       {"prompt_lacks_all", {"always answer"}}}},
             {"reply", "I cannot tell from the question alone."}},
            {{"name", "trap"},
             {"when", {{"metadata", {{"trap", true}}}}},
             {"reply", "${distractor}"}},
            {{"name", "correct"}, {"reply", "${expected.answer}"}}}}};
}

void write_variant(const fs::path& dir, const char* prompt) {
  fs::create_directories(dir / "prompts");
  std::ofstream(dir / "chain.json")
      << R"({"steps": [{"id": "answer", "kind": "llm", "prompt": "answer.md"}], "output": "answer"})";
  std::ofstream(dir / "prompts" / "answer.md") << prompt;
}

void write_world(const fs::path& workspace, std::uint64_t seed) {
  const fs::path dir = workspace / "tenants" / kTenant;
  json tenant = {
      {"tenant_id", kTenant},
      {"task_model", {{"provider", "sim"}, {"model", "sim-1"}, {"temperature", 1.0}}},
      {"splits", {{"train", 0.0}, {"validation", 1.0}, {"test", 0.0}, {"seed", 1},
                  {"stratify", nullptr}}},
      {"scorer", {{"type", "exact_match"}, {"field", "answer"}}},
      {"acceptance", {{"trials", kTrials}, {"min_effect", kMinEffect},
                      {"confidence", kConfidence}}},
      {"sim", sim_rules(seed)}};
  write_variant(dir, kPrompt);
  std::ofstream(dir / "tenant.json") << tenant.dump(2);
  std::ofstream dataset(dir / "dataset.jsonl");
  for (int i = 0; i < kCases; ++i) {
    const bool hard = i % 18 == 0;  // 17 cases; traps are never hard, so all 17 can be fixed
    json line = {
        {"case_id", fmt::format("q{:03d}", i)},
        {"task_type", "lookup"},
        {"context", {{"question", fmt::format("Which code belongs to item {}?", i)}}},
        {"expected", {{"answer", fmt::format("code {}", i * 7 + 3)},
                      {"distractors", {fmt::format("code {}", i * 7 + 4),
                                       fmt::format("code {}", i * 7 + 5)}}}},
        {"metadata", {{"difficulty", hard ? "hard" : "easy"}, {"trap", !hard && i % 5 == 1}}}};
    dataset << line.dump() << "\n";
  }
  write_variant(workspace / "copy", kCopyPrompt);
  write_variant(workspace / "better", kBetterPrompt);
}

// Evaluates one variant; returns its variant id, or "" after printing the error.
std::string evaluate_variant(const fapo::Workspace& workspace, const std::string& variant_dir,
                             int concurrency) {
  fapo::EvalRequest request;
  request.tenant_id = kTenant;
  request.split = "validation";
  request.trials = kTrials;
  request.variant_dir = variant_dir;
  request.concurrency = concurrency;
  auto summary = fapo::evaluate(workspace, request);
  if (!summary.ok()) {
    std::cerr << "evaluation failed: " << summary.error().message << "\n";
    return "";
  }
  return summary->variant_id;
}

struct Tally {
  int copy_accepted = 0;          // the acceptance rule, min_effect 2
  int copy_significant = 0;       // the test alone, min_effect 0
  int better_accepted = 0;
  double copy_difference_sum = 0;
  double better_difference_sum = 0;
};

bool compare_once(const fapo::Workspace& workspace, const std::string& candidate,
                  const std::string& incumbent, double min_effect, std::uint64_t seed,
                  bool& accepted, double& difference) {
  fapo::CompareRequest request;
  request.tenant_id = kTenant;
  request.candidate_id = candidate;
  request.incumbent_id = incumbent;
  request.split = "validation";
  request.acceptance = {kTrials, min_effect, kConfidence};
  request.seed = seed;
  auto comparison = fapo::compare_variants(workspace, request);
  if (!comparison.ok()) {
    std::cerr << "compare failed: " << comparison.error().message << "\n";
    return false;
  }
  accepted = comparison->accepted;
  difference = comparison->mean_difference;
  return true;
}

bool run_world(const fs::path& root, std::uint64_t seed, int concurrency, Tally& tally) {
  fs::remove_all(root);
  fs::create_directories(root);
  write_world(root, seed);
  auto workspace = fapo::Workspace::open(root);
  if (!workspace.ok()) return false;
  const std::string baseline = evaluate_variant(*workspace, "", concurrency);
  const std::string copy = evaluate_variant(*workspace, "copy", concurrency);
  const std::string better = evaluate_variant(*workspace, "better", concurrency);
  if (baseline.empty() || copy.empty() || better.empty()) return false;
  bool accepted = false;
  double difference = 0;
  if (!compare_once(*workspace, copy, baseline, kMinEffect, seed, accepted, difference)) {
    return false;
  }
  tally.copy_accepted += accepted;
  tally.copy_difference_sum += difference;
  if (!compare_once(*workspace, copy, baseline, 0.0, seed, accepted, difference)) return false;
  tally.copy_significant += accepted;
  if (!compare_once(*workspace, better, baseline, kMinEffect, seed, accepted, difference)) {
    return false;
  }
  tally.better_accepted += accepted;
  tally.better_difference_sum += difference;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 100;
  int concurrency = 2;
  std::string keep;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seeds") seeds = std::stoi(argv[i + 1]);
    if (flag == "--concurrency") concurrency = std::stoi(argv[i + 1]);
    if (flag == "--keep") keep = argv[i + 1];
  }
  const fs::path base = keep.empty()
                            ? fs::temp_directory_path() / fmt::format("fapo-acceptance-{}",
                                                                      ::getpid())
                            : fs::path(keep);
  spdlog::set_level(spdlog::level::warn);  // one line per run would bury the table
  const auto start = std::chrono::steady_clock::now();
  Tally tally;
  for (int seed = 0; seed < seeds; ++seed) {
    const fs::path root = keep.empty() ? base : base / fmt::format("world{:03d}", seed);
    if (!run_world(root, static_cast<std::uint64_t>(seed) + 1, concurrency, tally)) return 2;
  }
  if (keep.empty()) fs::remove_all(base);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double nominal = 1.0 - kConfidence;
  const double false_positive = static_cast<double>(tally.copy_accepted) / seeds;
  std::cout << fmt::format(
      "acceptance benchmark (simulated model): {} worlds x {} cases x {} trials, confidence "
      "{:g}, min_effect {:g}\n",
      seeds, kCases, kTrials, kConfidence, kMinEffect);
  std::cout << fmt::format("nominal false-positive level: {:.3f}\n", nominal);
  std::cout << fmt::format(
      "(a) copy vs baseline, acceptance rule:     {:3d}/{} accepted = {:.3f}  (mean difference "
      "{:+.2f})\n",
      tally.copy_accepted, seeds, false_positive, tally.copy_difference_sum / seeds);
  std::cout << fmt::format(
      "    copy vs baseline, significance alone:  {:3d}/{} accepted = {:.3f}\n",
      tally.copy_significant, seeds, static_cast<double>(tally.copy_significant) / seeds);
  std::cout << fmt::format(
      "(b) better vs baseline, acceptance rule:   {:3d}/{} accepted = {:.3f}  (mean difference "
      "{:+.2f})\n",
      tally.better_accepted, seeds, static_cast<double>(tally.better_accepted) / seeds,
      tally.better_difference_sum / seeds);
  std::cout << fmt::format("runtime: {:.1f} s\n", seconds);
  return false_positive <= nominal ? 0 : 1;
}
