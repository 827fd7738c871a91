// The readable summary table, printed from a Google Benchmark JSON report (never from separate
// in-memory state), so the console and the JSON file cannot disagree.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb::bench {

// One row of the summary: a benchmark (or, with repetitions, its median) and its counters.
struct SummaryRow {
  std::string name;
  double real_time = 0;
  std::string time_unit;
  std::vector<std::pair<std::string, double>> counters;  // user counters, in report order
  std::string error;                                     // error_message when error_occurred
};

// The rows to show: the median aggregates when the report has repetitions, else every run.
// Throws std::runtime_error with a one-line message when `report` is not Google Benchmark JSON.
std::vector<SummaryRow> summary_rows(const nlohmann::json& report);

// True for a run that was skipped on purpose (its error message starts with "skipped:"),
// false for a real failure such as lost samples.
bool is_skip(const SummaryRow& row);

// Prints the table, then the skipped benchmarks with their reasons, then failures.
void print_summary(const nlohmann::json& report, std::ostream& out);

// Google Benchmark 1.7.1 writes a non-finite counter (the coefficient of variation of a counter
// that is always 0, say) as a bare NaN or inf, which is not JSON. Replaces those values with
// null, leaving strings alone, so that the report parses and readers see "no value".
std::string sanitize_benchmark_json(const std::string& text);

// 1234567 -> "1.235M", 0.0651 -> "0.0651": four significant digits, SI suffix from 10^3.
std::string format_value(double value);

}  // namespace pb::bench
