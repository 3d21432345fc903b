// A fixture for the protocol steps that run evaluations (review, compare, final test): a private
// workspace with a copy of the example tenant multihop_qa (simulated model), a Laboratory on it,
// and a RunManager. A GatedEvaluation can hold every run at its first result until the test
// opens the gate, so "still running" states are reached without timing.
#pragma once

#include <doctest/doctest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/splits.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/run_manager.h"
#include "engine/run/run_store.h"
#include "tests/test_support.h"

namespace fapo::testing {

inline constexpr char kTenant[] = "multihop_qa";
// The README's prompt fix of the answer step (short answer, always answer).
inline constexpr char kAnswerFix[] =
    "Answer the question with a short answer: only the answer, in a few words. Always answer; "
    "if unsure, give your best guess.";
// Long enough for any run of the example tenant; tests never depend on it running out.
inline constexpr std::chrono::minutes kLongWait{10};

// Holds evaluations at their first result until open() (or destruction).
class GatedEvaluation {
 public:
  ~GatedEvaluation() { open(); }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  EvaluateFunction function() {
    return [this](const Workspace& workspace, const EvalRequest& request, EvalObserver* observer,
                  const std::atomic<bool>* cancel) {
      Relay relay(*this, *observer);
      return evaluate(workspace, request, &relay, cancel);
    };
  }

 private:
  class Relay final : public EvalObserver {
   public:
    Relay(GatedEvaluation& gate, EvalObserver& next) : gate_(gate), next_(next) {}
    void on_started(const std::string& run_id, std::size_t total, std::size_t done) override {
      next_.on_started(run_id, total, done);
    }
    void on_result(std::size_t done, std::size_t total, double mean) override {
      std::unique_lock lock(gate_.mutex_);
      gate_.changed_.wait(lock, [&] { return gate_.open_; });
      lock.unlock();
      next_.on_result(done, total, mean);
    }

   private:
    GatedEvaluation& gate_;
    EvalObserver& next_;
  };

  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

enum class Runs { kFree, kGated };

struct ProtocolFixture {
  explicit ProtocolFixture(Runs mode = Runs::kFree) {
    copy_tenant(kTenant, dir.path());
    auto opened = Workspace::open(dir.path());
    REQUIRE(opened.ok());
    workspace = std::make_unique<Workspace>(*opened);
    lab = open_lab();
    RunManagerOptions options;
    if (mode == Runs::kGated) options.evaluate = gate.function();
    runs = std::make_unique<RunManager>(*workspace, std::move(options));
  }
  // Held runs must be let go before the manager joins them.
  ~ProtocolFixture() {
    gate.open();
    runs.reset();
  }

  std::unique_ptr<Laboratory> open_lab() {
    auto opened = Laboratory::open(*workspace, kTenant);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    return std::move(opened).value();
  }

  // Stores the best variant with `text` appended to a prompt file.
  VariantRecord propose(const std::string& text, const std::string& file = "answer.md") {
    Proposal proposal;
    proposal.hypothesis = "adds: " + text;
    proposal.edits.prompts[file] = lab->tenant().baseline.prompts.at(file) + "\n" + text;
    auto record = lab->propose(proposal);
    REQUIRE_MESSAGE(record.ok(), (record.ok() ? "" : record.error().message));
    return *record;
  }

  VariantRecord reviewed(const std::string& text, const std::string& file = "answer.md") {
    VariantRecord record = propose(text, file);
    auto report = lab->review(record.name);
    REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
    REQUIRE_MESSAGE(report->verdict != "fail", nlohmann::json(to_json(*report)).dump());
    return record;
  }

  std::size_t runs_on_disk() const { return RunStore(*workspace, kTenant).list_runs().size(); }

  std::size_t journal_count(const std::string& kind) {
    auto entries = lab->journal().entries(kind);
    REQUIRE(entries.ok());
    return entries->size();
  }

  // The question of the first case of `split`.
  std::string question_of_split(Split split) {
    auto cases = load_dataset(lab->tenant().dir / "dataset.jsonl", "dataset.jsonl");
    REQUIRE(cases.ok());
    for (const Case& item : *cases) {
      if (split_of(item, lab->tenant().config.splits) == split) return item.context.at("question");
    }
    FAIL("no case in the split");
    return "";
  }

  static WaitOptions waiting(std::chrono::milliseconds timeout = kLongWait) {
    WaitOptions wait;
    wait.timeout = timeout;
    return wait;
  }

  TempDir dir;
  GatedEvaluation gate;
  std::unique_ptr<Workspace> workspace;
  std::unique_ptr<Laboratory> lab;
  std::unique_ptr<RunManager> runs;
};

}  // namespace fapo::testing
