// The Markdown report of one benchmark report: environment, the best setting per family and
// model, the charts (throughput against workers, threads, ... with the ideal scaling line), and
// the full table.
#pragma once

#include <string>
#include <vector>

#include "benchmarks/analysis/report_data.h"
#include "benchmarks/analysis/svg_chart.h"

namespace pb::analysis {

struct ChartFile {
  std::string file_name;  // "<stem>_<family>_<model>_<axis>[...].svg", beside the Markdown
  Chart chart;
};

// A chart to draw for a family: `x` is the argument on the x axis; one chart per model and per
// value of the `split` arguments; one series per value combination of the `series` arguments;
// only runs whose `fixed` arguments have the given values take part.
struct ChartSpec {
  std::string family;
  std::string x, x_label;
  std::vector<std::string> split, series;
  std::vector<std::pair<std::string, int64_t>> fixed;
  bool ideal_scaling = true;  // draw baseline * x / x0 as a dashed reference
  bool log_x = false;         // sizes spanning decades
};
const std::vector<ChartSpec>& chart_specs();

// The charts `report` has data for; file names start with `stem`.
std::vector<ChartFile> build_charts(const Report& report, const std::string& stem);

// One line per family and model (and loading cost for cpu_training): the best setting, its
// throughput and its ratio to the baseline (no workers, one thread, ...).
std::vector<std::string> best_settings(const Report& report);

// Table rows "| C++ name | C++ | Python | ratio |" for every C++ benchmark with a Python peer row.
std::vector<std::string> peer_ratio_lines(const Report& report);

// Family 2: table rows "| cuda name | cuda | cpu | cuda/cpu |" comparing every cuda training row
// with the eager, pageable cpu row of the same model and batch in the same report (computed here,
// from the report, so that no benchmark depends on which point ran first).
std::vector<std::string> device_ratio_lines(const Report& report);

// The whole Markdown document; `charts` are linked by file name.
std::string render_report_markdown(const Report& report, const std::vector<ChartFile>& charts);

}  // namespace pb::analysis
