// Reading Google Benchmark JSON: keys, rates, skips, run names, repetitions grouped into medians,
// peer pairs, non-finite values and number formatting, for every reader of a report.
#include "benchmarks/analysis/report_schema.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

namespace pb::schema {
namespace {

// What Google Benchmark 1.7.1's JSONReporter::PrintRunData writes before and after the user
// counters; memory-manager and complexity (BigO, RMS) fields included.
const std::set<std::string> kStandardKeys = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
    "iterations", "real_time", "cpu_time", "time_unit", "cpu_coefficient", "real_coefficient", "big_o", "rms",
    "allocs_per_iter", "max_bytes_used", "total_allocated_bytes", "net_heap_growth", "label"};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

double number_or_nan(const nlohmann::json& value) {
  return value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

std::string string_or(const nlohmann::json& run, const char* key, const std::string& fallback) {
  auto it = run.find(key);
  return it != run.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// A user counter: any key Google Benchmark does not own whose value is a number, or null (a
// non-finite number, after sanitize_benchmark_json).
bool is_counter(const std::string& key, const nlohmann::json& value) {
  return !is_standard_key(key) && (value.is_number() || value.is_null());
}

// The rows of one benchmark while the report is read.
struct Group {
  Benchmark benchmark;
  std::vector<std::map<std::string, double>> rows;  // user counters of each iteration row
  const nlohmann::json* median_row = nullptr;       // Google Benchmark's median aggregate
};

void finish(Group& group) {
  Benchmark& b = group.benchmark;
  std::set<std::string> keys;
  for (const auto& row : group.rows)
    for (const auto& [key, value] : row) keys.insert(key);
  if (group.median_row != nullptr) {
    for (const auto& [key, value] : group.median_row->items())
      if (is_counter(key, value)) keys.insert(key);
  }
  for (const std::string& key : keys) {
    std::vector<double>& per_repetition = b.repetitions[key];
    for (const auto& row : group.rows) {
      auto it = row.find(key);
      per_repetition.push_back(it == row.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
    }
    const bool in_median = group.median_row != nullptr && group.median_row->contains(key);
    b.counters[key] = in_median ? number_or_nan((*group.median_row)[key]) : median(per_repetition);
  }
  const bool median_time = group.median_row != nullptr && group.median_row->contains("real_time");
  b.real_time = median_time ? number_or_nan((*group.median_row)["real_time"]) : median(b.real_times);
  if (b.time_unit.empty() && group.median_row != nullptr) b.time_unit = string_or(*group.median_row, "time_unit", "ns");
  if (group.rows.empty() && group.median_row == nullptr) return;  // nothing measured: no metric
  for (const auto& [key, value] : b.counters) {
    if (is_rate_counter(key)) {
      b.metric = key;
      b.value = value;
      b.values = b.repetitions[key];
      return;
    }
  }
  b.metric = "real_time";
  b.higher_is_better = false;
  b.value = b.real_time;
  b.values = b.real_times;
}

}  // namespace

bool is_standard_key(const std::string& key) { return kStandardKeys.count(key) > 0; }

bool is_rate_counter(const std::string& name) {
  return (name.size() > 6 && ends_with(name, "_per_s")) || ends_with(name, "GBps") || name == "bytes_per_second" ||
         name == "items_per_second";
}

bool is_skip_message(const std::string& message) { return starts_with(message, kSkipPrefix); }

bool is_peer_name(const std::string& name) { return starts_with(name, kPeerPrefix); }

RunName parse_run_name(const std::string& name) {
  RunName parts;
  std::stringstream stream(name);
  std::string segment;
  for (int index = 0; std::getline(stream, segment, '/'); ++index) {
    const size_t colon = segment.find(':');
    if (colon != std::string::npos) {
      const std::string key = segment.substr(0, colon);
      if (key != "iterations") parts.settings.emplace_back(key, segment.substr(colon + 1));  // Google Benchmark's
    } else if (index == 0) {
      parts.family = segment;
    } else if (index == 1) {
      parts.model = segment;
    }
  }
  return parts;
}

std::optional<int64_t> integer_value(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [at, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || at != end) return std::nullopt;
  return value;
}

std::map<std::string, int64_t> name_args(const std::string& name) {
  std::map<std::string, int64_t> args;
  for (const auto& [key, text] : parse_run_name(name).settings) {
    if (const std::optional<int64_t> value = integer_value(text)) args[key] = *value;
  }
  return args;
}

std::string name_segment(const std::string& name, size_t index) {
  std::stringstream stream(name);
  std::string segment;
  for (size_t i = 0; std::getline(stream, segment, '/'); ++i) {
    if (i == index) return segment;
  }
  return "";
}

double median(std::vector<double> values) {
  if (values.empty() || std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); })) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<Benchmark> read_benchmarks(const nlohmann::json& report, const std::string& source) {
  const std::string who = source.empty() ? "this JSON" : "'" + source + "'";
  if (!report.is_object() || !report.contains("context") || !report["context"].is_object() ||
      !report.contains("benchmarks") || !report["benchmarks"].is_array()) {
    throw ReportError(who + " is not a Google Benchmark report (needs \"context\" and \"benchmarks\")");
  }
  std::vector<Group> groups;
  std::map<std::string, size_t> index_of;
  for (const auto& run : report["benchmarks"]) {
    if (!run.is_object() || !run.contains("name") || !run["name"].is_string()) {
      throw ReportError(who + " has a benchmark without a name");
    }
    const std::string name = string_or(run, "run_name", run["name"].get<std::string>());
    auto [it, inserted] = index_of.emplace(name, groups.size());
    if (inserted) {
      groups.emplace_back();
      groups.back().benchmark.name = name;
    }
    Group& group = groups[it->second];
    if (run.value("error_occurred", false)) {
      // With repetitions every repetition repeats the message: the first one stands.
      if (group.benchmark.error.empty()) group.benchmark.error = string_or(run, "error_message", "error");
      continue;
    }
    if (string_or(run, "run_type", "iteration") == "aggregate") {
      // mean, stddev and cv are not the figure; the median is robust to one disturbed repetition.
      if (string_or(run, "aggregate_name", "") == "median") group.median_row = &run;
      continue;
    }
    group.benchmark.real_times.push_back(run.contains("real_time") ? number_or_nan(run["real_time"]) : number_or_nan(nullptr));
    group.benchmark.time_unit = string_or(run, "time_unit", "ns");
    std::map<std::string, double> counters;
    for (const auto& [key, value] : run.items()) {
      if (is_counter(key, value)) counters[key] = number_or_nan(value);
    }
    group.rows.push_back(std::move(counters));
  }
  std::vector<Benchmark> benchmarks;
  for (Group& group : groups) {
    finish(group);
    benchmarks.push_back(std::move(group.benchmark));
  }
  return benchmarks;
}

std::vector<const nlohmann::json*> first_repetition_runs(const nlohmann::json& report) {
  std::vector<const nlohmann::json*> runs;
  for (const auto& run : report["benchmarks"]) {
    if (run.value("run_type", "") != "iteration" || run.value("repetition_index", 0) != 0) continue;
    if (run.value("error_occurred", false)) continue;
    if (is_peer_name(run.value("run_name", std::string()))) continue;
    runs.push_back(&run);
  }
  return runs;
}

std::optional<double> seconds_per_unit(const std::string& unit) {
  if (unit == "ns") return 1e-9;
  if (unit == "us") return 1e-6;
  if (unit == "ms") return 1e-3;
  if (unit == "s") return 1.0;
  return std::nullopt;
}

double comparable_value(const Benchmark& b) {
  if (b.metric != "real_time") return b.value;
  const std::optional<double> scale = seconds_per_unit(b.time_unit);
  return scale ? b.value * *scale : std::numeric_limits<double>::quiet_NaN();
}

std::vector<PeerRatio> peer_ratios(const std::vector<Benchmark>& benchmarks) {
  std::map<std::string, const Benchmark*> by_name;
  for (const Benchmark& b : benchmarks) by_name.emplace(b.name, &b);
  std::vector<PeerRatio> ratios;
  for (const Benchmark& peer : benchmarks) {
    if (!is_peer_name(peer.name) || !peer.error.empty()) continue;
    auto it = by_name.find(peer.name.substr(std::strlen(kPeerPrefix)));
    if (it == by_name.end()) continue;
    const Benchmark& cpp = *it->second;
    if (!cpp.error.empty() || cpp.metric.empty() || cpp.metric != peer.metric) continue;
    // Times in seconds: the peer may write another unit than its C++ row.
    const double cpp_value = comparable_value(cpp), peer_value = comparable_value(peer);
    if (!(std::isfinite(cpp_value) && cpp_value > 0 && std::isfinite(peer_value) && peer_value > 0)) continue;
    ratios.push_back({cpp.name, cpp.metric, cpp_value, peer_value, cpp.higher_is_better});
  }
  return ratios;
}

std::string sanitize_benchmark_json(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    // Outside strings, a value starting with n/N/i/I/-n/-i that is not null is a non-finite number.
    size_t j = i + (c == '-' ? 1 : 0);
    if (j < text.size() && (text[j] == 'n' || text[j] == 'N' || text[j] == 'i' || text[j] == 'I') &&
        text.compare(j, 4, "null") != 0) {
      while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
      out += "null";
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

nlohmann::json read_report_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ReportError("cannot read '" + path + "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(sanitize_benchmark_json(text.str()));
  } catch (const nlohmann::json::parse_error& error) {
    throw ReportError("'" + path + "' is not valid JSON: " + error.what());
  }
}

std::string format_value(double value) {
  if (std::isnan(value)) return "nan";
  std::ostringstream out;
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9) {
    out << std::setprecision(4) << value / 1e9 << "G";
  } else if (magnitude >= 1e6) {
    out << std::setprecision(4) << value / 1e6 << "M";
  } else if (magnitude >= 1e3) {
    out << std::setprecision(4) << value / 1e3 << "k";
  } else {
    out << std::setprecision(4) << value;
  }
  return out.str();
}

}  // namespace pb::schema
