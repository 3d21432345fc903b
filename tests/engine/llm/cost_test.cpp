#include "engine/llm/cost.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace fapo {

TEST_CASE("prices tokens per million, input and output separately") {
  Prices prices{0.40, 1.60};
  CHECK(call_cost(prices, 1'000'000, 0) == doctest::Approx(0.40));
  CHECK(call_cost(prices, 2'000, 500) == doctest::Approx(0.0008 + 0.0008));
  CHECK(call_cost(Prices{}, 5'000, 5'000) == 0);
}

TEST_CASE("keeps separate totals per role and a grand total under concurrent adds") {
  CostLedger ledger;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        CostTotals delta;
        delta.calls = 1;
        delta.attempts = 1;
        delta.tokens_in = 10;
        delta.cost = 0.001;
        ledger.add(t % 2 == 0 ? CostRole::kTask : CostRole::kJudge, delta);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ledger.totals(CostRole::kTask).calls == 4000);
  CHECK(ledger.totals(CostRole::kJudge).tokens_in == 40000);
  CHECK(ledger.grand_total().cost == doctest::Approx(8.0));
  auto json = ledger.to_json();
  CHECK(json["task"]["calls"] == 4000);
  CHECK(json["total"]["calls"] == 8000);
  CHECK(std::string(cost_role_name(CostRole::kJudge)) == "judge");
}

}  // namespace fapo

namespace fapo {

TEST_CASE("totals read back what they wrote, and missing fields read as zero") {
  CostTotals totals;
  totals.calls = 3;
  totals.failed = 1;
  totals.attempts = 6;
  totals.cached = 4;
  totals.tokens_in = 120;
  totals.tokens_out = 30;
  totals.cost = 0.25;
  CostTotals back = CostTotals::from_json(totals.to_json());
  CHECK(back.calls == 3);
  CHECK(back.failed == 1);
  CHECK(back.attempts == 6);
  CHECK(back.cached == 4);
  CHECK(back.tokens_in == 120);
  CHECK(back.tokens_out == 30);
  CHECK(back.cost == doctest::Approx(0.25));
  CostTotals old = CostTotals::from_json({{"calls", 2}, {"cost", "free"}});
  CHECK(old.calls == 2);
  CHECK(old.cached == 0);
  CHECK(old.cost == 0);
  CHECK(CostTotals::from_json(nullptr).calls == 0);
}

}  // namespace fapo
