// The Mann-Whitney U test with the conventions of Google Benchmark's compare.py, which calls
// scipy.stats.mannwhitneyu(a, b, alternative='two-sided') when both sides have >= 2 repetitions.
#pragma once

#include <optional>
#include <vector>

namespace pb::analysis {

// Repetitions needed before a p-value is reported at all, and before it is trusted (compare.py's
// UTEST_MIN_REPETITIONS and UTEST_OPTIMAL_REPETITIONS).
constexpr size_t kUTestMinRepetitions = 2;
constexpr size_t kUTestOptimalRepetitions = 9;

// Two-sided p-value, or nullopt with fewer than kUTestMinRepetitions values on either side.
// As scipy (>= 1.7, method 'auto'): the exact distribution of U when both samples have fewer than
// 8 values and there are no ties; otherwise the normal approximation with tie correction and
// continuity correction.
std::optional<double> mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace pb::analysis
