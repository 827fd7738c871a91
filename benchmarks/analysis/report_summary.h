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

// The charts, baselines and tables come from the report's own spec (Report::spec, declared by
// the families that wrote it, report_spec.h): the analysis knows no family.
using schema::ChartSpec;
using schema::PhaseChartSpec;
using schema::ReportSpec;

// The phases in the order they are stacked (pb::Phase's order): data, model, load, forward,
// backward, allreduce, optimizer, validation. A chart has those any of its rows carries.
const std::vector<std::string>& phase_names();

// The charts `report` has data for; file names start with `stem`. The line charts of the spec's
// `charts` first, then the stacked bars of its `phase_charts`, named
// "<stem>[_<family>]_phases_<model>[_<split>].svg". None without a spec.
std::vector<ChartFile> build_charts(const Report& report, const std::string& stem);

// One line per family, model and group_by values of the spec's `best` (a loading cost, a device):
// the best setting, its throughput and its ratio to the family's baseline (no workers, one
// thread, ...); for a sweep (BestSpec::peak), its peak. None without a spec.
std::vector<std::string> best_settings(const Report& report);

// Table rows "| C++ name | C++ | Python | ratio |" for every C++ benchmark with a Python peer row.
std::vector<std::string> peer_ratio_lines(const Report& report);

// Table rows "| name | row's value | against's value | ratio |" of one of the spec's ratio tables
// (family 2: each cuda training row against the eager, pageable cpu row of the same model and
// batch), computed from the report, so that no benchmark depends on which point ran first.
std::vector<std::string> ratio_lines(const Report& report, const schema::RatioSpec& spec);

// Markdown tables of the stacked-bar charts among `charts`: per setting, the total and each part's
// share of it ("| workers 2 | 1.234 | 10.0% | ... |"), one table per chart under its title.
std::vector<std::string> phase_share_lines(const std::vector<ChartFile>& charts);

// The whole Markdown document; `charts` are linked by file name. Without a spec: the environment,
// the Python peer's table and every row, but no best settings and no comparison tables.
std::string render_report_markdown(const Report& report, const std::vector<ChartFile>& charts);

}  // namespace pb::analysis
