// Summary table rendering from Google Benchmark JSON.
#include "benchmarks/harness/summary.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pb::bench {
namespace {

// Keys of a Google Benchmark run that are not user counters.
const std::set<std::string> kStandardKeys = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "error_occurred", "error_message", "label", "bytes_per_second", "items_per_second"};

}  // namespace

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

std::vector<SummaryRow> summary_rows(const nlohmann::json& report) {
  if (!report.is_object() || !report.contains("benchmarks") || !report["benchmarks"].is_array() ||
      !report.contains("context")) {
    throw std::runtime_error("not a Google Benchmark JSON report (no \"context\" and \"benchmarks\")");
  }
  const auto& runs = report["benchmarks"];
  bool has_aggregates = false;
  for (const auto& run : runs) has_aggregates = has_aggregates || run.value("run_type", "") == "aggregate";
  std::vector<SummaryRow> rows;
  for (const auto& run : runs) {
    const bool error = run.value("error_occurred", false);
    if (has_aggregates && !error && run.value("aggregate_name", "") != "median") continue;
    if (has_aggregates && error && run.value("repetition_index", 0) != 0) continue;  // one row per skip
    SummaryRow row;
    row.name = run.value("run_name", run.value("name", "?"));
    row.real_time = run.value("real_time", 0.0);
    row.time_unit = run.value("time_unit", "");
    if (error) row.error = run.value("error_message", "error");
    for (const auto& [key, value] : run.items()) {
      if (!kStandardKeys.count(key) && value.is_number()) row.counters.emplace_back(key, value.get<double>());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool is_skip(const SummaryRow& row) { return row.error.rfind("skipped:", 0) == 0; }

void print_summary(const nlohmann::json& report, std::ostream& out) {
  const std::vector<SummaryRow> rows = summary_rows(report);
  std::vector<std::string> counter_names;
  size_t name_width = 9;
  for (const SummaryRow& row : rows) {
    if (!row.error.empty()) continue;
    name_width = std::max(name_width, row.name.size());
    for (const auto& [name, value] : row.counters) {
      if (std::find(counter_names.begin(), counter_names.end(), name) == counter_names.end()) counter_names.push_back(name);
    }
  }
  // Rates (the figure the reader came for) first, then the correctness checks beside them.
  std::stable_sort(counter_names.begin(), counter_names.end(), [](const std::string& a, const std::string& b) {
    auto is_rate = [](const std::string& n) { return n.find("_per_s") != std::string::npos || n.find("GBps") != std::string::npos; };
    return is_rate(a) && !is_rate(b);
  });
  out << std::left << std::setw(static_cast<int>(name_width)) << "benchmark" << std::right;
  for (const std::string& name : counter_names) out << "  " << std::setw(std::max<int>(12, static_cast<int>(name.size()))) << name;
  out << "\n" << std::string(name_width, '-');
  for (const std::string& name : counter_names) out << "  " << std::string(std::max<size_t>(12, name.size()), '-');
  out << "\n";
  for (const SummaryRow& row : rows) {
    if (!row.error.empty()) continue;
    out << std::left << std::setw(static_cast<int>(name_width)) << row.name << std::right;
    for (const std::string& name : counter_names) {
      std::string cell = "-";
      for (const auto& [key, value] : row.counters) {
        if (key == name) cell = format_value(value);
      }
      out << "  " << std::setw(std::max<int>(12, static_cast<int>(name.size()))) << cell;
    }
    out << "\n";
  }
  const auto& context = report["context"];
  if (context.contains("cuda_status") && context["cuda_status"].is_string()) {
    const std::string status = context["cuda_status"].get<std::string>();
    if (status == "available") {
      out << "\nCUDA: available (" << context.value("gpu_names", std::string("?")) << ")\n";
    } else {
      size_t measured = 0;
      for (const SummaryRow& row : rows) measured += row.error.empty() ? 1 : 0;
      out << "\nGPU cases: skipped, CUDA " << status << "; "
          << (measured > 0 ? std::to_string(measured) + " other case(s) ran" : "nothing else ran") << "\n";
    }
  }
  // Skips share a few reasons (no CUDA, too few GPUs): one line per reason, with the families.
  std::vector<std::string> reasons;
  std::map<std::string, std::pair<size_t, std::vector<std::string>>> skipped;  // reason -> count, families
  for (const SummaryRow& row : rows) {
    if (row.error.empty() || !is_skip(row)) continue;
    auto& [count, families] = skipped[row.error];
    if (count++ == 0) reasons.push_back(row.error);
    const std::string family = row.name.substr(0, row.name.find('/'));
    if (std::find(families.begin(), families.end(), family) == families.end()) families.push_back(family);
  }
  if (!reasons.empty()) out << "\nSkipped:\n";
  for (const std::string& reason : reasons) {
    const auto& [count, families] = skipped[reason];
    out << "  " << count << " benchmark" << (count == 1 ? "" : "s") << " (";
    for (size_t i = 0; i < families.size(); ++i) out << (i ? ", " : "") << families[i] << "/*";
    out << "): " << reason << "\n";
  }
  bool header = false;
  for (const SummaryRow& row : rows) {
    if (row.error.empty() || is_skip(row)) continue;
    if (!header) out << "\nFAILED:\n";
    header = true;
    out << "  " << row.name << ": " << row.error << "\n";
  }
}

}  // namespace pb::bench
