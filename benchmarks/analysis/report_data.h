// A Google Benchmark JSON report read into what compare and report need: per benchmark, its
// family, model and arguments, its throughput (or time) per repetition, and its counters. The
// reading itself (keys, rates, skips, medians) is the report schema's (report_schema.h).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/analysis/report_schema.h"
#include "benchmarks/analysis/report_spec.h"

namespace pb::analysis {

// A report that cannot be used. what() is one line and names the file.
using ReportError = schema::ReportError;

struct Entry {
  std::string name;                     // run_name: "cpu_training/linear/workers:2/.../real_time"
  std::string family, model;            // the first two path segments
  std::map<std::string, int64_t> args;  // the "key:value" segments whose value is an integer
  std::vector<std::string> arg_order;   // their keys in name order (workers, threads, ...)
  // The "key:word" segments (family 2's "device:cuda", "pipeline:pinned"): settings named by words.
  std::map<std::string, std::string> labels;
  std::string metric;                   // samples_per_s, GBps, ... or real_time when no rate exists
  bool higher_is_better = true;         // true for rates, false for times
  std::vector<double> values;           // the metric per repetition (one value without repetitions)
  std::vector<double> times;            // real time per repetition
  double value = 0;                     // the median aggregate if present, else the median of values
  double time = 0;                      // real time per iteration, the same way (median)
  std::string time_unit;                // of `time`: ns, us, ms or s
  std::map<std::string, double> counters;  // every numeric user counter of the median (or only) run
  std::string error;                       // error_message of a failed or skipped run
};

struct Report {
  std::string path;
  std::map<std::string, std::string> context;  // string-valued context keys
  std::vector<Entry> entries;                   // report order, one per benchmark
  std::vector<schema::PeerRatio> peers;         // each C++ benchmark with a measured Python peer row
  // What the families that wrote it declare about their report (context.pb_report_spec); none in a
  // report written before specs existed or by another tool: no charts and no best settings then.
  std::optional<schema::ReportSpec> spec;
  const Entry* find(const std::string& name) const;
};

// Builds a Report from parsed JSON; `path` names it in errors. Throws ReportError:
//   "'<path>' is not a Google Benchmark report (needs \"context\" and \"benchmarks\")"
//   "'<path>' has no benchmarks"
//   "'<path>' has a malformed pb_report_spec: <reason>"
Report parse_report(const nlohmann::json& json, const std::string& path);
// Reads and parses a file (FileError messages for unreadable or malformed JSON become ReportError).
Report load_report(const std::string& path);

// True for counters that are rates (higher is better): the schema's one rule.
using schema::is_rate_counter;

}  // namespace pb::analysis
