// Attribution benchmark: evaluates the baseline of example tenants on their train split with
// the simulated model, attributes every failed case, and compares each attribution with the
// ground truth the simulator recorded (which rule answered each call). Prints, per tenant and
// overall, precision and recall per class and the share of failures attributed to the right
// class and to the right class and step, plus the multihop_qa report (clusters, recommended
// level, ceilings). Then confirms each tenant's attribution by counterfactual replay
// (engine/attribution/confirmation.h) and prints, per cluster, the replays tried, how many fixed
// the case and the rate, the calls estimated and spent, and the rate among cases whose
// attribution the ground truth agrees with against the rest (confirmation is useful when it
// separates the two).
//
// The ground truth is this file's business only: attribution never reads the simulator's
// record. Per tenant, a table maps the rules that cause a failure to (class, step); the first
// causing rule in execution order is the true cause. Temperature noise on a call counts as a
// cause too: on the answering step it is a format failure when the reply still holds the
// answer and a reasoning slip otherwise; on an intermediate step it drops the evidence when
// the step's output lost the fact it carried.
//
//   attribution_bench [--source DIR] [--tenants multihop_qa,word_math] [--keep DIR]
//                     [--trials N] [--max-cases N] [--replays N]

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/attribution/confirmation.h"
#include "engine/attribution/evidence.h"
#include "engine/attribution/run_attribution.h"
#include "engine/base/strings.h"
#include "engine/data/dataset.h"
#include "engine/run/evaluator.h"
#include "engine/run/run_store.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace fapo;

namespace {

struct Truth {
  std::string failure_class;
  std::string step;
};

// Per tenant: the rules that cause failures, the answering step, and intermediate facts.
struct TruthTable {
  std::map<std::string, Truth> causes;
  std::string answer_step;
  std::string intermediate_field;  // expected field an intermediate step must carry, or ""
};

const std::map<std::string, TruthTable>& truth_tables() {
  static const std::map<std::string, TruthTable> kTables = {
      {"multihop_qa",
       {{{"summarize_without_bridge", {"retrieval_miss", "hop1"}},
         {"summarize_drops_bridge", {"dropped_evidence", "summarize"}},
         {"answer_hedge_no_evidence", {"retrieval_miss", "hop2"}},
         {"answer_wrong_verbose", {"retrieval_miss", "hop2"}},
         {"answer_wrong", {"retrieval_miss", "hop2"}},
         {"answer_hedge_hard", {"reasoning", "answer"}},
         {"answer_confused", {"reasoning", "answer"}},
         {"answer_verbose", {"format", "answer"}}},
        "answer",
        "bridge"}},
      {"word_math",
       {{{"solve_slip", {"reasoning", "solve"}},
         {"verify_overturns", {"reasoning", "verify"}},
         {"verify_in_words", {"format", "verify"}},
         {"verify_blank", {"cascade", "verify"}}},
        "verify",
        ""}},
  };
  return kTables;
}

bool holds(const std::string& text, const std::string& value) {
  std::string hay = " " + normalize_evidence_text(text) + " ";
  return hay.find(" " + normalize_evidence_text(value) + " ") != std::string::npos;
}

// The true cause of a failed result, from the simulator's record in its trace.
Truth true_cause(const json& line, const Case& item, const TruthTable& table) {
  for (const json& step : line["trace"].value("steps", json::array())) {
    const json sim = step.value("detail", json::object()).value("sim", json());
    if (!sim.is_object()) continue;
    const std::string id = step.value("step_id", "");
    auto cause = table.causes.find(sim.value("rule", ""));
    if (cause != table.causes.end()) return cause->second;
    if (!sim.value("noise", false)) continue;
    const std::string reply = step.value("raw_reply", "");
    if (id == table.answer_step) {
      const std::string answer = item.expected.value("answer", json("")).is_string()
                                     ? item.expected["answer"].get<std::string>()
                                     : item.expected["answer"].dump();
      return holds(reply, answer) ? Truth{"format", id} : Truth{"reasoning", id};
    }
    if (!table.intermediate_field.empty() && item.expected.contains(table.intermediate_field) &&
        !holds(reply, item.expected[table.intermediate_field].get<std::string>())) {
      return Truth{"dropped_evidence", id};
    }
  }
  return Truth{"unknown", ""};
}

struct Tally {
  std::map<std::string, std::size_t> truth, predicted, correct;
  std::size_t total = 0, class_right = 0, class_and_step_right = 0;

  void add(const Truth& truth_value, const Attribution& attribution) {
    const std::string predicted_class = failure_class_name(attribution.failure_class);
    total += 1;
    truth[truth_value.failure_class] += 1;
    predicted[predicted_class] += 1;
    if (predicted_class == truth_value.failure_class) {
      correct[predicted_class] += 1;
      class_right += 1;
      if (attribution.step_id == truth_value.step) class_and_step_right += 1;
    }
  }

  void merge(const Tally& other) {
    for (const auto& [k, v] : other.truth) truth[k] += v;
    for (const auto& [k, v] : other.predicted) predicted[k] += v;
    for (const auto& [k, v] : other.correct) correct[k] += v;
    total += other.total;
    class_right += other.class_right;
    class_and_step_right += other.class_and_step_right;
  }

  void print(const std::string& title) const {
    std::cout << "\n" << title << ": " << total << " failed cases\n";
    std::cout << fmt::format("  {:<18} {:>6} {:>9} {:>10} {:>8}\n", "class", "truth",
                             "predicted", "precision", "recall");
    std::set<std::string> classes;
    for (const auto& [k, v] : truth) classes.insert(k);
    for (const auto& [k, v] : predicted) classes.insert(k);
    for (const std::string& name : classes) {
      auto get = [](const std::map<std::string, std::size_t>& m, const std::string& k) {
        auto found = m.find(k);
        return found == m.end() ? std::size_t{0} : found->second;
      };
      std::size_t t = get(truth, name), p = get(predicted, name), c = get(correct, name);
      std::cout << fmt::format("  {:<18} {:>6} {:>9} {:>10} {:>8}\n", name, t, p,
                               p ? fmt::format("{:.3f}", double(c) / p) : "-",
                               t ? fmt::format("{:.3f}", double(c) / t) : "-");
    }
    if (total == 0) return;
    std::cout << fmt::format("  class accuracy          {:.1f} % ({}/{})\n",
                             100.0 * class_right / total, class_right, total);
    std::cout << fmt::format("  class + step accuracy   {:.1f} % ({}/{})\n",
                             100.0 * class_and_step_right / total, class_and_step_right, total);
  }
};

void print_report(const json& report) {
  std::cout << fmt::format("\n{} run {} ({} split, simulated model): {} cases, mean {:.1f}, "
                           "{} failed\n",
                           report["tenant_id"].get<std::string>(),
                           report["run_id"].get<std::string>(), report["split"].get<std::string>(),
                           report["cases"].get<int>(), report["mean"].get<double>(),
                           report["failed_cases"].get<int>());
  std::cout << "  clusters (class / step / pattern: count, share, level, examples):\n";
  for (const json& cluster : report["clusters"]) {
    std::cout << fmt::format("    {:<16} {:<10} {:<16} {:>3}  {:>5.1f} %  {:<10} {}\n",
                             cluster["class"].get<std::string>(), cluster["step"].get<std::string>(),
                             cluster["pattern"].get<std::string>(), cluster["count"].get<int>(),
                             100 * cluster["share"].get<double>(),
                             cluster["level"].get<std::string>(),
                             join(cluster["example_case_ids"].get<std::vector<std::string>>(), ","));
  }
  std::cout << "  ceilings (level: addressable failures, ceiling, cumulative):\n";
  for (const json& ceiling : report["ceilings"]) {
    std::cout << fmt::format("    {:<10} {:>3}  {:>5.1f}  {:>5.1f}\n",
                             ceiling["level"].get<std::string>(),
                             ceiling["addressable"].get<int>(), ceiling["ceiling"].get<double>(),
                             ceiling["cumulative_ceiling"].get<double>());
  }
  std::cout << "  recommended level: " << report["recommended_level"].get<std::string>() << "\n  "
            << report["recommendation"].get<std::string>() << "\n";
}

struct ConfirmSettings {
  std::size_t max_cases = 1000;
  int replays = 1;
};

// Replayed cases split by whether the ground truth agrees with their attribution.
struct AgreementTally {
  std::size_t right = 0, right_fixed = 0, wrong = 0, wrong_fixed = 0;
};

void print_confirmation(const RunAttribution& report, const ConfirmationReport& confirmation,
                        const AgreementTally& agreement, double seconds) {
  std::cout << fmt::format("  confirmation by replay ({:.1f} s): {} cases, {} replays, {} fixed, "
                           "rate {:.3f}; calls estimated {}, spent {}\n",
                           seconds, confirmation.cases, confirmation.replays, confirmation.fixed,
                           confirmation.rate(), confirmation.estimated_calls,
                           confirmation.calls_spent);
  std::cout << fmt::format("    {:<16} {:<10} {:<16} {:>5}  {:<17} {:>7} {:>5} {:>6}\n", "class",
                           "step", "pattern", "count", "method", "replays", "fixed", "rate");
  for (std::size_t c = 0; c < report.analysis.clusters.size(); ++c) {
    const Cluster& cluster = report.analysis.clusters[c];
    const ClusterConfirmation& result = confirmation.clusters[c];
    std::cout << fmt::format("    {:<16} {:<10} {:<16} {:>5}  {:<17} {:>7} {:>5} {:>6}\n",
                             failure_class_name(cluster.failure_class), cluster.step_id,
                             output_pattern_name(cluster.pattern), cluster.count, result.method,
                             result.replays, result.fixed,
                             result.replays ? fmt::format("{:.3f}", double(result.fixed) /
                                                                        result.replays)
                                            : "-");
  }
  auto rate = [](std::size_t fixed, std::size_t all) {
    return all ? fmt::format("{:.3f}", double(fixed) / all) : std::string("-");
  };
  std::cout << fmt::format("    replayed cases the ground truth agrees with: {} ({} fixed, rate "
                           "{}); disagrees with: {} ({} fixed, rate {})\n",
                           agreement.right, agreement.right_fixed,
                           rate(agreement.right_fixed, agreement.right), agreement.wrong,
                           agreement.wrong_fixed, rate(agreement.wrong_fixed, agreement.wrong));
}

// Confirms the attribution of `report` by replay and prints the rates.
int confirm_tenant(const Workspace& workspace, const RunAttribution& report,
                   const std::map<std::string, bool>& agrees, const ConfirmSettings& settings) {
  auto start = std::chrono::steady_clock::now();
  auto tenant = load_tenant(workspace, report.tenant_id);
  if (!tenant.ok()) {
    std::cerr << report.tenant_id << ": " << tenant.error().message << "\n";
    return 1;
  }
  ConfirmationOptions options;
  options.max_cases = settings.max_cases;
  options.replays_per_case = settings.replays;
  auto plan = plan_confirmation(workspace, *tenant, report, options);
  if (!plan.ok()) {
    std::cerr << report.tenant_id << ": " << plan.error().message << "\n";
    return 1;
  }
  auto confirmation = run_confirmation(*tenant, report, *plan, options);
  if (!confirmation.ok()) {
    std::cerr << report.tenant_id << ": " << confirmation.error().message << "\n";
    return 1;
  }
  std::set<std::string> fixed;
  for (const ClusterConfirmation& cluster : confirmation->clusters) {
    fixed.insert(cluster.fixed_case_ids.begin(), cluster.fixed_case_ids.end());
  }
  AgreementTally agreement;
  for (const PlannedReplay& replay : plan->replays) {
    const bool was_fixed = fixed.count(replay.case_id) > 0;
    if (agrees.at(replay.case_id)) {
      agreement.right += 1;
      agreement.right_fixed += was_fixed;
    } else {
      agreement.wrong += 1;
      agreement.wrong_fixed += was_fixed;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_confirmation(report, *confirmation, agreement, seconds);
  return 0;
}

// Evaluates and attributes one tenant; adds its comparison with the ground truth to `tally`.
int bench_tenant(const Workspace& workspace, const std::string& tenant, int trials,
                 Tally& tally, bool show_report, const ConfirmSettings& confirm) {
  EvalRequest request;
  request.tenant_id = tenant;
  request.split = "train";
  request.trials = trials;
  auto start = std::chrono::steady_clock::now();
  auto summary = evaluate(workspace, request);
  if (!summary.ok()) {
    std::cerr << tenant << ": " << summary.error().message << "\n";
    return 1;
  }
  auto report = attribute_run(workspace, tenant, summary->run_id);
  if (!report.ok()) {
    std::cerr << tenant << ": " << report.error().message << "\n";
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::map<std::pair<std::string, int>, json> lines;
  RunStore store(workspace, tenant);
  (void)store.for_each_result(summary->run_id, [&](const json& line) {
    lines[{line["case_id"].get<std::string>(), line["trial"].get<int>()}] = line;
  });
  auto cases = load_dataset(workspace.tenant_dir(tenant) / "dataset.jsonl", tenant);
  if (!cases.ok()) return 1;
  std::map<std::string, Case> by_id;
  for (Case& item : *cases) by_id.emplace(item.case_id, item);
  Tally own;
  std::map<std::string, bool> agrees;
  std::size_t shown = 0;
  for (const Attribution& attribution : report->attributions) {
    const json& line = lines[{attribution.case_id, attribution.trial}];
    Truth truth = true_cause(line, by_id[attribution.case_id], truth_tables().at(tenant));
    own.add(truth, attribution);
    agrees[attribution.case_id] = truth.failure_class ==
                                      failure_class_name(attribution.failure_class) &&
                                  truth.step == attribution.step_id;
    if ((truth.failure_class != failure_class_name(attribution.failure_class) ||
         truth.step != attribution.step_id) && shown++ < 5) {
      std::cout << fmt::format("  miss {}: truth {}@{}, attributed {}@{}: {}\n",
                               attribution.case_id, truth.failure_class, truth.step,
                               failure_class_name(attribution.failure_class), attribution.step_id,
                               join(attribution.evidence, " / "));
    }
  }
  own.print(fmt::format("{} (train, {} trial(s), {:.1f} s)", tenant, trials, seconds));
  if (show_report) print_report(to_json(*report, CaseAccess::kFull));
  tally.merge(own);
  return confirm_tenant(workspace, *report, agrees, confirm);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path source = fs::current_path();
  std::vector<std::string> tenants = {"multihop_qa", "word_math"};
  std::string keep;
  int trials = 1;
  ConfirmSettings confirm;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--source") source = argv[i + 1];
    else if (flag == "--tenants") tenants = split(argv[i + 1], ',');
    else if (flag == "--keep") keep = argv[i + 1];
    else if (flag == "--trials") trials = std::stoi(argv[i + 1]);
    else if (flag == "--max-cases") confirm.max_cases = std::stoul(argv[i + 1]);
    else if (flag == "--replays") confirm.replays = std::stoi(argv[i + 1]);
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  fs::path root = keep.empty() ? fs::temp_directory_path() /
                                     ("fapo-attribution-bench-" + std::to_string(::getpid()))
                               : fs::path(keep);
  fs::create_directories(root / "tenants");
  for (const std::string& tenant : tenants) {
    if (!truth_tables().count(tenant)) {
      std::cerr << "no ground-truth table for tenant '" << tenant << "'\n";
      return 2;
    }
    fs::remove_all(root / "tenants" / tenant);
    fs::copy(source / "tenants" / tenant, root / "tenants" / tenant, fs::copy_options::recursive);
  }
  auto workspace = Workspace::open(root);
  if (!workspace.ok()) {
    std::cerr << workspace.error().message << "\n";
    return 1;
  }
  std::cout << "Attribution benchmark (simulated model; ground truth = the sim rules that "
               "fired, never read by attribution)\n";
  Tally overall;
  int status = 0;
  for (const std::string& tenant : tenants) {
    status |= bench_tenant(*workspace, tenant, trials, overall, tenant == "multihop_qa", confirm);
  }
  overall.print("all tenants");
  if (keep.empty()) fs::remove_all(root);
  return status;
}
