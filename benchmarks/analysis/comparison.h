// Comparing benchmark reports: match by name, ratio of the throughput (or time), U-test p-value
// over repetitions, geometric mean, unmatched names, and the environment keys that differ.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/analysis/report_data.h"

namespace pb::analysis {

struct ComparedRow {
  std::string name;
  std::string metric;      // samples_per_s, GBps, ... or real_time
  double baseline = 0, contender = 0;
  double baseline_time = 0, contender_time = 0;  // real time per iteration, in time_unit
  std::string time_unit;   // the baseline's: the contender's times (and real_time values) are converted to it
  double ratio = 0;        // contender over baseline as a speed-up: > 1 means the contender is better
  std::optional<double> p_value;  // Mann-Whitney U over repetitions, when both have >= 2
  size_t baseline_repetitions = 0, contender_repetitions = 0;
  // Why the row has no ratio: "zero value", "not a number", "skipped: ...", "failed: ...",
  // "different metrics (...)", "different time units (...)".
  std::string note;
};

struct EnvironmentDifference {
  std::string key, baseline, contender;
};

struct Comparison {
  std::string baseline_path, contender_path;
  std::vector<EnvironmentDifference> environment;  // only keys whose values differ
  std::vector<ComparedRow> rows;                   // matched names, baseline order
  double geomean = 0;                              // of the finite ratios; 0 when there is none
  size_t geomean_count = 0;
  std::vector<std::string> only_in_baseline, only_in_contender;
};

// The context keys compared, in display order.
const std::vector<std::string>& environment_keys();

// Compares `contender` with `baseline`; only names matching `filter` (if any) take part.
Comparison compare_reports(const Report& baseline, const Report& contender, const std::optional<std::regex>& filter);

// Renderings of one or more comparisons (one per contender, same baseline).
std::string render_console(const std::vector<Comparison>& comparisons);
std::string render_markdown(const std::vector<Comparison>& comparisons);
nlohmann::json render_json(const std::vector<Comparison>& comparisons);

// Names of matched rows whose finite ratio is below `threshold`.
std::vector<std::string> rows_below(const std::vector<Comparison>& comparisons, double threshold);

// What a gate cannot evaluate, so that it fails instead of passing on it: matched rows without a
// ratio, as "<name> (<note>)", and baseline benchmarks a contender lacks, as
// "<name> (not in '<contender path>')". Both in comparison order, then baseline order.
std::vector<std::string> rows_unevaluated(const std::vector<Comparison>& comparisons);
std::vector<std::string> rows_missing(const std::vector<Comparison>& comparisons);

}  // namespace pb::analysis
