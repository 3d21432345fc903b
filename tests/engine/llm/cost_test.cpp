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
