// Throughput of the real provider path: OpenAiClient + Scheduler + HTTP over loopback against
// the in-process test endpoint. Prints wall time against the ideal (calls × latency ÷
// concurrency), then calls per second with zero latency. Measures; asserts nothing.
//   provider_bench --calls 3000 --latency-ms 50 --concurrency 64
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "bench/endpoint/test_endpoint.h"
#include "engine/llm/http_model_client.h"
#include "engine/llm/scheduler.h"

namespace {

struct Outcome {
  double wall_s = 0;
  int failures = 0;
  std::vector<double> latencies_ms;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

// Sends `calls` distinct requests from `concurrency` threads through one client.
fapo::Result<Outcome> run(double latency_ms, int calls, int concurrency) {
  fapo::bench::TestEndpointOptions endpoint_options;
  endpoint_options.latency = fapo::bench::Latency::fixed(latency_ms);
  endpoint_options.threads = std::max(256, 2 * concurrency);
  FAPO_ASSIGN_OR_RETURN(auto endpoint, fapo::bench::TestEndpoint::start(endpoint_options));

  fapo::Scheduler scheduler;
  fapo::ProviderConfig config;
  config.provider = "openai";
  config.model = "bench-model";
  config.base_url = endpoint->openai_base_url();
  config.concurrency = concurrency;
  config.timeout_s = 30;
  config.retries = 2;
  FAPO_ASSIGN_OR_RETURN(auto client, fapo::make_provider_client(config, scheduler, {}));

  Outcome outcome;
  outcome.latencies_ms.resize(static_cast<std::size_t>(calls));
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < calls; i = next++) {
        fapo::ModelRequest request;
        request.messages = {{"system", "Answer in one word."},
                            {"user", "Question number " + std::to_string(i) + "?"}};
        const auto sent = std::chrono::steady_clock::now();
        auto reply = client->complete(request, {});
        if (!reply.ok()) {
          ++failures;
          continue;
        }
        outcome.latencies_ms[static_cast<std::size_t>(i)] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                .count();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  outcome.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.failures = failures.load();
  if (endpoint->requests() != calls) {
    std::fprintf(stderr, "warning: endpoint served %lld requests for %d calls\n",
                 static_cast<long long>(endpoint->requests()), calls);
  }
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"OpenAI client + scheduler throughput against the loopback test endpoint"};
  int calls = 3000;
  double latency_ms = 50;
  int concurrency = 64;
  int zero_latency_calls = 3000;
  app.add_option("--calls", calls, "calls at the given latency")->check(CLI::PositiveNumber);
  app.add_option("--latency-ms", latency_ms, "endpoint latency per call")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--concurrency", concurrency, "scheduler concurrency and client threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--zero-latency-calls", zero_latency_calls, "calls for the zero-latency run")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  auto timed = run(latency_ms, calls, concurrency);
  if (!timed.ok()) {
    std::fprintf(stderr, "provider_bench: %s\n", timed.error().message.c_str());
    return 1;
  }
  const double ideal_s = calls * latency_ms / 1000.0 / concurrency;
  std::printf("provider_bench: %d calls, latency %.0f ms, concurrency %d\n", calls, latency_ms,
              concurrency);
  std::printf("  wall %.3f s, ideal %.3f s, ratio %.3f, %.1f calls/s, failures %d\n",
              timed->wall_s, ideal_s, ideal_s > 0 ? timed->wall_s / ideal_s : 0.0,
              calls / timed->wall_s, timed->failures);
  std::printf("  call latency p50 %.1f ms, p99 %.1f ms\n", percentile(timed->latencies_ms, 0.5),
              percentile(timed->latencies_ms, 0.99));

  if (zero_latency_calls > 0) {
    auto fast = run(0, zero_latency_calls, concurrency);
    if (!fast.ok()) {
      std::fprintf(stderr, "provider_bench: %s\n", fast.error().message.c_str());
      return 1;
    }
    std::printf("  zero latency: %d calls in %.3f s, %.1f calls/s, failures %d\n",
                zero_latency_calls, fast->wall_s, zero_latency_calls / fast->wall_s,
                fast->failures);
  }
  return 0;
}
