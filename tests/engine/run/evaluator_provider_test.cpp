// Runs through the whole evaluator with a tenant whose task model is `openai`, pointed at the
// loopback test endpoint: faults the endpoint injects are retried or recorded as
// infrastructure failures without losing a case, key problems are reported clearly, and the
// response cache makes repeated runs free (the endpoint counts every request it receives).
// Backoffs and Retry-After run on a ManualClock; only attempt timeouts take real time.
#include "engine/run/evaluator.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

#include "bench/endpoint/test_endpoint.h"
#include "engine/base/strings.h"
#include "engine/llm/process_scheduler.h"
#include "engine/run/run_store.h"
#include "engine/run/tenant.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_text;

constexpr const char* kTenant = "qa";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Replies with the last word of the last user message: "say blue" → "blue".
bench::ScriptedReply last_word(const bench::EndpointRequest& request) {
  std::string text;
  for (const auto& message : request.body.value("messages", json::array())) {
    if (message.value("role", "") == "user") text = message.value("content", "");
  }
  std::string trimmed = trim(text);
  auto space = trimmed.find_last_of(" \n");
  return {space == std::string::npos ? trimmed : trimmed.substr(space + 1), {}, "stop"};
}

struct Options {
  std::string api_key_env;  // empty: none (a local server without keys)
  double timeout_s = 2;
  int retries = 2;
};

class ProviderFixture {
 public:
  explicit ProviderFixture(bench::TestEndpointOptions endpoint_options = {}) {
    endpoint_options.script = last_word;
    auto started = bench::TestEndpoint::start(std::move(endpoint_options));
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
    endpoint = std::move(*started);
  }

  // A two-step tenant (draft → answer) with one case per question; every answer is "blue".
  void write_tenant(const std::vector<std::string>& questions, const Options& options = {}) {
    const auto tenant = dir.path() / "tenants" / kTenant;
    json model = {{"provider", "openai"},
                  {"model", "test-model"},
                  {"base_url", endpoint->openai_base_url()},
                  {"temperature", 0.0},
                  {"timeout_s", options.timeout_s},
                  {"retries", options.retries},
                  {"concurrency", 2},
                  {"prices", {{"input_per_mtok", 2.0}, {"output_per_mtok", 8.0}}}};
    if (!options.api_key_env.empty()) model["api_key_env"] = options.api_key_env;
    json config = {{"tenant_id", kTenant},
                   {"task_model", model},
                   {"splits", {{"train", 1.0}, {"validation", 0.0}, {"test", 0.0},
                               {"stratify", nullptr}}},
                   {"scorer", {{"type", "exact_match"}, {"field", "answer"}}}};
    write_text(tenant / "tenant.json", config.dump(2));
    write_text(tenant / "chain.json", R"({"steps": [
      {"id": "draft", "kind": "llm", "prompt": "draft.md"},
      {"id": "answer", "kind": "llm", "prompt": "answer.md"}], "output": "answer"})");
    write_text(tenant / "prompts" / "draft.md", "System:\nDraft.\nUser:\n${question}\n");
    write_text(tenant / "prompts" / "answer.md",
               "System:\nAnswer.\nUser:\nQuestion: ${question}\nFinal: ${steps.draft.output}\n");
    std::ostringstream dataset;
    for (std::size_t i = 0; i < questions.size(); ++i) {
      dataset << json{{"case_id", "c" + std::to_string(i)},
                      {"task_type", "qa"},
                      {"context", {{"question", questions[i]}}},
                      {"expected", {{"answer", "blue"}}}}
                     .dump()
              << "\n";
    }
    write_text(tenant / "dataset.jsonl", dataset.str());
  }

  Workspace workspace() const {
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    return *opened;
  }

  Result<RunSummary> run(CacheMode mode = CacheMode::kNormal) {
    EvalRequest request;
    request.tenant_id = kTenant;
    request.cache_mode = mode;
    return evaluate(workspace(), request);
  }

  std::vector<json> results(const std::string& run_id) const {
    std::vector<json> lines;
    RunStore store(workspace(), kTenant);
    REQUIRE(store.for_each_result(run_id, [&](const json& line) { lines.push_back(line); }).ok());
    return lines;
  }

  json result_of(const std::string& run_id, const std::string& case_id) const {
    for (const json& line : results(run_id)) {
      if (line["case_id"] == case_id) return line;
    }
    FAIL("no result for " << case_id);
    return {};
  }

  TempDir dir;
  std::unique_ptr<bench::TestEndpoint> endpoint;
  ManualClock clock;
  Scheduler scheduler{SchedulerOptions{Millis(500), Millis(30000), Millis(120000), 1}, clock};
  ScopedProcessScheduler installed{scheduler};
};

RunSummary require_ok(const Result<RunSummary>& summary) {
  REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message));
  return *summary;
}

// One fault, two ways: once (the retry succeeds) and on every attempt (the case becomes an
// infrastructure failure after the retry budget). A clean case runs beside them.
// `recovered_attempts`: HTTP attempts of the recovering case in all (both of its steps carry
// the marker, so each fails `times` times first).
void check_fault(const std::string& once, const std::string& always, const Options& options,
                 const std::string& failure_text, int recovered_attempts) {
  CAPTURE(always);
  ProviderFixture f;
  f.write_tenant(
      {"say blue", "[[fault:" + once + "]] say blue", "[[fault:" + always + "]] say blue"},
      options);
  RunSummary summary = require_ok(f.run());
  CHECK(summary.status == "complete");
  CHECK(summary.results == 3);
  CHECK(summary.scored == 2);
  CHECK(summary.mean == doctest::Approx(100));
  CHECK(summary.infrastructure_failures == 1);
  CHECK(f.results(summary.run_id).size() == 3);

  json recovered = f.result_of(summary.run_id, "c1");
  CHECK(recovered["score"] == 100);
  CHECK(recovered["usage"]["task"]["calls"] == 2);
  CHECK(recovered["usage"]["task"]["attempts"] == recovered_attempts);
  json failed = f.result_of(summary.run_id, "c2");
  CHECK(failed["infrastructure_failure"] == true);
  CHECK(failed["score"].is_null());
  CHECK_MESSAGE(contains(failed["error"].get<std::string>(), failure_text), failed["error"]);
  // The failing step was tried once plus `retries` times; nothing after it ran.
  CHECK(failed["usage"]["task"]["failed"] == 1);
  CHECK(failed["usage"]["task"]["attempts"] == options.retries + 1);
  CHECK(summary.usage.at("task").failed == 1);
}

TEST_CASE("a rate limit with Retry-After is retried, and a persistent one fails only its case") {
  check_fault("429:retry=1*1", "429:retry=1", {}, "rate limited by http://127.0.0.1:", 4);
}

TEST_CASE("a server error is retried, and a persistent one fails only its case") {
  check_fault("500*2", "500", {}, "server error from http://127.0.0.1:", 6);
}

TEST_CASE("a hung request times out and is retried, and a persistent hang fails only its case") {
  Options options;
  options.timeout_s = 0.3;
  check_fault("hang:2000*1", "hang:2000", options, "timed out", 4);
}

TEST_CASE("malformed JSON is retried, and a persistent one fails only its case") {
  check_fault("malformed*1", "malformed", {}, "malformed JSON in the reply from", 4);
}

TEST_CASE("a truncated body is retried, and a persistent one fails only its case") {
  check_fault("truncated*1", "truncated", {}, "http://127.0.0.1:", 4);
}

TEST_CASE("a slow stream within the timeout is read whole, a slower one fails only its case") {
  Options options;
  options.timeout_s = 0.5;
  options.retries = 1;
  check_fault("slow:2", "slow:400", options, "timed out", 2);
}

TEST_CASE("a second identical run is served from the cache with the original latency") {
  ProviderFixture f;
  f.write_tenant({"say blue", "please say blue", "blue"});
  RunSummary first = require_ok(f.run());
  CHECK(first.mean == doctest::Approx(100));
  CHECK(first.usage.at("task").calls == 6);
  CHECK(first.cached_calls == 0);
  const std::int64_t requests = f.endpoint->requests();
  CHECK(requests == 6);

  RunSummary second = require_ok(f.run());
  CHECK(f.endpoint->requests() == requests);  // not one request
  CHECK(second.mean == first.mean);
  CHECK(second.model_calls == 6);
  CHECK(second.cached_calls == 6);
  CHECK(second.usage.at("task").calls == 0);
  CHECK(second.usage.at("task").tokens_in == 0);
  CHECK(second.cost == 0);
  json before = f.result_of(first.run_id, "c0")["trace"]["steps"][0];
  json after = f.result_of(second.run_id, "c0")["trace"]["steps"][0];
  CHECK(after["cached"] == true);
  CHECK_FALSE(before.contains("cached"));
  CHECK(after["latency_ms"] == before["latency_ms"]);
  CHECK(after["output"] == before["output"]);
}

TEST_CASE("--no-cache calls the provider again and stores nothing") {
  ProviderFixture f;
  f.write_tenant({"say blue", "blue"});
  RunSummary first = require_ok(f.run(CacheMode::kDisabled));
  CHECK(f.endpoint->requests() == 4);
  RunSummary second = require_ok(f.run(CacheMode::kDisabled));
  CHECK(f.endpoint->requests() == 8);
  CHECK(second.cached_calls == 0);
  CHECK(second.cache_mode == "off");
  // Nothing was stored, so a replay-only run finds nothing.
  RunSummary replay = require_ok(f.run(CacheMode::kReplayOnly));
  CHECK(replay.infrastructure_failures == 2);
  CHECK(first.usage.at("task").calls == 4);
}

TEST_CASE("replay-only answers from the cache and records a miss as that case's failure") {
  ProviderFixture f;
  f.write_tenant({"say blue", "blue"});
  RunSummary recorded = require_ok(f.run());
  CHECK(recorded.scored == 2);
  const std::int64_t requests = f.endpoint->requests();

  RunSummary replayed = require_ok(f.run(CacheMode::kReplayOnly));
  CHECK(replayed.scored == 2);
  CHECK(replayed.cached_calls == 4);
  CHECK(replayed.cache_mode == "replay-only");

  // A new case has nothing stored: it fails, the others replay, and nothing is sent.
  f.write_tenant({"say blue", "blue", "say blue again"});
  std::filesystem::remove(f.workspace().split_manifest_path(kTenant));  // adopt the new case
  RunSummary missed = require_ok(f.run(CacheMode::kReplayOnly));
  CHECK(f.endpoint->requests() == requests);
  CHECK(missed.status == "complete");
  CHECK(missed.results == 3);
  CHECK(missed.infrastructure_failures == 1);
  json failed = f.result_of(missed.run_id, "c2");
  CHECK(contains(failed["error"].get<std::string>(), "cache miss in replay-only mode"));
  CHECK(contains(failed["error"].get<std::string>(), "step 'draft', case 'c2'"));
}

TEST_CASE("usage and money per role go into the summary and the manifest") {
  ProviderFixture f;
  f.write_tenant({"say blue", "blue"});
  RunSummary summary = require_ok(f.run());
  const CostTotals& task = summary.usage.at("task");
  CHECK(task.calls == 4);
  CHECK(task.attempts == 4);
  CHECK(task.tokens_in > 0);
  CHECK(task.tokens_in == summary.tokens_in);
  CHECK(task.tokens_out == summary.tokens_out);
  CHECK(summary.cost == doctest::Approx((task.tokens_in * 2.0 + task.tokens_out * 8.0) / 1e6));
  CHECK(task.cost == doctest::Approx(summary.cost));

  json manifest = json::parse(testing::read_text(
      f.workspace().run_dir(kTenant, summary.run_id) / "manifest.json"));
  CHECK(manifest["summary"]["usage"]["task"]["calls"] == 4);
  CHECK(manifest["summary"]["cost"].get<double>() == doctest::Approx(summary.cost));
  CHECK(manifest["summary"]["cached_calls"] == 0);
}

TEST_CASE("a rejected key fails each case with 'invalid API key for <url>' and is never shown") {
  bench::TestEndpointOptions endpoint_options;
  endpoint_options.api_key = "sk-right-key";
  ProviderFixture f(endpoint_options);
  ::setenv("FAPO_PROVIDER_TEST_WRONG_KEY", "sk-wrong-key-1234", 1);
  Options options;
  options.api_key_env = "FAPO_PROVIDER_TEST_WRONG_KEY";
  f.write_tenant({"say blue", "blue"}, options);
  RunSummary summary = require_ok(f.run());
  CHECK(summary.infrastructure_failures == 2);
  CHECK(summary.usage.at("task").attempts == 2);  // permanent: no retries
  json failed = f.result_of(summary.run_id, "c0");
  const std::string expected =
      "invalid API key for " + f.endpoint->openai_base_url() + "/chat/completions";
  CHECK_MESSAGE(contains(failed["error"].get<std::string>(), expected), failed["error"]);
  const auto run_dir = f.workspace().run_dir(kTenant, summary.run_id);
  CHECK_FALSE(contains(testing::read_text(run_dir / "results.jsonl"), "sk-wrong-key"));
  ::unsetenv("FAPO_PROVIDER_TEST_WRONG_KEY");
}

TEST_CASE("a missing API key is reported before any case runs, naming the variable") {
  ProviderFixture f;
  ::unsetenv("FAPO_PROVIDER_TEST_MISSING_KEY");
  Options options;
  options.api_key_env = "FAPO_PROVIDER_TEST_MISSING_KEY";
  f.write_tenant({"say blue"}, options);

  auto summary = f.run();
  REQUIRE_FALSE(summary.ok());
  CHECK(summary.error().code == ErrorCode::kModelPermanent);
  const std::string& message = summary.error().message;
  CHECK(contains(message, "tenants/qa/tenant.json (tenant 'qa')"));
  CHECK(contains(message, "FAPO_PROVIDER_TEST_MISSING_KEY is not set"));
  CHECK(contains(message, "task_model.api_key_env"));
  CHECK(f.endpoint->requests() == 0);
  CHECK_FALSE(std::filesystem::exists(f.workspace().runs_dir(kTenant)));

  TenantReport report = validate_tenant(f.workspace(), kTenant);
  REQUIRE(report.diagnostics.size() == 1);
  CHECK(contains(report.diagnostics[0].message, "FAPO_PROVIDER_TEST_MISSING_KEY"));

  // An empty value is as good as none.
  ::setenv("FAPO_PROVIDER_TEST_MISSING_KEY", "  ", 1);
  CHECK_FALSE(f.run().ok());
  ::unsetenv("FAPO_PROVIDER_TEST_MISSING_KEY");
}

TEST_CASE("the task model settings map onto the provider settings") {
  TaskModelConfig model;
  model.provider = "anthropic";
  model.model = "claude-x";
  model.base_url = "http://127.0.0.1:9";
  model.api_key_env = "MY_KEY";
  model.temperature = 0.3;
  model.top_p = 0.5;
  model.max_tokens = 77;
  model.timeout_s = 12;
  model.retries = 6;
  model.concurrency = 3;
  model.requests_per_minute = 5'000'000'000;  // beyond int: clamped
  model.tokens_per_minute = 90'000;
  model.seed = 4;
  model.prices = {1.5, 6.0};
  ProviderConfig config = task_provider_config(model);
  CHECK(config.provider == "anthropic");
  CHECK(config.model == "claude-x");
  CHECK(config.base_url == "http://127.0.0.1:9");
  CHECK(config.api_key_env == "MY_KEY");
  CHECK(config.temperature == 0.3);
  CHECK(config.top_p == 0.5);
  CHECK(config.max_tokens == 77);
  CHECK(config.timeout_s == 12);
  CHECK(config.retries == 6);
  CHECK(config.concurrency == 3);
  CHECK(config.requests_per_minute == std::numeric_limits<int>::max());
  CHECK(config.tokens_per_minute == 90'000);
  CHECK(config.seed == 4);
  CHECK(config.prices.output_per_mtok == 6.0);
  CHECK(config.config_path == "task_model");
}

}  // namespace
}  // namespace fapo
