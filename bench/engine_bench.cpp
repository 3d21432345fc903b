// Whole-engine benchmark with a real provider path: tenants/multihop_qa (retrieve → summarise →
// query → retrieve → answer), switched to provider "openai" at the in-process loopback test
// endpoint, evaluated through fapo::evaluate — template rendering, the response cache, the
// process scheduler, HTTP, reply parsing, BM25, scoring and the run store all included.
// Measures; asserts nothing except that the runs succeed.
//
//   engine_bench [--source REPO] [--scale-calls 3000] [--latency-ms 50] [--concurrency 64]
//                [--keep DIR]
//
// --source is the repository root holding tenants/multihop_qa (default: the current directory).
//
// (a) calls per second at zero latency, on every split of the tenant (a fresh cache), then the
//     same runs again answered from the cache;
// (b) --scale-calls calls at --latency-ms through --concurrency workers: wall time against the
//     ideal calls × latency ÷ concurrency;
// (c) incremental re-evaluation: the train split of the baseline (cached by (a)), then a
//     variant that changes only the answer prompt. Only the answer step may reach the endpoint:
//     its request count must equal the number of cases.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench/endpoint/test_endpoint.h"
#include "engine/base/files.h"
#include "engine/run/evaluator.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kTenant = "multihop_qa";
constexpr const char* kScaleTenant = "multihop_scale";

fs::path g_source = ".";  // the repository root, from --source

// A short, deterministic reply: the question the prompt quotes ("Question: ..."), so the
// second search has a sensible query and identical requests get identical replies.
fapo::bench::ScriptedReply question_script(const fapo::bench::EndpointRequest& request) {
  std::string text;
  for (const auto& message : request.body.value("messages", json::array())) {
    if (message.value("role", "") == "user") text = message.value("content", "");
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Question: ", 0) == 0) return {line.substr(10), {}, "stop"};
  }
  return {"no question", {}, "stop"};
}

fapo::Status fail(const std::string& message) {
  return fapo::make_error(fapo::ErrorCode::kInternal, message);
}

fapo::Result<json> read_json(const fs::path& path) {
  FAPO_ASSIGN_OR_RETURN(std::string text, fapo::read_file(path));
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return fail(path.string() + " is not JSON").error();
  return parsed;
}

// Copies tenants/multihop_qa into the workspace as `name`, with the task model at `base_url`
// and, when `cases` > 0, a dataset of that many cases, all in the train split, cycling through
// the original ones. Each copy's question is tagged, so no two cases send identical requests
// (identical requests would be answered once and shared by the response cache).
fapo::Status write_tenant(const fs::path& workspace, const std::string& name,
                          const std::string& base_url, int concurrency, int cases = 0) {
  const fs::path source = g_source / "tenants" / kTenant;
  const fs::path target = workspace / "tenants" / name;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  fs::copy(source, target, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
           ec);
  if (ec) return fail("cannot copy " + source.string() + ": " + ec.message());
  FAPO_ASSIGN_OR_RETURN(json tenant, read_json(target / "tenant.json"));
  tenant["tenant_id"] = name;
  tenant["task_model"] = {{"provider", "openai"}, {"model", "bench-model"},
                          {"base_url", base_url},  {"temperature", 1.0},
                          {"top_p", 0.95},         {"max_tokens", 1024},
                          {"timeout_s", 30},       {"retries", 2},
                          {"concurrency", concurrency}};
  tenant.erase("sim");
  if (cases > 0) {
    tenant["splits"] = {{"train", 1.0}, {"validation", 0.0}, {"test", 0.0}, {"seed", 1}};
    FAPO_ASSIGN_OR_RETURN(std::string dataset, fapo::read_file(source / "dataset.jsonl"));
    std::vector<json> originals;
    std::istringstream lines(dataset);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) originals.push_back(json::parse(line));
    }
    std::ostringstream out;
    for (int i = 0; i < cases; ++i) {
      json item = originals[static_cast<std::size_t>(i) % originals.size()];
      const std::string copy = std::to_string(i / static_cast<int>(originals.size()));
      item["case_id"] = item["case_id"].get<std::string>() + "-" + copy;
      item["context"]["question"] =
          item["context"]["question"].get<std::string>() + " (copy " + copy + ")";
      out << item.dump() << "\n";
    }
    FAPO_RETURN_IF_ERROR(fapo::write_file_atomic(target / "dataset.jsonl", out.str()));
  }
  return fapo::write_file_atomic(target / "tenant.json", tenant.dump(2));
}

struct Measured {
  fapo::RunSummary summary;
  double seconds = 0;
};

fapo::Result<Measured> run(const fs::path& root, const fapo::EvalRequest& request) {
  FAPO_ASSIGN_OR_RETURN(fapo::Workspace workspace, fapo::Workspace::open(root));
  auto start = std::chrono::steady_clock::now();
  FAPO_ASSIGN_OR_RETURN(fapo::RunSummary summary, fapo::evaluate(workspace, request));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (summary.status != "complete" || summary.infrastructure_failures > 0) {
    return fail(fmt::format("run {} of {} ended {} with {} infrastructure failures",
                            summary.run_id, request.tenant_id, summary.status,
                            summary.infrastructure_failures))
        .error();
  }
  return Measured{summary, seconds};
}

// (a) Every split at zero latency with a fresh cache, then again from the cache.
fapo::Status throughput(const fs::path& root) {
  FAPO_ASSIGN_OR_RETURN(auto endpoint, fapo::bench::TestEndpoint::start(
                                           {0, 64, fapo::bench::Latency::fixed(0), 1,
                                            question_script, "", {}, 16}));
  FAPO_RETURN_IF_ERROR(write_tenant(root, kTenant, endpoint->openai_base_url(), 8));
  for (bool cached : {false, true}) {
    long long calls = 0, cases = 0;
    double seconds = 0;
    for (const char* split : {"train", "validation", "test"}) {
      fapo::EvalRequest request;
      request.tenant_id = kTenant;
      request.split = split;
      FAPO_ASSIGN_OR_RETURN(Measured measured, run(root, request));
      calls += measured.summary.model_calls;
      cases += static_cast<long long>(measured.summary.cases);
      seconds += measured.seconds;
    }
    std::printf("(a) %-34s %5lld cases, %5lld model calls in %6.2f s = %8.1f calls/s "
                "(%lld endpoint requests so far)\n",
                cached ? "zero latency, all from the cache:" : "zero latency, fresh cache:",
                cases, calls, seconds, calls / seconds,
                static_cast<long long>(endpoint->requests()));
  }
  return fapo::ok_status();
}

// (b) Many calls at a fixed latency through many workers.
fapo::Status latency_bound(const fs::path& root, int target_calls, double latency_ms,
                           int concurrency) {
  FAPO_ASSIGN_OR_RETURN(auto endpoint,
                        fapo::bench::TestEndpoint::start(
                            {0, std::max(256, 2 * concurrency),
                             fapo::bench::Latency::fixed(latency_ms), 1, question_script, "",
                             {}, 16}));
  // Every multihop_qa case makes 3 model calls.
  FAPO_RETURN_IF_ERROR(write_tenant(root, kScaleTenant, endpoint->openai_base_url(), concurrency,
                                    std::max(1, (target_calls + 2) / 3)));
  fapo::EvalRequest request;
  request.tenant_id = kScaleTenant;
  request.concurrency = concurrency;
  FAPO_ASSIGN_OR_RETURN(Measured measured, run(root, request));
  const double calls = static_cast<double>(measured.summary.model_calls);
  const double ideal = calls * latency_ms / 1000.0 / concurrency;
  // A case's three calls are sequential, so cases go in whole waves of `concurrency`: the
  // fastest possible schedule takes ceil(cases / concurrency) waves of three latencies.
  const double cases = static_cast<double>(measured.summary.cases);
  const double waves_floor = std::ceil(cases / concurrency) * 3 * latency_ms / 1000.0;
  std::printf("(b) %.0f calls at %.0f ms latency, concurrency %d: wall %.2f s, ideal %.2f s "
              "(calls x latency / concurrency), ratio %.2f; endpoint peak in flight %d\n",
              calls, latency_ms, concurrency, measured.seconds, ideal, measured.seconds / ideal,
              endpoint->peak_in_flight());
  std::printf("(b) the same against the whole-wave floor of 3-call cases (%.0f cases): %.2f s, "
              "ratio %.2f\n",
              cases, waves_floor, measured.seconds / waves_floor);
  return fapo::ok_status();
}

// (c) A variant that changes only the last step re-calls only the last step.
fapo::Status incremental(const fs::path& root) {
  FAPO_ASSIGN_OR_RETURN(auto endpoint, fapo::bench::TestEndpoint::start(
                                           {0, 64, fapo::bench::Latency::fixed(0), 1,
                                            question_script, "", {}, 16}));
  FAPO_RETURN_IF_ERROR(write_tenant(root, kTenant, endpoint->openai_base_url(), 8));
  fapo::EvalRequest baseline;
  baseline.tenant_id = kTenant;
  FAPO_ASSIGN_OR_RETURN(Measured first, run(root, baseline));
  const std::int64_t before = endpoint->requests();

  const fs::path tenant = root / "tenants" / kTenant;
  const fs::path variant = root / "variants" / "brief_answer";
  std::error_code ec;
  fs::create_directories(variant / "prompts", ec);
  fs::copy(tenant / "chain.json", variant / "chain.json", fs::copy_options::overwrite_existing,
           ec);
  fs::copy(tenant / "prompts", variant / "prompts",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) return fail("cannot write the variant: " + ec.message());
  FAPO_ASSIGN_OR_RETURN(std::string answer, fapo::read_file(tenant / "prompts" / "answer.md"));
  FAPO_RETURN_IF_ERROR(fapo::write_file_atomic(
      variant / "prompts" / "answer.md", answer + "Reply with the answer only, in a few words.\n"));

  fapo::EvalRequest changed = baseline;
  changed.variant_dir = "variants/brief_answer";
  FAPO_ASSIGN_OR_RETURN(Measured second, run(root, changed));
  const std::int64_t made = endpoint->requests() - before;
  std::printf("(c) baseline train run: %zu cases, %lld model calls (%lld from the cache)\n",
              first.summary.cases, first.summary.model_calls, first.summary.cached_calls);
  std::printf("(c) variant with a new answer prompt: %zu cases, %lld model calls, %lld from the "
              "cache, %lld made (endpoint saw %lld requests): %s\n",
              second.summary.cases, second.summary.model_calls, second.summary.cached_calls,
              static_cast<long long>(second.summary.usage["task"].calls),
              static_cast<long long>(made),
              made == static_cast<std::int64_t>(second.summary.cases)
                  ? "equals the number of cases"
                  : "DIFFERS from the number of cases");
  return fapo::ok_status();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Whole-engine benchmark against the loopback test endpoint"};
  int scale_calls = 3000;
  double latency_ms = 50;
  int concurrency = 64;
  std::string keep;
  app.add_option("--scale-calls", scale_calls, "Calls in part (b) (rounded up to whole cases)");
  app.add_option("--latency-ms", latency_ms, "Endpoint latency in part (b)");
  app.add_option("--concurrency", concurrency, "Workers in part (b)");
  app.add_option("--keep", keep, "Use this workspace directory and keep it");
  app.add_option("--source", g_source, "Repository root holding tenants/multihop_qa");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const std::string scratch = "fapo-engine-bench-" + std::to_string(::getpid());
  fs::path root = keep.empty() ? fs::temp_directory_path() / scratch : fs::path(keep);
  fs::remove_all(root);
  fs::create_directories(root);
  fapo::Status status = throughput(root);
  if (status.ok()) status = latency_bound(root, scale_calls, latency_ms, concurrency);
  if (status.ok()) status = incremental(root);
  if (keep.empty()) fs::remove_all(root);
  if (!status.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", status.error().message.c_str());
    return 1;
  }
  return 0;
}
