// Report building from the report's own spec (report_spec.h): charts, best settings against the
// family's baseline, comparison tables, Markdown.
#include "benchmarks/analysis/report_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>

#include "benchmarks/analysis/report_schema.h"
#include "common/timer.h"

namespace pb::analysis {
namespace {

// An argument as text: "workers 2". Settings named by words (mode:persistent) are labels, shown
// the same way ("mode persistent"): no name needs a table to be read.
std::string arg_value_text(const std::string& key, int64_t value) { return key + " " + std::to_string(value); }

// An entry's settings as text: its arguments ("workers 2") and labels ("pipeline pinned"), in the
// order of `keys`.
std::string settings_text(const Entry& entry, const std::vector<std::string>& keys) {
  std::string text;
  for (const std::string& key : keys) {
    std::string part;
    if (auto it = entry.args.find(key); it != entry.args.end()) part = arg_value_text(key, it->second);
    if (auto it = entry.labels.find(key); it != entry.labels.end()) part = key + " " + it->second;
    if (!part.empty()) text += (text.empty() ? "" : ", ") + part;
  }
  return text;
}

bool matches_fixed(const Entry& entry, const std::vector<std::pair<std::string, int64_t>>& fixed) {
  for (const auto& [key, value] : fixed) {
    auto it = entry.args.find(key);
    if (it == entry.args.end() || it->second != value) return false;
  }
  return true;
}

std::string metric_label(const std::string& metric) {
  if (metric == "samples_per_s") return "samples/s";
  if (metric == "real_time") return "s (time)";
  if (metric == "algbw_GBps") return "algorithm bandwidth (GB/s)";
  if (metric == "busbw_GBps") return "bus bandwidth (GB/s)";
  if (metric == "GBps") return "copy bandwidth (GB/s)";
  return metric;
}

// A setting's value as text (an argument's digits, a label's word); none when the row lacks it.
std::optional<std::string> setting_value(const Entry& entry, const std::string& key) {
  if (auto it = entry.args.find(key); it != entry.args.end()) return std::to_string(it->second);
  if (auto it = entry.labels.find(key); it != entry.labels.end()) return it->second;
  return std::nullopt;
}

bool matches(const Entry& entry, const std::map<std::string, std::string>& settings) {
  for (const auto& [key, value] : settings) {
    if (setting_value(entry, key) != value) return false;
  }
  return true;
}

bool matches(const Entry& entry, const schema::RowMatch& match) {
  for (const auto& [key, bound] : match.above) {
    auto it = entry.args.find(key);
    if (it == entry.args.end() || it->second <= bound) return false;
  }
  return matches(entry, match.is);
}

// The baseline of a group: its first row with the spec's baseline settings (kSmallest: the
// smallest value of that argument among the group's rows); none when no row has them.
const Entry* find_baseline(const std::vector<const Entry*>& rows, const std::map<std::string, std::string>& baseline) {
  if (baseline.empty()) return nullptr;
  std::map<std::string, std::string> wanted = baseline;
  for (auto& [key, value] : wanted) {
    if (value != schema::kSmallest) continue;
    std::optional<int64_t> smallest;
    for (const Entry* e : rows)
      if (auto it = e->args.find(key); it != e->args.end() && (!smallest || it->second < *smallest)) smallest = it->second;
    if (!smallest) return nullptr;
    value = std::to_string(*smallest);
  }
  for (const Entry* e : rows)
    if (matches(*e, wanted)) return e;
  return nullptr;
}

std::string phase_counter(const std::string& phase) { return "phase_" + phase + "_s"; }

bool has_phase_counters(const Entry& entry) {
  for (const std::string& phase : phase_names()) {
    if (entry.counters.count(phase_counter(phase))) return true;
  }
  return false;
}

// "linear|load_us 0" -> "linear_load_us-0": a chart key as part of a file name.
std::string file_suffix(std::string key) {
  std::replace(key.begin(), key.end(), '|', '_');
  std::replace(key.begin(), key.end(), ' ', '-');
  key.erase(std::remove(key.begin(), key.end(), ','), key.end());
  return key;
}

// One stacked-bar chart of the phases of `entries` (same family, model and split values).
ChartFile phase_chart(const PhaseChartSpec& spec, const std::string& chart_key, const std::vector<const Entry*>& entries,
                      const std::string& stem) {
  std::vector<std::string> parts;
  for (const std::string& phase : phase_names()) {
    if (std::any_of(entries.begin(), entries.end(), [&](const Entry* e) { return e->counters.count(phase_counter(phase)) > 0; })) {
      parts.push_back(phase);
    }
  }
  // The settings that tell the bars apart name them; those all bars share go into the title.
  std::vector<std::string> keys, varying, shared;
  for (const Entry* e : entries) {
    for (const std::string& k : e->arg_order)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (const auto& [k, word] : e->labels)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  for (const std::string& k : keys) {
    if (std::find(spec.split.begin(), spec.split.end(), k) != spec.split.end()) continue;
    const std::string first = settings_text(*entries.front(), {k});
    const bool varies = std::any_of(entries.begin(), entries.end(), [&](const Entry* e) { return settings_text(*e, {k}) != first; });
    (varies ? varying : shared).push_back(k);
  }
  if (varying.empty()) std::swap(varying, shared);  // a single bar: named by all its settings
  ChartFile file;
  const std::string suffix = file_suffix(chart_key);
  file.file_name = stem + (stem == spec.family ? "" : "_" + spec.family) + "_phases" + (suffix.empty() ? "" : "_" + suffix) + ".svg";
  std::string title_split = chart_key;
  for (size_t bar; (bar = title_split.find('|')) != std::string::npos;) title_split.replace(bar, 1, ", ");
  const std::string constants = shared.empty() ? "" : settings_text(*entries.front(), shared);
  file.chart.title = spec.family + (title_split.empty() ? "" : " " + title_split) + ": time per " + spec.per + " by phase" +
                     (constants.empty() ? "" : " (" + constants + ")");
  file.chart.x_label = "setting";
  file.chart.y_label = "ms per " + spec.per;
  file.chart.parts = parts;
  for (const Entry* e : entries) {
    Bar bar{settings_text(*e, varying), {}};
    if (bar.name.empty()) bar.name = e->name;
    for (const std::string& phase : parts) {
      auto it = e->counters.find(phase_counter(phase));
      bar.values.push_back(it == e->counters.end() ? 0.0 : it->second * 1e3);
    }
    file.chart.bars.push_back(std::move(bar));
  }
  return file;
}

}  // namespace

const std::vector<std::string>& phase_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (Phase p : kAllPhases) out.emplace_back(phase_name(p));
    return out;
  }();
  return names;
}

std::vector<ChartFile> build_charts(const Report& report, const std::string& stem) {
  std::vector<ChartFile> files;
  if (!report.spec) return files;  // an old or foreign report: no family told what to draw
  for (const ChartSpec& spec : report.spec->charts) {
    // chart key (model + split values) -> series key -> points
    std::map<std::string, std::map<std::string, std::vector<std::pair<double, double>>>> charts;
    std::map<std::string, std::string> metric_of;
    for (const Entry& entry : report.entries) {
      if (entry.family != spec.family || !entry.error.empty() || !entry.args.count(spec.x)) continue;
      if (!matches_fixed(entry, spec.fixed)) continue;
      std::string chart_key = entry.model;
      for (const std::string& key : spec.split) chart_key += "|" + settings_text(entry, {key});
      const std::string series_key = settings_text(entry, spec.series);
      charts[chart_key][series_key].emplace_back(static_cast<double>(entry.args.at(spec.x)), entry.value);
      metric_of[chart_key] = entry.metric;
    }
    for (auto& [chart_key, series_map] : charts) {
      size_t finite = 0;
      for (const auto& [series_key, points] : series_map)
        for (const auto& point : points) finite += std::isfinite(point.second) ? 1 : 0;
      if (finite == 0) continue;  // nothing measurable to draw (all NaN)
      ChartFile file;
      std::string suffix = chart_key;
      std::replace(suffix.begin(), suffix.end(), '|', '_');
      std::replace(suffix.begin(), suffix.end(), ' ', '-');
      suffix.erase(std::remove(suffix.begin(), suffix.end(), ','), suffix.end());
      file.file_name = stem + (stem == spec.family ? "" : "_" + spec.family) + "_" + spec.x +
                       (suffix.empty() ? "" : "_" + suffix) + ".svg";
      std::string title_split = chart_key.substr(chart_key.find('|') == std::string::npos ? chart_key.size() : chart_key.find('|'));
      for (size_t bar; (bar = title_split.find('|')) != std::string::npos;) title_split.replace(bar, 1, ", ");
      const std::string model = chart_key.substr(0, chart_key.find('|'));
      file.chart.title = spec.family + (model.empty() ? "" : " " + model) + ": " +
                         metric_label(metric_of[chart_key]) + " vs " + spec.x_label + title_split;
      file.chart.x_label = spec.x_label;
      file.chart.log_x = spec.log_x;
      file.chart.y_label = metric_label(metric_of[chart_key]);
      // The runs at the smallest x (0 workers, 1 thread) often exist once, outside any series
      // (no loader settings without workers): every series starts from them.
      double x_min = std::numeric_limits<double>::infinity();
      for (const auto& [series_key, points] : series_map)
        for (const auto& point : points) x_min = std::min(x_min, point.first);
      std::optional<std::pair<double, double>> shared;
      for (const auto& [series_key, points] : series_map)
        for (const auto& point : points)
          if (point.first == x_min && !shared) shared = point;
      for (auto& [series_key, points] : series_map) {
        const bool has_min = std::any_of(points.begin(), points.end(), [&](const auto& p) { return p.first == x_min; });
        if (!has_min && shared) points.push_back(*shared);
      }
      if (series_map.size() > 1) {  // a series holding only the shared point adds nothing
        for (auto it = series_map.begin(); it != series_map.end();) {
          it = it->second.size() == 1 && it->second.front().first == x_min ? series_map.erase(it) : std::next(it);
        }
      }
      // Every series held only the shared point (a sweep with one x value, e.g. --threads 1):
      // there is no curve to draw.
      if (series_map.empty()) continue;
      std::pair<double, double> first{0, 0};
      bool have_first = false;
      double x_max = 0;
      for (auto& [series_key, points] : series_map) {
        std::sort(points.begin(), points.end());
        // The x = smallest point is shared by all series (e.g. 0 workers): the scaling baseline.
        if (!have_first || points.front().first < first.first) {
          first = points.front();
          have_first = true;
        }
        x_max = std::max(x_max, points.back().first);
        file.chart.series.push_back({series_key.empty() ? spec.family : series_key, points, false});
      }
      if (spec.ideal_scaling && have_first && x_max > first.first) {
        // Ideal linear scaling from the first point: y0 * max(x, 1) / max(x0, 1).
        Series ideal{"ideal linear scaling", {}, true};
        for (double x = std::max(first.first, 1.0); x <= x_max; x *= 2) {
          ideal.points.emplace_back(x, first.second * x / std::max(first.first, 1.0));
        }
        if (first.first == 0) ideal.points.insert(ideal.points.begin(), first);
        file.chart.series.push_back(ideal);
      }
      files.push_back(std::move(file));
    }
  }
  for (const PhaseChartSpec& spec : report.spec->phase_charts) {
    std::map<std::string, std::vector<const Entry*>> groups;  // chart key -> rows, in report order
    for (const Entry& entry : report.entries) {
      if (entry.family != spec.family || !entry.error.empty() || !has_phase_counters(entry)) continue;
      std::string chart_key = entry.model;
      for (const std::string& key : spec.split) chart_key += "|" + settings_text(entry, {key});
      groups[chart_key].push_back(&entry);
    }
    for (const auto& [chart_key, entries] : groups) files.push_back(phase_chart(spec, chart_key, entries, stem));
  }
  return files;
}

std::vector<std::string> phase_share_lines(const std::vector<ChartFile>& charts) {
  std::vector<std::string> lines;
  for (const ChartFile& file : charts) {
    const Chart& chart = file.chart;
    if (chart.bars.empty()) continue;
    if (!lines.empty()) lines.emplace_back("");
    lines.push_back("### " + chart.title);
    lines.emplace_back("");
    std::string header = "| " + chart.x_label + " | " + chart.y_label + " |", rule = "|---|---:|";
    for (const std::string& part : chart.parts) {
      header += " " + part + " |";
      rule += "---:|";
    }
    lines.push_back(header);
    lines.push_back(rule);
    for (const Bar& bar : chart.bars) {
      double total = 0;
      for (double v : bar.values) total += std::isfinite(v) && v > 0 ? v : 0;
      std::ostringstream line;
      line << "| " << bar.name << " | " << schema::format_value(total) << " |";
      for (double v : bar.values) {
        line << " " << std::fixed << std::setprecision(1) << (total > 0 && std::isfinite(v) && v > 0 ? 100 * v / total : 0.0)
             << "% |";
      }
      lines.push_back(line.str());
    }
  }
  return lines;
}

std::vector<std::string> peer_ratio_lines(const Report& report) {
  std::vector<std::string> lines;
  for (const schema::PeerRatio& peer : report.peers) {  // paired by the schema, as the console's table
    std::ostringstream line;
    line << "| `" << peer.name << "` | " << schema::format_value(peer.cpp) << " | " << schema::format_value(peer.python)
         << " | " << std::fixed << std::setprecision(2) << peer.ratio() << "x |";
    lines.push_back(line.str());
  }
  return lines;
}

std::vector<std::string> ratio_lines(const Report& report, const schema::RatioSpec& spec) {
  std::vector<std::string> lines;
  auto same_settings = [&](const Entry& a, const Entry& b) {
    for (const std::string& key : spec.same) {
      const std::optional<std::string> value = setting_value(a, key);
      if (!value || setting_value(b, key) != value) return false;
    }
    return true;
  };
  for (const Entry& row : report.entries) {
    if (row.family != spec.family || !row.error.empty() || !matches(row, spec.row)) continue;
    for (const Entry& against : report.entries) {
      if (against.family != spec.family || against.model != row.model || !against.error.empty() ||
          !matches(against, spec.against) || !same_settings(row, against) || !(against.value > 0) ||
          against.metric != row.metric) {
        continue;
      }
      std::ostringstream line;
      line << "| `" << row.name << "` | " << schema::format_value(row.value) << " | " << schema::format_value(against.value)
           << " | " << std::fixed << std::setprecision(2) << row.value / against.value << "x |";
      lines.push_back(line.str());
      break;
    }
  }
  return lines;
}

std::vector<std::string> best_settings(const Report& report) {
  std::vector<std::string> lines;
  if (!report.spec) return lines;
  struct Group {
    const schema::BestSpec* spec = nullptr;
    std::string heading;               // "<family> <model>" and the group_by headings
    std::vector<const Entry*> rows;    // every measured row, in report order
  };
  std::map<std::string, Group> groups;  // family/model/group_by values
  std::vector<std::string> order;
  for (const Entry& entry : report.entries) {
    if (!entry.error.empty() || std::isnan(entry.value)) continue;
    if (schema::is_peer_name(entry.name)) continue;  // the Python peer has its own section
    const auto spec = std::find_if(report.spec->best.begin(), report.spec->best.end(),
                                   [&](const schema::BestSpec& b) { return b.family == entry.family; });
    if (spec == report.spec->best.end()) continue;
    std::string key = entry.family + "/" + entry.model;
    std::string heading = entry.family + (entry.model.empty() ? "" : " " + entry.model);
    for (const schema::GroupBy& by : spec->group_by) {
      const std::optional<std::string> value = setting_value(entry, by.key);
      key += "/" + by.key + ":" + value.value_or("");
      if (!value) continue;
      std::string text = by.heading;
      if (const size_t at = text.find("{}"); at != std::string::npos) text.replace(at, 2, *value);
      heading += text;
    }
    Group& group = groups[key];
    if (group.rows.empty()) order.push_back(key);
    group.spec = &*spec;
    group.heading = heading;
    group.rows.push_back(&entry);
  }
  for (const std::string& key : order) {
    const Group& group = groups[key];
    const schema::BestSpec& spec = *group.spec;
    const Entry* best = nullptr;
    for (const Entry* e : group.rows) {
      // Rows kept only as a reference (not a way to train) are never the best.
      if (std::any_of(spec.not_candidates.begin(), spec.not_candidates.end(), [&](const schema::RowMatch& m) { return matches(*e, m); }))
        continue;
      if (best == nullptr || (e->higher_is_better ? e->value > best->value : e->value < best->value)) best = e;
    }
    if (best == nullptr) continue;
    const Entry* baseline = find_baseline(group.rows, spec.baseline);
    auto grouped = [&](const std::string& k) {
      return std::any_of(spec.group_by.begin(), spec.group_by.end(), [&](const schema::GroupBy& by) { return by.key == k; });
    };
    std::vector<std::string> keys;  // the settings a reader picks: labels, then arguments in name order
    for (const auto& [label, value] : best->labels)
      if (!grouped(label)) keys.push_back(label);
    for (const std::string& k : best->arg_order)
      if (!grouped(k)) keys.push_back(k);
    std::ostringstream line;
    line << "**" << group.heading << "**: ";
    if (!spec.peak.empty() && best->args.count(spec.peak)) {  // a sweep: its peak, not a "best setting"
      keys.erase(std::remove(keys.begin(), keys.end(), spec.peak), keys.end());
      line << "peak " << schema::format_value(best->value) << " " << best->metric << " at "
           << schema::format_value(static_cast<double>(best->args.at(spec.peak))) << " " << spec.peak;
      const std::string others = settings_text(*best, keys);
      if (!others.empty()) line << ", " << others;
      lines.push_back(line.str());
      continue;
    }
    line << "best " << settings_text(*best, keys) << " at " << schema::format_value(best->value) << " "
         << metric_label(best->metric);
    if (baseline != nullptr && baseline != best && baseline->value > 0) {
      const double ratio = best->higher_is_better ? best->value / baseline->value : baseline->value / best->value;
      line << ", " << std::fixed << std::setprecision(2) << ratio << "x the baseline (" << settings_text(*baseline, keys)
           << ": " << schema::format_value(baseline->value) << ")";
    } else if (baseline == best) {
      line << " (the baseline itself: no setting beat it)";
    }
    lines.push_back(line.str());
  }
  return lines;
}

std::string render_report_markdown(const Report& report, const std::vector<ChartFile>& charts) {
  std::ostringstream out;
  auto ctx = [&](const std::string& key) {
    auto it = report.context.find(key);
    return it == report.context.end() ? std::string("unknown") : it->second;
  };
  out << "# Benchmark report: " << ctx("pb_suite") << " on " << ctx("host_name") << "\n\n"
      << "From `" << report.path << "`, run " << ctx("date") << ", revision `" << ctx("pb_git_revision") << "`.\n\n"
      << "## Environment\n\n| key | value |\n|---|---|\n";
  for (const char* key : {"cpu_model", "cpu_cores", "libtorch_version", "libtorch_cuda", "cuda_status", "gpu_names",
                          "cudnn_version", "blas", "torch_threads", "pb_build_type", "pb_command_line"}) {
    out << "| " << key << " | " << ctx(key) << " |\n";
  }
  // Without a spec nothing says what a baseline is: no best settings, no comparison tables.
  if (report.spec) {
    out << "\n## Best settings on this machine\n\n";
    for (const std::string& line : best_settings(report)) out << "- " << line << "\n";
  }
  const std::vector<std::string> peer = peer_ratio_lines(report);
  if (!peer.empty()) {
    out << "\n## C++ against the Python peer\n\nThe same work in Python (benchmarks/peer_python), in the same run "
        << "(Python " << ctx("peer_python_version") << ", torch " << ctx("peer_torch_version") << "): samples/s of each "
        << "and their ratio (docs/python_peer.md explains the differences).\n\n"
        << "| benchmark | C++ | Python | C++/Python |\n|---|---:|---:|---:|\n";
    for (const std::string& line : peer) out << line << "\n";
  }
  for (const schema::RatioSpec& spec : report.spec ? report.spec->ratios : std::vector<schema::RatioSpec>{}) {
    const std::vector<std::string> lines = ratio_lines(report, spec);
    if (lines.empty()) continue;
    out << "\n## " << spec.title << "\n\n" << spec.text << "\n\n| benchmark | " << spec.row_column << " | "
        << spec.against_column << " | " << spec.row_column << "/" << spec.against_column << " |\n|---|---:|---:|---:|\n";
    for (const std::string& line : lines) out << line << "\n";
  }
  if (!charts.empty()) out << "\n## Charts\n\n";
  for (const ChartFile& chart : charts) out << "![" << chart.chart.title << "](" << chart.file_name << ")\n\n";
  const std::vector<std::string> shares = phase_share_lines(charts);
  if (!shares.empty()) {
    out << "## Where the time goes\n\nPer setting, the time of one iteration (an epoch or a step, measured by "
        << "steady_clock laps on the training thread, or rank 0) and each phase's share of it.\n\n";
    for (const std::string& line : shares) out << line << "\n";
    out << "\n";
  }
  out << "## All results\n\n| benchmark | value | counters |\n|---|---:|---|\n";
  for (const Entry& entry : report.entries) {
    out << "| `" << entry.name << "` | ";
    if (!entry.error.empty()) {
      out << entry.error << " | |\n";
      continue;
    }
    out << schema::format_value(entry.value) << " " << metric_label(entry.metric) << " | ";
    bool first = true;
    for (const auto& [key, value] : entry.counters) {
      if (key == entry.metric) continue;
      out << (first ? "" : ", ") << key << " " << schema::format_value(value);
      first = false;
    }
    out << " |\n";
  }
  return out.str();
}

}  // namespace pb::analysis
