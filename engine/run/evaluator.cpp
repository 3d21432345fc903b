#include "engine/run/evaluator.h"
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "engine/base/files.h"
#include "engine/chain/executor.h"
#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/llm/metered_client.h"
#include "engine/llm/provider_config.h"
#include "engine/run/run_store.h"
#include "engine/run/run_summary.h"
#include "engine/run/run_tools.h"
#include "engine/run/tenant.h"
#include "engine/run/work_queue.h"
#include "engine/score/judge.h"

namespace fapo {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Job {
  std::shared_ptr<const Case> case_data;
  int trial = 0;
};

// Everything a run needs once its inputs are checked.
struct PreparedRun {
  Tenant tenant;
  CompiledChain chain;
  std::string variant_id;
  SplitManifest manifest;
  std::vector<std::string> case_ids;
  nlohmann::json settings;
  std::string dataset_display;
};

// The pipeline a request names: a stored variant, a directory of the user's, or the baseline.
Result<PipelineConfig> load_variant(const Workspace& workspace, const Tenant& tenant,
                                    const EvalRequest& request, std::string& display) {
  if (!request.variant_id.empty() && !request.variant_dir.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "give either a stored variant id or a variant directory, not both");
  }
  fs::path dir;
  if (!request.variant_id.empty()) {
    FAPO_RETURN_IF_ERROR(check_variant_id(request.variant_id));
    dir = workspace.variant_dir(tenant.id, request.variant_id);
    if (!fs::is_directory(dir)) {
      return make_error(ErrorCode::kNotFound, "no stored variant " + request.variant_id +
                                                  " in tenant '" + tenant.id + "'");
    }
  } else if (!request.variant_dir.empty()) {
    FAPO_ASSIGN_OR_RETURN(dir, workspace.resolve_inside(request.variant_dir));
  } else {
    display = tenant.display_dir;
    return tenant.baseline;
  }
  display = workspace.display_path(dir);
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, load_pipeline(dir, display));
  Diagnostics frozen = check_tenant_rules(tenant, pipeline, display + "/chain.json");
  if (!frozen.empty()) return diagnostics_error(frozen);
  return pipeline;
}

nlohmann::json run_settings(const Tenant& tenant, const PreparedRun& run,
                            const std::string& dataset_sha) {
  const auto& model = tenant.config.task_model;
  nlohmann::json settings = {
      {"model", {{"provider", model.provider}, {"model", model.model},
                 {"temperature", model.temperature}, {"top_p", model.top_p},
                 {"max_tokens", model.max_tokens}}},
      {"scorer", tenant.config.scorer},
      {"split_fingerprint", run.manifest.fingerprint},
      {"dataset_sha256", dataset_sha},
      {"pipeline_hash", run.variant_id}};
  if (model.seed) settings["model"]["seed"] = *model.seed;
  if (model.provider == "sim") {
    settings["sim_sha256"] = sha256_hex(tenant.config.sim.dump());
  } else {
    settings["model"]["base_url"] = effective_base_url(task_provider_config(model));
  }
  return settings;
}

// Streams the split's cases of the dataset, in file order.
Status for_each_split_case(const Tenant& tenant, const std::unordered_set<std::string>& ids,
                           const std::function<bool(Case&&)>& visit) {
  bool stopped = false;
  Diagnostics problems = read_dataset(tenant.dir / "dataset.jsonl",
                                      tenant.display_dir + "/dataset.jsonl", [&](Case&& item) {
                                        if (stopped || !ids.count(item.case_id)) return;
                                        if (!visit(std::move(item))) stopped = true;
                                      });
  if (!problems.empty()) return diagnostics_error(problems);
  return ok_status();
}

// `validate` runs on every case before any model call: a dataset the scorer cannot read
// fails here, before anything is spent.
Status validate_split_cases(const Tenant& tenant, const std::unordered_set<std::string>& ids) {
  Diagnostics problems;
  std::size_t failures = 0;
  Status read = for_each_split_case(tenant, ids, [&](Case&& item) {
    Status valid = tenant.scorer->validate_case(item);
    if (!valid.ok() && ++failures <= 20) {
      problems.push_back({tenant.display_dir + "/dataset.jsonl", item.line, "",
                          "case '" + item.case_id + "': " + valid.error().message});
    }
    return true;
  });
  FAPO_RETURN_IF_ERROR(read);
  if (failures > 20) {
    problems.push_back({tenant.display_dir + "/dataset.jsonl", 0, "",
                        "... and " + std::to_string(failures - 20) + " more cases"});
  }
  if (!problems.empty()) {
    return diagnostics_error(problems).with_context("the scorer cannot score these cases");
  }
  return ok_status();
}

Result<PreparedRun> prepare(const Workspace& workspace, const EvalRequest& request,
                            const std::atomic<bool>* cancel) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(request.tenant_id));
  auto split = split_from_string(request.split);
  if (!split) {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + request.split + "' (valid: train, validation, test)");
  }
  if (request.trials < 1) {
    return make_error(ErrorCode::kInvalidInput, "trials must be at least 1");
  }
  // A missing API key or an unusable cache fails here, before any case runs.
  FAPO_ASSIGN_OR_RETURN(Tenant tenant, load_tenant(workspace, request.tenant_id,
                                                   ModelOptions{request.cache_mode, cancel}));
  std::string display;
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline,
                        load_variant(workspace, tenant, request, display));
  std::string variant_id = pipeline.content_hash();
  FAPO_ASSIGN_OR_RETURN(CompiledChain chain, CompiledChain::compile(std::move(pipeline), display));
  FAPO_ASSIGN_OR_RETURN(
      SplitManifest manifest,
      build_split_manifest(tenant.dir / "dataset.jsonl", tenant.display_dir + "/dataset.jsonl",
                           tenant.config.splits, tenant.dir));
  FAPO_RETURN_IF_ERROR(
      check_or_write_split_manifest(workspace.split_manifest_path(tenant.id), manifest));
  std::vector<std::string> case_ids = manifest.ids(*split);
  if (case_ids.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "split '" + request.split + "' of tenant '" + tenant.id + "' has no cases");
  }
  PreparedRun run{std::move(tenant), std::move(chain), variant_id, std::move(manifest),
                  std::move(case_ids), {}, ""};
  FAPO_ASSIGN_OR_RETURN(std::string dataset_sha, sha256_file(run.tenant.dir / "dataset.jsonl"));
  run.settings = run_settings(run.tenant, run, dataset_sha);
  return run;
}

// Refuses to continue a run whose inputs changed since it started.
Status check_resumable(const RunPlan& plan, const PreparedRun& run, const EvalRequest& request) {
  if (plan.variant_id != run.variant_id) {
    return make_error(ErrorCode::kConflict,
                      "run " + plan.run_id + " evaluated another variant; resume it with the "
                      "same --variant it was started with");
  }
  for (const auto& [key, value] : run.settings.items()) {
    if (!plan.settings.contains(key) || plan.settings[key] != value) {
      return make_error(ErrorCode::kConflict, "run " + plan.run_id + " cannot be resumed: '" +
                                                  key + "' changed since it started");
    }
  }
  if (plan.split != request.split) {
    return make_error(ErrorCode::kConflict,
                      "run " + plan.run_id + " is on split '" + plan.split + "', not '" +
                          request.split + "'");
  }
  return ok_status();
}

nlohmann::json result_line(const Case& item, int trial, const CaseTrace& trace,
                           const Scorer& scorer, const CostTotals& task_usage) {
  nlohmann::json line = {{"case_id", item.case_id},
                         {"trial", trial},
                         {"final_output", trace.final_output},
                         {"latency_ms", trace.latency_ms},
                         {"tokens_in", trace.tokens_in},
                         {"tokens_out", trace.tokens_out},
                         {"model_calls", trace.model_calls},
                         {"usage", {{cost_role_name(CostRole::kTask), task_usage.to_json()}}},
                         {"trace", to_json(trace)}};
  if (trace.infrastructure_failure) {
    line["infrastructure_failure"] = true;
    line["score"] = nullptr;
    line["error"] = trace.error.value_or("model call failed");
    return line;
  }
  if (trace.error) line["error"] = *trace.error;  // the chain failed: scored on what it left
  // An LLM judge's calls count even when scoring fails and no Score carries them.
  JudgeRecording judge;
  auto score = scorer.score(item, trace.final_output, trace);
  if (judge.used()) {
    line["usage"][cost_role_name(CostRole::kJudge)] = judge.usage().to_json();
    line["judge_notes"] = judge.notes();
    if (judge.fallbacks() > 0) line["judge_fallbacks"] = judge.fallbacks();
  }
  if (!score.ok()) {
    line["score"] = nullptr;
    line["scorer_error"] = score.error().message;
    return line;
  }
  line["score"] = score->composite;
  line["breakdown"] = score->breakdown;
  return line;
}

// Runs the jobs on `workers` threads; the calling thread reads the dataset into the queue.
class RunLoop {
 public:
  // `ids` (the plan's case ids) is borrowed and must outlive the loop.
  RunLoop(PreparedRun& run, const std::unordered_set<std::string>& ids, RunWriter& writer,
          EvalObserver* observer, const std::atomic<bool>* cancel, std::size_t total,
          std::size_t done)
      : run_(run), ids_(ids), writer_(writer), observer_(observer), cancel_(cancel),
        total_(total), done_(done),
        task_model_(run.tenant.model, CostRole::kTask,
                    Prices{run.tenant.config.task_model.prices.input_per_mtok,
                           run.tenant.config.task_model.prices.output_per_mtok}) {}

  // `tools` may be null (no react step); borrowed for the duration of the call.
  Status run(int workers, const ToolSet* tools) {
    const auto& model = run_.tenant.config.task_model;
    ExecutionSettings settings{model.model, {model.temperature, model.top_p, model.max_tokens,
                                             model.seed}};
    ChainExecutor executor(run_.chain, task_model_, run_.tenant.index.get(), settings, tools);
    WorkQueue<Job> queue(static_cast<std::size_t>(workers) * 4);
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) {
      threads.emplace_back([&] { work(executor, queue); });
    }
    int trials = writer_.plan().trials;
    Status read = for_each_split_case(run_.tenant, ids_, [&](Case&& item) {
      auto shared = std::make_shared<const Case>(std::move(item));
      for (int trial = 0; trial < trials; ++trial) {
        if (stopping()) return false;
        if (writer_.is_done(shared->case_id, trial)) continue;
        if (!queue.push(Job{shared, trial})) return false;
      }
      return true;
    });
    queue.close();
    for (auto& thread : threads) thread.join();
    if (!read.ok()) return read;
    std::lock_guard lock(mutex_);
    return first_error_ ? Status(*first_error_) : ok_status();
  }

  bool cancelled() const { return cancel_ && cancel_->load(); }

 private:
  bool stopping() {
    std::lock_guard lock(mutex_);
    return cancelled() || first_error_.has_value();
  }

  void work(const ChainExecutor& executor, WorkQueue<Job>& queue) {
    while (auto job = queue.pop()) {
      if (stopping()) continue;  // drain without working
      auto trace = executor.run(*job->case_data, job->trial, cancel_);
      // Taken even when the case is not recorded: a resumed run redoes it and counts it then.
      CostTotals usage = task_model_.take(job->case_data->case_id, job->trial);
      if (!trace.ok()) {
        if (trace.error().code != ErrorCode::kCancelled) fail(trace.error());
        continue;
      }
      nlohmann::json line =
          result_line(*job->case_data, job->trial, *trace, *run_.tenant.scorer, usage);
      double score = line["score"].is_number() ? line["score"].get<double>() : -1;
      Status appended = writer_.append_result(line);
      if (!appended.ok()) {
        fail(appended.error());
        continue;
      }
      record(score);
    }
  }

  void record(double score) {
    std::size_t done;
    double mean;
    {
      std::lock_guard lock(mutex_);
      done = ++done_;
      if (score >= 0) {
        sum_ += score;
        ++scored_;
      }
      mean = scored_ ? sum_ / scored_ : 0;
      if (writer_.progress_due() || done == total_) {
        // Progress is advisory: a failed write must not stop the run.
        (void)writer_.write_progress({{"done", done}, {"total", total_}, {"mean", mean}},
                                     /*force=*/done == total_);
      }
    }
    if (observer_) observer_->on_result(done, total_, mean);
  }

  void fail(const Error& error) {
    std::lock_guard lock(mutex_);
    if (!first_error_) first_error_ = error;
  }

  PreparedRun& run_;
  const std::unordered_set<std::string>& ids_;
  RunWriter& writer_;
  EvalObserver* observer_;
  const std::atomic<bool>* cancel_;
  std::size_t total_;
  std::mutex mutex_;  // guards done_, sum_, scored_ and first_error_
  std::size_t done_;
  double sum_ = 0;
  std::size_t scored_ = 0;
  std::optional<Error> first_error_;
  MeteredClient task_model_;  // thread-safe itself
};

Result<RunSummary> summarize(const RunStore& store, const RunWriter& writer,
                             const PreparedRun& run) {
  SummaryAccumulator accumulator;
  FAPO_RETURN_IF_ERROR(store.for_each_result(
      writer.plan().run_id, [&](const nlohmann::json& line) { accumulator.add(line); }));
  RunSummary summary;
  accumulator.fill(summary);
  const auto& plan = writer.plan();
  summary.run_id = plan.run_id;
  summary.tenant_id = plan.tenant_id;
  summary.variant_id = plan.variant_id;
  summary.split = plan.split;
  summary.trials = plan.trials;
  summary.cases = plan.case_ids.size();
  summary.model_provider = run.tenant.config.task_model.provider;
  return summary;
}

Result<RunWriter> open_writer(RunStore& store, PreparedRun& run, const EvalRequest& request) {
  if (!request.resume_run_id.empty()) {
    FAPO_RETURN_IF_ERROR(check_run_id(request.resume_run_id));
    FAPO_ASSIGN_OR_RETURN(RunPlan plan, store.load_plan(request.resume_run_id));
    FAPO_RETURN_IF_ERROR(check_resumable(plan, run, request));
    return store.reopen_for_resume(request.resume_run_id);
  }
  RunPlan plan;
  plan.tenant_id = run.tenant.id;
  plan.variant_id = run.variant_id;
  plan.split = request.split;
  plan.trials = request.trials;
  plan.case_ids = run.case_ids;
  plan.settings = run.settings;
  return store.create(std::move(plan));
}

}  // namespace

const char* cache_mode_name(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNormal: return "use";
    case CacheMode::kDisabled: return "off";
    case CacheMode::kReplayOnly: return "replay-only";
  }
  return "use";
}

Result<RunSummary> evaluate(const Workspace& workspace, const EvalRequest& request,
                            EvalObserver* observer, const std::atomic<bool>* cancel) {
  auto started = SteadyClock::now();
  FAPO_ASSIGN_OR_RETURN(PreparedRun run, prepare(workspace, request, cancel));
  std::unordered_set<std::string> ids(run.case_ids.begin(), run.case_ids.end());
  FAPO_RETURN_IF_ERROR(validate_split_cases(run.tenant, ids));
  RunStore store(workspace, run.tenant.id);
  FAPO_ASSIGN_OR_RETURN(RunWriter writer, open_writer(store, run, request));
  const RunPlan& plan = writer.plan();
  std::size_t total = plan.case_ids.size() * static_cast<std::size_t>(plan.trials);
  std::size_t done = writer.done().size();
  spdlog::info("run {} started: tenant {}, split {}, {} results ({} done)", plan.run_id,
               plan.tenant_id, plan.split, total, done);
  if (observer) observer->on_started(plan.run_id, total, done);
  int workers = request.concurrency > 0 ? request.concurrency
                                        : std::max(1, run.tenant.config.task_model.concurrency);
  // Tool servers live exactly as long as the cases that call them.
  std::shared_ptr<ToolSet> tools =
      start_run_tools(run.tenant, run.chain, workers,
                      workspace.run_dir(run.tenant.id, plan.run_id) / "tool_servers.log");
  RunLoop loop(run, ids, writer, observer, cancel, total, done);
  Status ran = loop.run(workers, tools.get());
  tools.reset();
  std::string status = ran.ok() ? (loop.cancelled() ? "cancelled" : "complete") : "failed";
  FAPO_ASSIGN_OR_RETURN(RunSummary summary, summarize(store, writer, run));
  summary.status = status;
  summary.cache_mode = cache_mode_name(request.cache_mode);
  summary.wall_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  if (status == "complete" && summary.results != total) {
    // Every (case, trial) must be recorded exactly once before a run is called complete.
    summary.status = status = "failed";
    ran = make_error(ErrorCode::kInternal, "run " + plan.run_id + " recorded " +
                                               std::to_string(summary.results) + " of " +
                                               std::to_string(total) + " results");
  }
  FAPO_RETURN_IF_ERROR(writer.finish(to_json(summary), status));
  spdlog::info("run {} {}: mean {:.2f} over {} results", plan.run_id, status, summary.mean,
               summary.scored);
  if (!ran.ok()) return ran.error().with_context("run " + plan.run_id + " failed (resumable)");
  return summary;
}

}  // namespace fapo
