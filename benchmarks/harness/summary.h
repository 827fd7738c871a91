// The readable summary table, printed from a Google Benchmark JSON report (never from separate
// in-memory state), so the console and the JSON file cannot disagree.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/analysis/report_schema.h"

namespace pb::bench {

// One row of the summary: a benchmark with its median figures and counters, as the report schema
// reads it (benchmarks/analysis/report_schema.h), so this table and pb_report cannot disagree.
using SummaryRow = schema::Benchmark;

// The rows to show: one per benchmark, its repetitions grouped (Google Benchmark's median
// aggregate where it wrote one, else the median of the repetitions). Throws schema::ReportError
// (a std::runtime_error) with a one-line message when `report` is not Google Benchmark JSON.
std::vector<SummaryRow> summary_rows(const nlohmann::json& report);

// True for a run that was skipped on purpose (its error message starts with "skipped: "),
// false for a real failure such as lost samples.
inline bool is_skip(const SummaryRow& row) { return row.is_skip(); }

// Prints the table, then the skipped benchmarks with their reasons, then failures.
void print_summary(const nlohmann::json& report, std::ostream& out);

// Kept here for the harness and tools that print numbers like the summary (defined in the schema).
using schema::format_value;
using schema::sanitize_benchmark_json;

}  // namespace pb::bench
