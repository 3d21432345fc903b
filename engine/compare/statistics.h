// Paired statistics for comparing two variants on the same cases. The input is one difference
// per case (candidate's per-case mean score minus the incumbent's, both averaged over all their
// trials); the output is the mean difference, a bootstrap interval, a one-sided p-value and
// counts of cases that moved.
//
// Why these methods. Composite scores are bounded (0-100), often take only a few values (exact
// match gives 0 or 100 per trial) and many cases tie (difference exactly 0), so a t-test's
// normality is a poor fit for the small or lumpy samples a tenant can have. The test used is
// the paired sign-flip permutation test: under the null hypothesis that the two variants are
// exchangeable on every case, each difference is as likely to have either sign, so the
// observed sum of differences is compared with the sums under random sign flips. It is exact
// for any distribution of differences (no normal approximation), tied cases (difference 0) are
// unaffected by a flip and so carry no evidence either way, and it tests the mean, which is
// what acceptance is about. With at most kExactSignFlipLimit non-zero differences every sign
// pattern is enumerated (an exact p-value); beyond that a seeded Monte Carlo sample of patterns
// gives p = (1 + hits) / (1 + patterns), which never reports 0 and stays valid.
//
// The interval is a percentile bootstrap over cases (cases resampled with replacement, the
// pairs kept together), central and two-sided at the requested confidence: 0.95 gives the
// 2.5th and 97.5th percentiles of the resampled means, which is what a reader of "95 %
// interval" expects. Requiring its lower bound above 0 in addition to the one-sided p-value is
// therefore deliberately conservative.
//
// Determinism: every random draw comes from std::mt19937_64 (whose output the standard fixes)
// mapped to indices without std::uniform_int_distribution (whose output it does not), so the
// same differences and seed give the same interval and p-value on every platform.
//
// Free functions over values; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fapo {

inline constexpr int kMinBootstrapResamples = 2000;
inline constexpr int kDefaultBootstrapResamples = 4000;
inline constexpr int kDefaultSignFlips = 10000;
// Up to this many non-zero differences the sign-flip test enumerates all 2^n patterns.
inline constexpr std::size_t kExactSignFlipLimit = 16;
// Differences closer to 0 than this count as ties (scores are stored as decimals).
inline constexpr double kTieTolerance = 1e-9;

struct Interval {
  double low = 0;
  double high = 0;
};

// Arithmetic mean; 0 for an empty vector.
double mean_of(const std::vector<double>& values);

// Sample standard deviation (n - 1); 0 for fewer than two values.
double standard_deviation(const std::vector<double>& values);

// Central percentile bootstrap interval of the mean of `differences` at `confidence` (0-1),
// from `resamples` resamples (raised to kMinBootstrapResamples). Empty input gives {0, 0}.
Interval bootstrap_interval(const std::vector<double>& differences, double confidence,
                            int resamples, std::uint64_t seed);

// One-sided p-value of the paired sign-flip test for "the mean difference is greater than 0".
// 1 when every difference is a tie. Exact up to kExactSignFlipLimit non-zero differences,
// otherwise from `sign_flips` seeded random patterns.
double sign_flip_p_value(const std::vector<double>& differences, int sign_flips,
                         std::uint64_t seed);

// The noise floor: how far one trial's mean strays from its variant's mean, from the trials
// themselves. `trial_means[v]` holds the per-trial means of variant v (each over the same
// cases); the result is the pooled within-variant standard deviation of those per-trial means,
// sqrt(sum over v, t of (m_vt - mean_v)^2 / sum over v of (T_v - 1)). A mean difference not
// clearly larger than this is within what re-running one variant produces. 0 when no variant
// has two trials (the spread cannot be measured).
double noise_floor(const std::vector<std::vector<double>>& trial_means);

struct PairedOptions {
  double confidence = 0.95;
  int resamples = kDefaultBootstrapResamples;
  int sign_flips = kDefaultSignFlips;
  std::uint64_t seed = 0;
};

struct PairedAnalysis {
  std::size_t cases = 0;
  double mean_difference = 0;
  Interval interval;
  double p_value = 1;
  std::size_t improved = 0;   // difference > 0 (beyond kTieTolerance)
  std::size_t regressed = 0;  // difference < 0
  std::size_t unchanged = 0;
};

// All of the above for one set of paired differences. The bootstrap and the sign flips use
// separate streams derived from `options.seed`.
PairedAnalysis analyze_paired(const std::vector<double>& differences,
                              const PairedOptions& options);

}  // namespace fapo
