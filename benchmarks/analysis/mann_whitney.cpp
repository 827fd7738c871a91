// Mann-Whitney U: ranks with ties averaged, U = max(U1, U2), p = 2 * P(U' >= U), clipped to 1,
// exactly as scipy.stats.mannwhitneyu(alternative='two-sided', method='auto') in scipy 1.10.
#include "benchmarks/analysis/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pb::analysis {
namespace {

// Above this many U values the exact table gets large; repetitions never come near it.
constexpr size_t kMaxExactCells = 1 << 20;

// P(U' <= k) for the exact null distribution of U with sample sizes m, n (no ties):
// f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u) counts the orderings with U = u.
double exact_cdf(size_t m, size_t n, size_t k) {
  const size_t max_u = m * n;
  // layer[j][u] for the current i; doubles, because the counts grow like binomial coefficients.
  std::vector<std::vector<double>> previous(n + 1, std::vector<double>(max_u + 1, 0.0)), current = previous;
  for (size_t j = 0; j <= n; ++j) previous[j][0] = 1;  // i = 0: one ordering, U = 0
  for (size_t i = 1; i <= m; ++i) {
    for (size_t j = 0; j <= n; ++j) {
      std::fill(current[j].begin(), current[j].end(), 0.0);
      for (size_t u = 0; u <= max_u; ++u) {
        double count = u >= j ? previous[j][u - j] : 0.0;
        if (j > 0) count += current[j - 1][u];
        current[j][u] = count;
      }
    }
    std::swap(previous, current);
  }
  const std::vector<double>& counts = previous[n];
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  double below = 0;
  for (size_t u = 0; u <= std::min(k, max_u); ++u) below += counts[u];
  return below / total;
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

std::optional<double> mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n1 = a.size(), n2 = b.size();
  if (n1 < kUTestMinRepetitions || n2 < kUTestMinRepetitions) return std::nullopt;
  for (double v : a) if (std::isnan(v)) return std::nullopt;
  for (double v : b) if (std::isnan(v)) return std::nullopt;

  // Ranks of the pooled sample, ties given their average rank.
  std::vector<std::pair<double, size_t>> pooled;
  for (size_t i = 0; i < n1; ++i) pooled.emplace_back(a[i], i);
  for (size_t i = 0; i < n2; ++i) pooled.emplace_back(b[i], n1 + i);
  std::sort(pooled.begin(), pooled.end());
  const size_t n = n1 + n2;
  std::vector<double> ranks(n);
  double tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && pooled[j + 1].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i + 1);
    ties = ties || t > 1;
    tie_term += t * t * t - t;
    for (size_t k = i; k <= j; ++k) ranks[pooled[k].second] = (static_cast<double>(i + j) + 2.0) / 2.0;
    i = j + 1;
  }
  double r1 = 0;
  for (size_t i = 0; i < n1; ++i) r1 += ranks[i];
  const double u1 = r1 - static_cast<double>(n1 * (n1 + 1)) / 2.0;
  const double u = std::max(u1, static_cast<double>(n1 * n2) - u1);

  double p;
  const bool exact = (n1 <= 8 || n2 <= 8) && !ties && (n1 + 1) * (n2 + 1) * (n1 * n2 + 1) <= kMaxExactCells;
  if (exact) {
    // sf(U) = P(U' >= U) = P(U' <= mn - U) by symmetry, as scipy computes it.
    p = 2.0 * exact_cdf(n1, n2, n1 * n2 - static_cast<size_t>(std::llround(u)));
  } else {
    const double mu = static_cast<double>(n1 * n2) / 2.0;
    const double dn = static_cast<double>(n);
    const double s = std::sqrt(static_cast<double>(n1 * n2) / 12.0 * ((dn + 1) - tie_term / (dn * (dn - 1))));
    p = 2.0 * normal_sf((u - mu - 0.5) / s);
  }
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace pb::analysis
