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

// Where the time goes: for a family whose rows carry phase_<name>_s counters (seconds per
// iteration), one stacked-bar chart per model and per value of the `split` arguments, with one bar
// per setting (the row's other arguments) and one segment per phase, in milliseconds per `per`.
struct PhaseChartSpec {
  std::string family;
  std::vector<std::string> split;
  std::string per;  // what one iteration is: "epoch" or "step"
};
const std::vector<PhaseChartSpec>& phase_chart_specs();
// The phases in the order they are stacked (pb::Phase's order): data, model, load, forward,
// backward, allreduce, optimizer, validation. A chart has those any of its rows carries.
const std::vector<std::string>& phase_names();

// The charts `report` has data for; file names start with `stem`. The line charts of
// chart_specs() first, then the stacked bars of phase_chart_specs(), named
// "<stem>[_<family>]_phases_<model>[_<split>].svg".
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

// Markdown tables of the stacked-bar charts among `charts`: per setting, the total and each part's
// share of it ("| workers 2 | 1.234 | 10.0% | ... |"), one table per chart under its title.
std::vector<std::string> phase_share_lines(const std::vector<ChartFile>& charts);

// The whole Markdown document; `charts` are linked by file name.
std::string render_report_markdown(const Report& report, const std::vector<ChartFile>& charts);

}  // namespace pb::analysis
