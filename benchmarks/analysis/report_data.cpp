// Parsing Google Benchmark JSON into Entries: names split into family/model/args, repetitions
// grouped by run_name, medians preferred, NaN (null in JSON) kept as NaN to be marked later.
#include "benchmarks/analysis/report_data.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "benchmarks/harness/summary.h"

namespace pb::analysis {
namespace {

const std::set<std::string> kStandardKeys = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "error_occurred", "error_message", "label"};

double number_or_nan(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

double median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void split_name(Entry& entry) {
  std::stringstream stream(entry.name);
  std::string segment;
  int index = 0;
  while (std::getline(stream, segment, '/')) {
    const size_t colon = segment.find(':');
    if (colon != std::string::npos) {
      try {
        const std::string key = segment.substr(0, colon);
        if (key == "iterations") continue;  // added by Google Benchmark, not a setting
        entry.args[key] = std::stoll(segment.substr(colon + 1));
        entry.arg_order.push_back(key);
      } catch (const std::exception&) {
        // a word, not a number: a label (device:cuda), not an argument
        entry.labels[segment.substr(0, colon)] = segment.substr(colon + 1);
      }
    } else if (index == 0) {
      entry.family = segment;
    } else if (index == 1) {
      entry.model = segment;
    }
    ++index;
  }
}

}  // namespace

bool is_rate_counter(const std::string& name) {
  const std::string suffix = "_per_s";
  return (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) ||
         name.find("GBps") != std::string::npos || name == "bytes_per_second" || name == "items_per_second";
}

const Entry* Report::find(const std::string& name) const {
  for (const Entry& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Report parse_report(const nlohmann::json& json, const std::string& path) {
  if (!json.is_object() || !json.contains("context") || !json["context"].is_object() || !json.contains("benchmarks") ||
      !json["benchmarks"].is_array()) {
    throw ReportError("'" + path + "' is not a Google Benchmark report (needs \"context\" and \"benchmarks\")");
  }
  if (json["benchmarks"].empty()) throw ReportError("'" + path + "' has no benchmarks");
  Report report;
  report.path = path;
  for (const auto& [key, value] : json["context"].items()) {
    if (value.is_string()) report.context[key] = value.get<std::string>();
    if (value.is_number()) report.context[key] = value.dump();
  }
  std::map<std::string, size_t> index_of;
  std::map<std::string, nlohmann::json> median_run;
  for (const auto& run : json["benchmarks"]) {
    if (!run.is_object() || !run.contains("name") || !run["name"].is_string()) {
      throw ReportError("'" + path + "' has a benchmark without a name");
    }
    const std::string name = run.value("run_name", run["name"].get<std::string>());
    auto [it, inserted] = index_of.emplace(name, report.entries.size());
    if (inserted) {
      Entry entry;
      entry.name = name;
      split_name(entry);
      report.entries.push_back(std::move(entry));
    }
    Entry& entry = report.entries[it->second];
    if (run.value("error_occurred", false)) {
      entry.error = run.value("error_message", std::string("error"));
      continue;
    }
    const std::string type = run.value("run_type", std::string("iteration"));
    if (type == "aggregate" && run.value("aggregate_name", std::string()) != "median") continue;
    if (entry.metric.empty()) {  // the first repetition (or the median) decides the metric
      for (const auto& [key, value] : run.items()) {
        if (!kStandardKeys.count(key) && is_rate_counter(key)) {
          entry.metric = key;
          break;
        }
      }
      if (entry.metric.empty()) {
        entry.metric = "real_time";
        entry.higher_is_better = false;
      }
    }
    if (type == "aggregate") {
      median_run[name] = run;
      continue;
    }
    entry.values.push_back(run.contains(entry.metric) ? number_or_nan(run[entry.metric]) : number_or_nan(nullptr));
    entry.times.push_back(run.contains("real_time") ? number_or_nan(run["real_time"]) : number_or_nan(nullptr));
    entry.time_unit = run.value("time_unit", std::string("ns"));
    for (const auto& [key, value] : run.items()) {
      if (!kStandardKeys.count(key)) entry.counters[key] = number_or_nan(value);
    }
  }
  for (Entry& entry : report.entries) {
    auto it = median_run.find(entry.name);
    if (it != median_run.end() && it->second.contains(entry.metric)) {
      entry.value = number_or_nan(it->second[entry.metric]);
      entry.time = it->second.contains("real_time") ? number_or_nan(it->second["real_time"]) : median(entry.times);
      if (entry.time_unit.empty()) entry.time_unit = it->second.value("time_unit", std::string("ns"));
      for (const auto& [key, value] : it->second.items()) {
        if (!kStandardKeys.count(key)) entry.counters[key] = number_or_nan(value);
      }
    } else {
      entry.value = median(entry.values);
      entry.time = median(entry.times);
    }
  }
  return report;
}

Report load_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ReportError("cannot read '" + path + "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json;
  try {
    // Reports written by Google Benchmark itself may hold bare NaN/inf: read them as null.
    json = nlohmann::json::parse(bench::sanitize_benchmark_json(text.str()));
  } catch (const nlohmann::json::parse_error& error) {
    throw ReportError("'" + path + "' is not valid JSON: " + error.what());
  }
  return parse_report(json, path);
}

}  // namespace pb::analysis
