// Report building: charts from ChartSpecs, best settings against a baseline, Markdown.
#include "benchmarks/analysis/report_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>

#include "benchmarks/harness/peer.h"
#include "benchmarks/harness/summary.h"
#include "common/timer.h"

namespace pb::analysis {
namespace {

// Arguments whose values are names, not quantities (family 3's `mode`): shown by name.
std::string arg_value_text(const std::string& key, int64_t value) {
  static const std::map<int64_t, std::string> kModes = {
      {0, "single device"}, {1, "upstream data_parallel"}, {2, "re-cloned replicas"}, {3, "persistent replicas"}};
  if (key == "mode" && kModes.count(value)) return kModes.at(value);
  return key + " " + std::to_string(value);
}

std::string args_text(const std::map<std::string, int64_t>& args, const std::vector<std::string>& keys) {
  std::string text;
  for (const std::string& key : keys) {
    auto it = args.find(key);
    if (it != args.end()) text += (text.empty() ? "" : ", ") + arg_value_text(key, it->second);
  }
  return text;
}

// The same for an entry: its arguments and its labels ("pipeline pinned"), in the order of `keys`.
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
  if (metric == "real_time") return "time";
  if (metric == "algbw_GBps") return "algorithm bandwidth (GB/s)";
  if (metric == "busbw_GBps") return "bus bandwidth (GB/s)";
  if (metric == "GBps") return "copy bandwidth (GB/s)";
  return metric;
}

// The arguments whose value is the smallest among runs of the same family and model: no workers,
// one thread, one replica... The baseline a best setting is compared with.
bool is_baseline(const Entry& entry, const Report& report, const std::string& split_key) {
  for (const auto& [key, value] : entry.args) {
    if (key == split_key) continue;
    for (const Entry& other : report.entries) {
      if (other.family != entry.family || other.model != entry.model) continue;
      auto it = other.args.find(key);
      if (it != other.args.end() && it->second < value) return false;
    }
  }
  return true;
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

const std::vector<PhaseChartSpec>& phase_chart_specs() {
  // Family 1 splits by loading cost: 0 and 50 µs per sample are different workloads, and one bar
  // per setting (workers, threads, loader) within each. Families 3 and 4: one chart per model.
  static const std::vector<PhaseChartSpec> specs = {
      {"cpu_training", {"load_us"}, "epoch"}, {"source_000", {}, "epoch"}, {"dp_cpu", {}, "step"},
      {"dp_cuda", {}, "step"},                {"ddp_cpu", {}, "step"},     {"ddp_cuda", {}, "step"},
  };
  return specs;
}

const std::vector<ChartSpec>& chart_specs() {
  static const std::vector<ChartSpec> specs = {
      {"cpu_training", "workers", "loader worker threads", {"load_us"}, {"prefetch", "nice"}, {{"threads", 1}}, true},
      {"cpu_training", "threads", "intra-op threads", {}, {"load_us"}, {{"workers", 0}}, true},
      {"dp_cpu", "replicas", "replicas (CPU threads)", {}, {"mode", "threads"}, {}, true},
      {"dp_cuda", "replicas", "replicas (on the GPUs)", {"gpus"}, {"mode"}, {}, false},
      {"ddp_cpu", "ranks", "ranks (processes, Gloo)", {}, {"sync", "bucket_kib"}, {{"threads", 1}}, true},
      {"ddp_cuda", "ranks", "ranks (one per GPU, NCCL)", {}, {"sync", "bucket_kib"}, {{"threads", 1}}, true},
      {"allreduce_gloo", "bytes", "message size (bytes)", {}, {"ranks"}, {}, false, true},
      {"allreduce_nccl", "bytes", "message size (bytes)", {}, {"ranks"}, {}, false, true},
      // Family 2: pipelines and executions are words, not numbers, so they are the lines and batch
      // size is the x axis; one chart per model and device.
      {"gpu_train", "batch", "batch size (samples)", {"device"}, {"pipeline", "exec"}, {}, false, true},
      {"copy", "bytes", "transfer size (bytes)", {}, {"memory"}, {}, false, true},
  };
  return specs;
}

std::vector<ChartFile> build_charts(const Report& report, const std::string& stem) {
  std::vector<ChartFile> files;
  for (const ChartSpec& spec : chart_specs()) {
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
  for (const PhaseChartSpec& spec : phase_chart_specs()) {
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
      line << "| " << bar.name << " | " << bench::format_value(total) << " |";
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
  for (const Entry& peer : report.entries) {
    if (peer.family + "/" != bench::kPeerPrefix || !peer.error.empty() || !(peer.value > 0)) continue;
    const Entry* cpp = report.find(peer.name.substr(std::string(bench::kPeerPrefix).size()));
    if (cpp == nullptr || !cpp->error.empty() || cpp->metric != peer.metric) continue;
    std::ostringstream line;
    line << "| `" << cpp->name << "` | " << bench::format_value(cpp->value) << " | " << bench::format_value(peer.value)
         << " | " << std::fixed << std::setprecision(2) << cpp->value / peer.value << "x |";
    lines.push_back(line.str());
  }
  return lines;
}

std::vector<std::string> device_ratio_lines(const Report& report) {
  std::vector<std::string> lines;
  auto label = [](const Entry& e, const std::string& key) {
    auto it = e.labels.find(key);
    return it == e.labels.end() ? std::string() : it->second;
  };
  for (const Entry& gpu : report.entries) {
    if (gpu.family != "gpu_train" || label(gpu, "device") != "cuda" || !gpu.error.empty() || !gpu.args.count("batch")) continue;
    for (const Entry& cpu : report.entries) {
      if (cpu.family != "gpu_train" || cpu.model != gpu.model || label(cpu, "device") != "cpu" || !cpu.error.empty() ||
          label(cpu, "pipeline") != "pageable" || label(cpu, "exec") != "eager" || !cpu.args.count("batch") ||
          cpu.args.at("batch") != gpu.args.at("batch") || !(cpu.value > 0) || cpu.metric != gpu.metric) {
        continue;
      }
      std::ostringstream line;
      line << "| `" << gpu.name << "` | " << bench::format_value(gpu.value) << " | " << bench::format_value(cpu.value)
           << " | " << std::fixed << std::setprecision(2) << gpu.value / cpu.value << "x |";
      lines.push_back(line.str());
      break;
    }
  }
  return lines;
}

std::vector<std::string> best_settings(const Report& report) {
  std::vector<std::string> lines;
  std::map<std::string, std::vector<const Entry*>> groups;  // family/model[/load_us] in report order
  std::vector<std::string> order;
  for (const Entry& entry : report.entries) {
    if (!entry.error.empty() || std::isnan(entry.value)) continue;
    if (entry.family + "/" == bench::kPeerPrefix) continue;  // the Python peer has its own section
    // DDP runs without gradient synchronisation are the overhead baseline, not a way to train.
    if (entry.args.count("sync") && entry.args.at("sync") == 0 && entry.args.count("ranks") && entry.args.at("ranks") > 1) {
      continue;
    }
    std::string key = entry.family + "/" + entry.model;
    if (entry.args.count("load_us")) key += "/load_us:" + std::to_string(entry.args.at("load_us"));
    // A device is not a setting to pick (family 2's cpu and cuda rows); a bandwidth sweep's
    // labels (pinned, pageable memory) each have their own peak.
    if (entry.labels.count("device")) key += "/device:" + entry.labels.at("device");
    if (entry.args.count("bytes"))
      for (const auto& [label, value] : entry.labels) key += "/" + label + ":" + value;
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&entry);
  }
  for (const std::string& key : order) {
    const auto& entries = groups[key];
    const Entry* best = entries.front();
    const Entry* baseline = nullptr;
    for (const Entry* e : entries) {
      if (e->higher_is_better ? e->value > best->value : e->value < best->value) best = e;
      if (baseline == nullptr && is_baseline(*e, report, "load_us")) baseline = e;
    }
    std::vector<std::string> keys, label_keys;
    for (const auto& [label, value] : best->labels) {
      if (label != "device") keys.push_back(label);
      label_keys.push_back(label);
    }
    for (const std::string& k : best->arg_order) {
      if (k != "load_us") keys.push_back(k);
    }
    std::ostringstream line;
    if (best->args.count("bytes")) {  // a bandwidth sweep: its peak, not a "best setting"
      line << "**" << best->family;
      if (!best->labels.empty()) line << " " << best->model << ", " << settings_text(*best, label_keys);
      line << "**: peak " << bench::format_value(best->value) << " " << best->metric << " at "
           << bench::format_value(static_cast<double>(best->args.at("bytes"))) << " bytes";
      if (best->args.count("ranks")) line << ", " << args_text(best->args, {"ranks"});
      lines.push_back(line.str());
      continue;
    }
    line << "**" << best->family << (best->model.empty() ? "" : " " + best->model);
    if (best->labels.count("device")) line << " on " << best->labels.at("device");
    if (best->args.count("load_us")) line << ", " << best->args.at("load_us") << " µs loading per sample";
    line << "**: best " << settings_text(*best, keys) << " at " << bench::format_value(best->value) << " "
         << metric_label(best->metric);
    if (baseline != nullptr && baseline != best && baseline->value > 0) {
      const double ratio = best->higher_is_better ? best->value / baseline->value : baseline->value / best->value;
      line << ", " << std::fixed << std::setprecision(2) << ratio << "x the baseline (" << settings_text(*baseline, keys)
           << ": " << bench::format_value(baseline->value) << ")";
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
  out << "\n## Best settings on this machine\n\n";
  for (const std::string& line : best_settings(report)) out << "- " << line << "\n";
  const std::vector<std::string> peer = peer_ratio_lines(report);
  if (!peer.empty()) {
    out << "\n## C++ against the Python peer\n\nThe same work in Python (benchmarks/peer_python), in the same run "
        << "(Python " << ctx("peer_python_version") << ", torch " << ctx("peer_torch_version") << "): samples/s of each "
        << "and their ratio (docs/python_peer.md explains the differences).\n\n"
        << "| benchmark | C++ | Python | C++/Python |\n|---|---:|---:|---:|\n";
    for (const std::string& line : peer) out << line << "\n";
  }
  const std::vector<std::string> devices = device_ratio_lines(report);
  if (!devices.empty()) {
    out << "\n## GPU against CPU\n\nEach cuda training row against the eager cpu row of the same model and batch "
        << "(pageable memory), in samples/s.\n\n| benchmark | cuda | cpu | cuda/cpu |\n|---|---:|---:|---:|\n";
    for (const std::string& line : devices) out << line << "\n";
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
    out << bench::format_value(entry.value) << " " << metric_label(entry.metric) << " | ";
    bool first = true;
    for (const auto& [key, value] : entry.counters) {
      if (key == entry.metric) continue;
      out << (first ? "" : ", ") << key << " " << bench::format_value(value);
      first = false;
    }
    out << " |\n";
  }
  return out.str();
}

}  // namespace pb::analysis
