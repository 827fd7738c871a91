// Reports as Entries: the schema's benchmarks (repetitions grouped, medians preferred, NaN kept as
// NaN to be marked later) with their names split into family, model, arguments and labels.
#include "benchmarks/analysis/report_data.h"

#include <limits>

namespace pb::analysis {
namespace {

// A value is text, and a number where the whole text is an integer: "workers:2" is an argument,
// "device:cuda" a label.
void split_name(Entry& entry) {
  const schema::RunName parts = schema::parse_run_name(entry.name);
  entry.family = parts.family;
  entry.model = parts.model;
  for (const auto& [key, text] : parts.settings) {
    if (const std::optional<int64_t> value = schema::integer_value(text)) {
      entry.args[key] = *value;
      entry.arg_order.push_back(key);
    } else {
      entry.labels[key] = text;
    }
  }
}

}  // namespace

const Entry* Report::find(const std::string& name) const {
  for (const Entry& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Report parse_report(const nlohmann::json& json, const std::string& path) {
  std::vector<schema::Benchmark> benchmarks = schema::read_benchmarks(json, path);
  if (benchmarks.empty()) throw ReportError("'" + path + "' has no benchmarks");
  Report report;
  report.path = path;
  for (const auto& [key, value] : json["context"].items()) {
    if (value.is_string()) report.context[key] = value.get<std::string>();
    if (value.is_number()) report.context[key] = value.dump();
  }
  if (const auto it = json["context"].find(schema::kReportSpecKey); it != json["context"].end()) {
    try {
      report.spec = it->get<schema::ReportSpec>();
    } catch (const std::exception& error) {
      throw ReportError("'" + path + "' has a malformed " + schema::kReportSpecKey + ": " + error.what());
    }
  }
  report.peers = schema::peer_ratios(benchmarks);
  for (schema::Benchmark& b : benchmarks) {
    Entry entry;
    entry.name = b.name;
    split_name(entry);
    entry.metric = b.metric;
    entry.higher_is_better = b.higher_is_better;
    entry.values = std::move(b.values);
    if (b.metric == "real_time") {  // in seconds, as entry.value below
      const double scale = schema::seconds_per_unit(b.time_unit).value_or(std::numeric_limits<double>::quiet_NaN());
      for (double& v : entry.values) v *= scale;
    }
    entry.times = std::move(b.real_times);
    // Comparable across rows: best settings and ratios compare entries whose time units may differ.
    entry.value = schema::comparable_value(b);
    entry.time = b.real_time;
    entry.time_unit = b.time_unit;
    entry.counters = std::move(b.counters);
    entry.error = b.error;
    report.entries.push_back(std::move(entry));
  }
  return report;
}

Report load_report(const std::string& path) { return parse_report(schema::read_report_file(path), path); }

}  // namespace pb::analysis
