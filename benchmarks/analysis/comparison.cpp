// Comparison logic and its three renderings, all from the same Comparison structs.
#include "benchmarks/analysis/comparison.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "benchmarks/analysis/mann_whitney.h"
#include "benchmarks/analysis/report_schema.h"

namespace pb::analysis {
namespace {

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

std::string ratio_text(const ComparedRow& row) { return row.note.empty() ? fixed(row.ratio, 3) + "x" : row.note; }

std::string p_text(const ComparedRow& row) {
  if (!row.p_value) return "-";
  std::string text = fixed(*row.p_value, 4);
  if (std::min(row.baseline_repetitions, row.contender_repetitions) < kUTestOptimalRepetitions) text += "*";
  return text;
}

bool any_p_value(const std::vector<Comparison>& comparisons) {
  for (const Comparison& c : comparisons)
    for (const ComparedRow& row : c.rows)
      if (row.p_value) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& environment_keys() {
  static const std::vector<std::string> keys = {
      "host_name", "cpu_model", "cpu_cores", "num_cpus", "libtorch_version", "libtorch_cuda", "cuda_runtime",
      "cudnn_version", "gpu_count", "gpu_names", "blas", "torch_threads", "torch_interop_threads", "pb_build_type",
      "library_build_type", "pb_git_revision"};
  return keys;
}

Comparison compare_reports(const Report& baseline, const Report& contender, const std::optional<std::regex>& filter) {
  Comparison c;
  c.baseline_path = baseline.path;
  c.contender_path = contender.path;
  for (const std::string& key : environment_keys()) {
    auto b = baseline.context.find(key), k = contender.context.find(key);
    const std::string bv = b == baseline.context.end() ? "(absent)" : b->second;
    const std::string kv = k == contender.context.end() ? "(absent)" : k->second;
    if (bv != kv) c.environment.push_back({key, bv, kv});
  }
  auto selected = [&](const std::string& name) { return !filter || std::regex_search(name, *filter); };
  double log_sum = 0;
  for (const Entry& base : baseline.entries) {
    if (!selected(base.name)) continue;
    const Entry* other = contender.find(base.name);
    if (other == nullptr) {
      c.only_in_baseline.push_back(base.name);
      continue;
    }
    ComparedRow row;
    row.name = base.name;
    row.metric = base.metric.empty() ? other->metric : base.metric;
    row.baseline = base.value;
    row.contender = other->value;
    row.baseline_time = base.time;
    row.contender_time = other->time;
    row.baseline_repetitions = base.values.size();
    row.contender_repetitions = other->values.size();
    // Times in the baseline's unit: Google Benchmark picks the unit per benchmark, so two runs of
    // one benchmark may differ (1 s against 500000000 ns is a 2x speed-up, not 0.000x). A failed
    // run has no unit and no time: the other side's unit stands.
    bool units_differ = false;
    row.time_unit = base.time_unit.empty() ? other->time_unit : base.time_unit;
    if (!base.time_unit.empty() && !other->time_unit.empty() && base.time_unit != other->time_unit) {
      const std::optional<double> from = schema::seconds_per_unit(other->time_unit), to = schema::seconds_per_unit(base.time_unit);
      if (from && to) {
        const double scale = *from / *to;
        row.contender_time *= scale;  // the figures (rates, or times in seconds) need no scaling
      } else {
        units_differ = true;
        row.time_unit = "";  // times shown as written, without a unit that would be wrong for one
      }
    }
    if (!base.error.empty() || !other->error.empty()) {
      const std::string& error = base.error.empty() ? other->error : base.error;
      row.note = schema::is_skip_message(error) ? error : "failed: " + error;
    } else if (base.metric != other->metric) {
      row.note = "different metrics (" + base.metric + " vs " + other->metric + ")";
    } else if (units_differ && base.metric == "real_time") {
      row.note = "different time units (" + base.time_unit + " vs " + other->time_unit + ")";
    } else if (std::isnan(row.baseline) || std::isnan(row.contender)) {
      row.note = "not a number";
    } else if (row.baseline == 0 || row.contender == 0) {
      row.note = "zero value";
    } else {
      row.ratio = base.higher_is_better ? row.contender / row.baseline : row.baseline / row.contender;
      row.p_value = mann_whitney_p(base.values, other->values);
      log_sum += std::log(row.ratio);
      ++c.geomean_count;
    }
    c.rows.push_back(row);
  }
  for (const Entry& entry : contender.entries) {
    if (selected(entry.name) && baseline.find(entry.name) == nullptr) c.only_in_contender.push_back(entry.name);
  }
  c.geomean = c.geomean_count ? std::exp(log_sum / static_cast<double>(c.geomean_count)) : 0;
  return c;
}

std::string render_console(const std::vector<Comparison>& comparisons) {
  std::ostringstream out;
  const bool show_p = any_p_value(comparisons);
  for (const Comparison& c : comparisons) {
    out << "baseline:  " << c.baseline_path << "\ncontender: " << c.contender_path << "\n";
    if (c.environment.empty()) {
      out << "environment: identical on every compared key\n";
    } else {
      out << "environment differences:\n";
      size_t width = 0;
      for (const auto& d : c.environment) width = std::max(width, d.key.size());
      for (const auto& d : c.environment) {
        out << "  " << std::left << std::setw(static_cast<int>(width)) << d.key << "  " << d.baseline << "  ->  "
            << d.contender << "\n";
      }
    }
    size_t name_width = 9;
    for (const ComparedRow& row : c.rows) name_width = std::max(name_width, row.name.size());
    out << "\n" << std::left << std::setw(static_cast<int>(name_width)) << "benchmark" << std::right << "  "
        << std::setw(14) << "metric" << "  " << std::setw(10) << "baseline" << "  " << std::setw(10) << "contender"
        << "  " << std::setw(9) << "ratio" << (show_p ? "   p-value" : "") << "  " << std::setw(12) << "base time"
        << "  " << std::setw(12) << "cont. time" << "\n";
    for (const ComparedRow& row : c.rows) {
      out << std::left << std::setw(static_cast<int>(name_width)) << row.name << std::right << "  " << std::setw(14)
          << row.metric << "  " << std::setw(10) << schema::format_value(row.baseline) << "  " << std::setw(10)
          << schema::format_value(row.contender) << "  " << std::setw(9) << ratio_text(row);
      if (show_p) out << "  " << std::setw(8) << p_text(row);
      out << "  " << std::setw(12) << (schema::format_value(row.baseline_time) + " " + row.time_unit) << "  " << std::setw(12)
          << (schema::format_value(row.contender_time) + " " + row.time_unit);
      out << "\n";
    }
    out << std::left << std::setw(static_cast<int>(name_width)) << "OVERALL_GEOMEAN" << std::right << "  "
        << std::setw(14) << "" << "  " << std::setw(10) << "" << "  " << std::setw(10) << ""
        << "  " << std::setw(9) << (c.geomean_count ? fixed(c.geomean, 3) + "x" : "-") << "\n";
    if (show_p) out << "(* fewer than " << kUTestOptimalRepetitions << " repetitions: p-value unreliable)\n";
    for (const auto& [label, names] : {std::pair{"only in baseline", &c.only_in_baseline},
                                       std::pair{"only in contender", &c.only_in_contender}}) {
      if (names->empty()) continue;
      out << label << ":\n";
      for (const std::string& name : *names) out << "  " << name << "\n";
    }
    out << "\n";
  }
  return out.str();
}

std::string render_markdown(const std::vector<Comparison>& comparisons) {
  std::ostringstream out;
  const bool show_p = any_p_value(comparisons);
  for (const Comparison& c : comparisons) {
    out << "## `" << c.contender_path << "` against `" << c.baseline_path << "`\n\n";
    if (c.environment.empty()) {
      out << "Environments identical on every compared key.\n\n";
    } else {
      out << "| environment | baseline | contender |\n|---|---|---|\n";
      for (const auto& d : c.environment) out << "| " << d.key << " | " << d.baseline << " | " << d.contender << " |\n";
      out << "\n";
    }
    out << "| benchmark | metric | baseline | contender | ratio |" << (show_p ? " p-value |" : "")
        << " baseline time | contender time |\n"
        << "|---|---|---:|---:|---:|" << (show_p ? "---:|" : "") << "---:|---:|\n";
    for (const ComparedRow& row : c.rows) {
      out << "| `" << row.name << "` | " << row.metric << " | " << schema::format_value(row.baseline) << " | "
          << schema::format_value(row.contender) << " | " << ratio_text(row) << " |";
      if (show_p) out << " " << p_text(row) << " |";
      out << " " << schema::format_value(row.baseline_time) << " " << row.time_unit << " | "
          << schema::format_value(row.contender_time) << " " << row.time_unit << " |\n";
    }
    out << "| **geometric mean** | | | | **" << (c.geomean_count ? fixed(c.geomean, 3) + "x" : "-") << "** |"
        << (show_p ? " |" : "") << " | |\n\n";
    for (const auto& [label, names] : {std::pair{"Only in the baseline", &c.only_in_baseline},
                                       std::pair{"Only in the contender", &c.only_in_contender}}) {
      if (names->empty()) continue;
      out << label << ":\n\n";
      for (const std::string& name : *names) out << "- `" << name << "`\n";
      out << "\n";
    }
  }
  return out.str();
}

nlohmann::json render_json(const std::vector<Comparison>& comparisons) {
  nlohmann::json all = nlohmann::json::array();
  for (const Comparison& c : comparisons) {
    nlohmann::json j = {{"baseline", c.baseline_path}, {"contender", c.contender_path},
                        {"environment_differences", nlohmann::json::array()}, {"benchmarks", nlohmann::json::array()},
                        {"geomean", c.geomean_count ? nlohmann::json(c.geomean) : nlohmann::json(nullptr)},
                        {"only_in_baseline", c.only_in_baseline}, {"only_in_contender", c.only_in_contender}};
    for (const auto& d : c.environment) {
      j["environment_differences"].push_back({{"key", d.key}, {"baseline", d.baseline}, {"contender", d.contender}});
    }
    for (const ComparedRow& row : c.rows) {
      nlohmann::json r = {{"name", row.name}, {"metric", row.metric},
                          {"baseline", std::isfinite(row.baseline) ? nlohmann::json(row.baseline) : nlohmann::json(nullptr)},
                          {"contender", std::isfinite(row.contender) ? nlohmann::json(row.contender) : nlohmann::json(nullptr)},
                          {"baseline_time", std::isfinite(row.baseline_time) ? nlohmann::json(row.baseline_time) : nlohmann::json(nullptr)},
                          {"contender_time", std::isfinite(row.contender_time) ? nlohmann::json(row.contender_time) : nlohmann::json(nullptr)},
                          {"time_unit", row.time_unit},
                          {"baseline_repetitions", row.baseline_repetitions},
                          {"contender_repetitions", row.contender_repetitions}};
      r["ratio"] = row.note.empty() ? nlohmann::json(row.ratio) : nlohmann::json(nullptr);
      r["p_value"] = row.p_value ? nlohmann::json(*row.p_value) : nlohmann::json(nullptr);
      if (!row.note.empty()) r["note"] = row.note;
      j["benchmarks"].push_back(r);
    }
    all.push_back(j);
  }
  return all;
}

std::vector<std::string> rows_below(const std::vector<Comparison>& comparisons, double threshold) {
  std::vector<std::string> names;
  for (const Comparison& c : comparisons)
    for (const ComparedRow& row : c.rows)
      if (row.note.empty() && row.ratio < threshold) names.push_back(row.name);
  return names;
}

std::vector<std::string> rows_unevaluated(const std::vector<Comparison>& comparisons) {
  std::vector<std::string> rows;
  for (const Comparison& c : comparisons)
    for (const ComparedRow& row : c.rows)
      if (!row.note.empty()) rows.push_back(row.name + " (" + row.note + ")");
  return rows;
}

std::vector<std::string> rows_missing(const std::vector<Comparison>& comparisons) {
  std::vector<std::string> rows;
  for (const Comparison& c : comparisons)
    for (const std::string& name : c.only_in_baseline) rows.push_back(name + " (not in '" + c.contender_path + "')");
  return rows;
}

}  // namespace pb::analysis
