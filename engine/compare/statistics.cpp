#include "engine/compare/statistics.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace fapo {
namespace {

// Distinct streams for the two procedures, so a change to one never shifts the other's draws.
constexpr std::uint64_t kBootstrapStream = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kSignFlipStream = 0xc2b2ae3d27d4eb4fULL;

// An index in [0, n) from 64 random bits. The modulo bias is below n / 2^64, far under anything
// measurable, and unlike std::uniform_int_distribution the mapping is the same everywhere.
std::size_t draw_index(std::mt19937_64& random, std::size_t n) {
  return static_cast<std::size_t>(random() % n);
}

// Linear interpolation between order statistics (type 7); `sorted` is non-empty.
double percentile(const std::vector<double>& sorted, double fraction) {
  const double position = fraction * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(below);
  return sorted[below] + weight * (sorted[above] - sorted[below]);
}

std::vector<double> non_zero(const std::vector<double>& differences) {
  std::vector<double> kept;
  for (double value : differences) {
    if (std::fabs(value) > kTieTolerance) kept.push_back(value);
  }
  return kept;
}

// A flipped sum counts as "at least as large" within a rounding tolerance, so patterns equal
// to the observed one (e.g. all signs kept) are never lost to floating-point noise.
double hit_tolerance(const std::vector<double>& values) {
  double total = 0;
  for (double value : values) total += std::fabs(value);
  return 1e-9 * std::max(1.0, total);
}

double exact_sign_flip(const std::vector<double>& values, double observed) {
  const double tolerance = hit_tolerance(values);
  const std::uint64_t patterns = std::uint64_t{1} << values.size();
  std::uint64_t hits = 0;
  for (std::uint64_t pattern = 0; pattern < patterns; ++pattern) {
    double sum = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      sum += (pattern >> i & 1) ? -values[i] : values[i];
    }
    if (sum >= observed - tolerance) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(patterns);
}

double sampled_sign_flip(const std::vector<double>& values, double observed, int sign_flips,
                         std::uint64_t seed) {
  const double tolerance = hit_tolerance(values);
  std::mt19937_64 random(seed ^ kSignFlipStream);
  std::uint64_t hits = 0;
  for (int flip = 0; flip < sign_flips; ++flip) {
    double sum = 0;
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i % 64 == 0) bits = random();  // one draw gives 64 signs
      sum += (bits >> (i % 64) & 1) ? -values[i] : values[i];
    }
    if (sum >= observed - tolerance) ++hits;
  }
  return static_cast<double>(hits + 1) / static_cast<double>(sign_flips + 1);
}

}  // namespace

double mean_of(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (double value : values) sum += value;
  return sum / static_cast<double>(values.size());
}

double standard_deviation(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const double mean = mean_of(values);
  double squares = 0;
  for (double value : values) squares += (value - mean) * (value - mean);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

Interval bootstrap_interval(const std::vector<double>& differences, double confidence,
                            int resamples, std::uint64_t seed) {
  if (differences.empty()) return {};
  const int count = std::max(resamples, kMinBootstrapResamples);
  const std::size_t n = differences.size();
  std::mt19937_64 random(seed ^ kBootstrapStream);
  std::vector<double> means(static_cast<std::size_t>(count));
  for (double& mean : means) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += differences[draw_index(random, n)];
    mean = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - std::clamp(confidence, 0.0, 1.0)) / 2.0;
  return {percentile(means, tail), percentile(means, 1.0 - tail)};
}

double sign_flip_p_value(const std::vector<double>& differences, int sign_flips,
                         std::uint64_t seed) {
  const std::vector<double> values = non_zero(differences);
  if (values.empty()) return 1.0;
  double observed = 0;
  for (double value : values) observed += value;
  if (values.size() <= kExactSignFlipLimit) return exact_sign_flip(values, observed);
  return sampled_sign_flip(values, observed, std::max(sign_flips, 1), seed);
}

double noise_floor(const std::vector<std::vector<double>>& trial_means) {
  double squares = 0;
  std::size_t degrees = 0;
  for (const auto& means : trial_means) {
    if (means.size() < 2) continue;
    const double mean = mean_of(means);
    for (double value : means) squares += (value - mean) * (value - mean);
    degrees += means.size() - 1;
  }
  return degrees == 0 ? 0.0 : std::sqrt(squares / static_cast<double>(degrees));
}

PairedAnalysis analyze_paired(const std::vector<double>& differences,
                              const PairedOptions& options) {
  PairedAnalysis analysis;
  analysis.cases = differences.size();
  analysis.mean_difference = mean_of(differences);
  analysis.interval =
      bootstrap_interval(differences, options.confidence, options.resamples, options.seed);
  analysis.p_value = sign_flip_p_value(differences, options.sign_flips, options.seed);
  for (double value : differences) {
    if (value > kTieTolerance) {
      ++analysis.improved;
    } else if (value < -kTieTolerance) {
      ++analysis.regressed;
    } else {
      ++analysis.unchanged;
    }
  }
  return analysis;
}

}  // namespace fapo
