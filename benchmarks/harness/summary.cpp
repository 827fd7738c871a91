// Summary table rendering from Google Benchmark JSON, read through the report schema.
#include "benchmarks/harness/summary.h"

#include <algorithm>
#include <iomanip>
#include <map>

#include "benchmarks/harness/derive.h"

namespace pb::bench {

std::vector<SummaryRow> summary_rows(const nlohmann::json& report) { return schema::read_benchmarks(report, ""); }

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
    return schema::is_rate_counter(a) && !schema::is_rate_counter(b);
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
  // Derived metrics whose baseline did not run (a filter left it out, say): once per reason.
  std::vector<std::string> missing;
  std::map<std::string, size_t> missing_count;
  for (const auto& run : report["benchmarks"]) {
    if (!run.is_object() || run.value("run_type", std::string("iteration")) != "iteration" ||
        run.value("repetition_index", 0) != 0 || !run.contains(kDerivedMissingKey) || !run[kDerivedMissingKey].is_string()) {
      continue;
    }
    const std::string why = run[kDerivedMissingKey].get<std::string>();
    if (missing_count[why]++ == 0) missing.push_back(why);
  }
  if (!missing.empty()) out << "\nNot derived:\n";
  for (const std::string& why : missing) {
    out << "  " << missing_count[why] << " benchmark" << (missing_count[why] == 1 ? "" : "s") << ": " << why << "\n";
  }
}

}  // namespace pb::bench
