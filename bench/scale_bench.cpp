// Scale benchmark: evaluates generated tenants of 10,000 and 100,000 simple one-step cases with
// the simulated model and prints cases per second and peak resident memory for each size, so
// one run shows both the throughput and whether memory grows with the number of cases.
//
//   build/scale_bench [--sizes 10000,100000] [--concurrency 2] [--keep DIR]
//
// Each size runs in a child process, so its peak RSS (wait4's ru_maxrss) is its own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/run/evaluator.h"

namespace fs = std::filesystem;

namespace {

void write_tenant(const fs::path& workspace, std::size_t cases) {
  fs::path dir = workspace / "tenants" / "scale";
  fs::create_directories(dir / "prompts");
  nlohmann::json tenant = {
      {"tenant_id", "scale"},
      {"task_model", {{"provider", "sim"}, {"model", "sim-1"}, {"temperature", 1.0}}},
      {"splits", {{"train", 0.98}, {"validation", 0.01}, {"test", 0.01}, {"seed", 3}}},
      {"scorer", {{"type", "exact_match"}, {"field", "label"}}},
      {"sim",
       {{"seed", 5},
        {"rules",
         {{{"name", "verbose"}, {"when", {{"prompt_lacks_all", {"one word"}}}},
           {"probability", 0.3}, {"reply", "I think it is ${expected.label}, probably."}},
          {{"name", "label"}, {"when", nlohmann::json::object()},
           {"reply", "${expected.label}"}}}}}}};
  std::ofstream(dir / "tenant.json") << tenant.dump(2);
  std::ofstream(dir / "chain.json")
      << R"({"steps": [{"id": "label", "kind": "llm", "prompt": "label.md"}]})";
  std::ofstream(dir / "prompts" / "label.md") << "Label the text.\n${text}\n";
  std::ofstream dataset(dir / "dataset.jsonl");
  const char* labels[] = {"red", "green", "blue"};
  for (std::size_t i = 0; i < cases; ++i) {
    nlohmann::json line = {{"case_id", fmt::format("c{:06d}", i)},
                           {"task_type", labels[i % 3]},
                           {"context", {{"text", fmt::format("sample text number {}", i)}}},
                           {"expected", {{"label", labels[i % 3]}}}};
    dataset << line.dump() << "\n";
  }
}

int run_child(const fs::path& workspace, int concurrency) {
  auto opened = fapo::Workspace::open(workspace);
  if (!opened.ok()) return 2;
  fapo::EvalRequest request;
  request.tenant_id = "scale";
  request.concurrency = concurrency;
  auto start = std::chrono::steady_clock::now();
  auto summary = fapo::evaluate(*opened, request);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!summary.ok()) {
    std::cerr << summary.error().message << "\n";
    return 1;
  }
  // Passed to the parent through a file: stdout stays the table.
  std::ofstream(workspace / "bench_result.json")
      << nlohmann::json{{"results", summary->results}, {"seconds", seconds},
                        {"mean", summary->mean}}
             .dump();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = {10000, 100000};
  int concurrency = 2;
  std::string keep;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--sizes") {
      sizes.clear();
      for (const auto& part : nlohmann::json::parse("[" + std::string(argv[i + 1]) + "]")) {
        sizes.push_back(part.get<std::size_t>());
      }
    } else if (flag == "--concurrency") {
      concurrency = std::stoi(argv[i + 1]);
    } else if (flag == "--keep") {
      keep = argv[i + 1];
    }
  }
  std::cout << fmt::format("{:>10} {:>10} {:>10} {:>12} {:>14} {:>8}\n", "dataset", "evaluated",
                           "seconds", "cases/s", "peak RSS MB", "mean");
  for (std::size_t size : sizes) {
    fs::path workspace = keep.empty() ? fs::temp_directory_path() /
                                            fmt::format("fapo-scale-{}-{}", ::getpid(), size)
                                      : fs::path(keep) / std::to_string(size);
    fs::remove_all(workspace);
    write_tenant(workspace, size);
    pid_t child = ::fork();
    if (child == 0) ::_exit(run_child(workspace, concurrency));
    int status = 0;
    struct rusage usage {};
    ::wait4(child, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "evaluation of " << size << " cases failed\n";
      return 1;
    }
    std::ifstream in(workspace / "bench_result.json");
    auto result = nlohmann::json::parse(in);
    double seconds = result["seconds"].get<double>();
    std::size_t evaluated = result["results"].get<std::size_t>();
    std::cout << fmt::format("{:>10} {:>10} {:>10.2f} {:>12.0f} {:>14.1f} {:>8.2f}\n", size,
                             evaluated, seconds, evaluated / seconds, usage.ru_maxrss / 1024.0,
                             result["mean"].get<double>());
    if (keep.empty()) fs::remove_all(workspace);
  }
  return 0;
}
