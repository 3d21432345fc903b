// `fapo eval TENANT [--split] [--trials] [--variant DIR] [--resume RUN] [--no-cache |
// --replay-only] [--json]`: runs an evaluation with progress on a terminal and a summary table
// at the end. Ctrl-C stops the run
// cleanly; it can be resumed with --resume.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>

#include "engine/run/evaluator.h"
#include "mcp_server/cli/cli.h"

namespace fapo::cli {
namespace {

std::atomic<bool> g_cancel{false};

void on_interrupt(int) { g_cancel.store(true); }

// Draws a one-line progress bar on stderr when it is a terminal, at most ten times a second.
class TerminalProgress final : public EvalObserver {
 public:
  explicit TerminalProgress(bool enabled) : enabled_(enabled) {}

  void on_started(const std::string& run_id, std::size_t total, std::size_t done) override {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    std::cerr << "run " << run_id << ": " << total << " results to compute";
    if (done > 0) std::cerr << " (" << done << " already done, resuming)";
    std::cerr << "\n";
  }

  void on_result(std::size_t done, std::size_t total, double running_mean) override {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    int width = 30;
    int filled = total ? static_cast<int>(width * done / total) : width;
    std::cerr << "\r  [" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
              << done << "/" << total << "  mean " << fmt::format("{:.1f}", running_mean)
              << (done == total ? "\n" : "") << std::flush;
  }

 private:
  bool enabled_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_draw_{};
};

void print_summary(const RunSummary& summary) {
  auto row = [](const std::string& name, const std::string& value) {
    std::cout << fmt::format("  {:<26} {}\n", name, value);
  };
  std::cout << "\nrun " << summary.run_id << " (" << summary.status << ")\n";
  row("tenant", summary.tenant_id);
  row("variant", summary.variant_id.substr(0, 12));
  row("split", summary.split);
  row("model", summary.model_provider +
                   (summary.model_provider == "sim" ? " (simulated, offline)" : ""));
  row("cases x trials", fmt::format("{} x {}", summary.cases, summary.trials));
  row("mean score", fmt::format("{:.2f} / 100  (± {:.2f} s.e.)", summary.mean,
                                summary.standard_error));
  for (std::size_t t = 0; t < summary.trial_means.size(); ++t) {
    row(fmt::format("  trial {}", t + 1), fmt::format("{:.2f}", summary.trial_means[t]));
  }
  for (const auto& [name, value] : summary.breakdown_means) {
    row("  " + name, fmt::format("{:.3f}", value));
  }
  row("scored results", fmt::format("{} of {}", summary.scored, summary.results));
  row("infrastructure failures", std::to_string(summary.infrastructure_failures) +
                                     " (excluded from the mean)");
  if (summary.scorer_failures > 0) {
    row("scorer failures", std::to_string(summary.scorer_failures) + " (excluded)");
  }
  row("model calls",
      summary.model_provider == "sim"
          ? fmt::format("{} (simulated: never cached)", summary.model_calls)
          : fmt::format("{} ({} from the response cache, cache {})", summary.model_calls,
                        summary.cached_calls, summary.cache_mode));
  row("tokens in / out", fmt::format("{} / {}", summary.tokens_in, summary.tokens_out));
  for (const auto& [role, usage] : summary.usage) {
    if (usage.calls + usage.cached + usage.failed == 0 && role != "task") continue;
    row("  " + role + " provider calls",
        fmt::format("{} ({} attempts, {} failed), tokens {} / {}, ${:.4f}", usage.calls,
                    usage.attempts, usage.failed, usage.tokens_in, usage.tokens_out, usage.cost));
  }
  row("cost", fmt::format("${:.4f}", summary.cost));
  row("wall time", fmt::format("{:.2f} s", summary.wall_seconds));
}

}  // namespace

void add_eval_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand("eval", "Evaluate a tenant's pipeline on a split");
  auto request = std::make_shared<EvalRequest>();
  command->add_option("tenant", request->tenant_id, "Tenant id")->required();
  command->add_option("--split", request->split, "train, validation or test (default: train)")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  command->add_option("--trials", request->trials, "Trials per case (default: 1)")
      ->check(CLI::Range(1, 20));
  command->add_option("--variant", request->variant_dir,
                      "Directory with chain.json and prompts/ (default: the baseline)");
  command->add_option("--resume", request->resume_run_id, "Continue an interrupted run");
  command->add_option("--concurrency", request->concurrency, "Parallel cases")
      ->check(CLI::Range(1, 1024));
  auto* no_cache = command->add_flag_callback(
      "--no-cache", [request] { request->cache_mode = CacheMode::kDisabled; },
      "Call the model for every request, ignoring and not filling the response cache");
  auto* replay_only = command->add_flag_callback(
      "--replay-only", [request] { request->cache_mode = CacheMode::kReplayOnly; },
      "Answer only from the response cache, never calling the model; a miss fails that case");
  no_cache->excludes(replay_only);
  command->add_flag("--json", options.json, "Print the summary as JSON");
  command->add_flag("--quiet", options.quiet, "No progress output");
  command->callback([&options, &exit_code, request] {
    auto workspace = Workspace::open(options.workspace);
    if (!workspace.ok()) {
      exit_code = report_error(options, workspace.error());
      return;
    }
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    TerminalProgress progress(!options.quiet && ::isatty(STDERR_FILENO));
    auto summary = evaluate(*workspace, *request, &progress, &g_cancel);
    if (!summary.ok()) {
      exit_code = report_error(options, summary.error());
      return;
    }
    if (options.json) {
      std::cout << to_json(*summary).dump(2) << "\n";
    } else {
      print_summary(*summary);
    }
    if (summary->status == "cancelled") {
      std::cerr << "interrupted: resume with  fapo eval " << summary->tenant_id << " --resume "
                << summary->run_id << "\n";
      exit_code = kExitCancelled;
    } else {
      exit_code = kExitOk;
    }
  });
}

}  // namespace fapo::cli
