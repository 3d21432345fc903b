#include "engine/compare/statistics.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace fapo {
namespace {

TEST_CASE("mean and standard deviation match hand computation") {
  CHECK(mean_of({1, 2, 3, 6}) == doctest::Approx(3.0));
  CHECK(mean_of({}) == 0.0);
  // deviations -2, -1, 0, 3: squares 14, / 3
  CHECK(standard_deviation({1, 2, 3, 6}) == doctest::Approx(std::sqrt(14.0 / 3.0)));
  CHECK(standard_deviation({7}) == 0.0);
}

TEST_CASE("enumerates every sign pattern for a few differences") {
  // {1, 2, 3}: of the 8 flipped sums only the unflipped one reaches 6.
  CHECK(sign_flip_p_value({1, 2, 3}, 100, 0) == doctest::Approx(1.0 / 8));
  // {1, -1}: sums 0, 2, -2, 0; three are >= the observed 0.
  CHECK(sign_flip_p_value({1, -1}, 100, 0) == doctest::Approx(3.0 / 4));
  // Ties carry no evidence: {2, 0, 0, 1} is tested as {2, 1} (sums 3, 1, -1, -3).
  CHECK(sign_flip_p_value({2, 0, 0, 1}, 100, 0) == doctest::Approx(1.0 / 4));
}

TEST_CASE("gives p = 1 when every case ties") {
  CHECK(sign_flip_p_value({0, 0, 0, 0}, 1000, 3) == 1.0);
  CHECK(sign_flip_p_value({}, 1000, 3) == 1.0);
}

TEST_CASE("samples sign patterns beyond the exact limit and never reports zero") {
  std::vector<double> all_better(40, 5.0);
  const double p = sign_flip_p_value(all_better, 5000, 11);
  CHECK(p > 0.0);
  CHECK(p == doctest::Approx(1.0 / 5001));  // only the unflipped pattern reaches the sum
}

TEST_CASE("a clear shift gives a small p-value and an interval above zero") {
  std::vector<double> differences;
  for (int i = 0; i < 100; ++i) differences.push_back(i % 3 == 0 ? -2.0 : 10.0);
  PairedOptions options;
  options.seed = 5;
  const PairedAnalysis analysis = analyze_paired(differences, options);
  CHECK(analysis.mean_difference == doctest::Approx((34 * -2.0 + 66 * 10.0) / 100));
  CHECK(analysis.p_value < 0.001);
  CHECK(analysis.interval.low > 0);
  CHECK(analysis.interval.high > analysis.mean_difference);
  CHECK(analysis.improved == 66);
  CHECK(analysis.regressed == 34);
  CHECK(analysis.unchanged == 0);
}

TEST_CASE("identical variants give a zero difference, p = 1 and a zero-width interval") {
  std::vector<double> differences(50, 0.0);
  const PairedAnalysis analysis = analyze_paired(differences, PairedOptions{});
  CHECK(analysis.mean_difference == 0.0);
  CHECK(analysis.p_value == 1.0);
  CHECK(analysis.interval.low == 0.0);
  CHECK(analysis.interval.high == 0.0);
  CHECK(analysis.unchanged == 50);
}

TEST_CASE("a symmetric difference is far from significant") {
  std::vector<double> differences;
  for (int i = 0; i < 60; ++i) differences.push_back(i % 2 ? 33.3 : -33.3);
  CHECK(sign_flip_p_value(differences, 4000, 2) > 0.3);
  const Interval interval = bootstrap_interval(differences, 0.95, 2000, 2);
  CHECK(interval.low < 0);
  CHECK(interval.high > 0);
}

TEST_CASE("bootstrap percentiles match hand computation for two cases") {
  // Resampled means of {0, 10} are 0, 5, 10 with probabilities 1/4, 1/2, 1/4.
  const Interval wide = bootstrap_interval({0, 10}, 0.95, 4000, 1);
  CHECK(wide.low == 0.0);
  CHECK(wide.high == 10.0);
  const Interval narrow = bootstrap_interval({0, 10}, 0.4, 4000, 1);  // 30th to 70th
  CHECK(narrow.low == 5.0);
  CHECK(narrow.high == 5.0);
  const Interval constant = bootstrap_interval({2, 2, 2}, 0.95, 2000, 9);
  CHECK(constant.low == doctest::Approx(2.0));
  CHECK(constant.high == doctest::Approx(2.0));
}

TEST_CASE("the same seed gives the same interval and p-value; another seed may differ") {
  std::vector<double> differences;
  for (int i = 0; i < 80; ++i) differences.push_back((i * 37 % 11) - 4.0);
  const Interval first = bootstrap_interval(differences, 0.95, 3000, 42);
  const Interval again = bootstrap_interval(differences, 0.95, 3000, 42);
  CHECK(first.low == again.low);
  CHECK(first.high == again.high);
  CHECK(sign_flip_p_value(differences, 3000, 42) == sign_flip_p_value(differences, 3000, 42));
  const Interval other = bootstrap_interval(differences, 0.95, 3000, 43);
  CHECK((other.low != first.low || other.high != first.high));
}

TEST_CASE("raises the number of resamples to the minimum") {
  // With 10 resamples a percentile interval would be visibly coarse and seed-dependent; the
  // floor of kMinBootstrapResamples makes two seeds agree closely.
  std::vector<double> differences;
  for (int i = 0; i < 200; ++i) differences.push_back(i % 4 == 0 ? 100.0 : 0.0);
  const Interval a = bootstrap_interval(differences, 0.95, 10, 1);
  const Interval b = bootstrap_interval(differences, 0.95, 10, 2);
  CHECK(std::fabs(a.low - b.low) < 2.0);
  CHECK(std::fabs(a.high - b.high) < 2.0);
}

TEST_CASE("the noise floor is the pooled spread of per-trial means") {
  // Variant A: 50, 52, 54 (squares 4 + 0 + 4); variant B: 60, 62 (1 + 1); 3 degrees of freedom.
  CHECK(noise_floor({{50, 52, 54}, {60, 62}}) == doctest::Approx(std::sqrt(10.0 / 3.0)));
  CHECK(noise_floor({{50}, {60}}) == 0.0);
  CHECK(noise_floor({{40, 40, 40}, {70, 70, 70}}) == 0.0);
}

}  // namespace
}  // namespace fapo
