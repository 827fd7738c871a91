// pb_report: turns one benchmark report into a Markdown summary (environment, best settings,
// full table) with SVG charts beside it, written all or none. What to chart and what a baseline is
// comes from the report (context.pb_report_spec, written by the family's harness run).
#include <filesystem>
#include <iostream>

#include "benchmarks/analysis/report_summary.h"
#include "common/cli.h"
#include "common/json_file.h"

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string out_dir;
  pb::Cli cli("pb_report", "Writes <report>.md and SVG charts from a benchmark report.");
  cli.positional("report", &paths, "one Google Benchmark JSON report", 1)
      .option("out-dir", &out_dir, "an existing folder for the Markdown and charts (default: beside the report)")
      .validate([&] {
        if (paths.size() != 1) throw pb::CliError("expected exactly one report, got " + std::to_string(paths.size()));
      });
  pb::parse_or_exit(cli, argc, argv);

  const std::filesystem::path input(paths[0]);
  const std::string dir = out_dir.empty() ? input.parent_path().string() : out_dir;
  const std::string stem = input.stem().string();
  const std::string markdown = (std::filesystem::path(dir) / (stem + ".md")).string();
  try {
    // A given --out-dir is checked before the report is read, with the benchmarks' wording for
    // their --out: a missing folder is refused, not created (a typo would scatter reports).
    // Beside the report, the folder exists once the report can be read.
    if (!out_dir.empty()) pb::check_writable(markdown);
    const pb::analysis::Report report = pb::analysis::load_report(paths[0]);
    if (!report.spec) {
      std::cerr << cli.program() << ": note: '" << paths[0] << "' carries no " << pb::schema::kReportSpecKey
                << " (an older or foreign report): the environment and the table only, no charts or best settings\n";
    }
    const std::vector<pb::analysis::ChartFile> charts = pb::analysis::build_charts(report, stem);
    // Everything is rendered first and written all or none: a failure partway (a full disk, a
    // folder where a chart must go) leaves the folder as it was, older reports included.
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& chart : charts) files.emplace_back(chart.file_name, pb::analysis::render_svg(chart.chart));
    files.emplace_back(stem + ".md", pb::analysis::render_report_markdown(report, charts));
    pb::write_files_atomic(dir, files);
    std::cout << "wrote " << markdown << " and " << charts.size() << " chart(s)\n";
    for (const std::string& line : pb::analysis::best_settings(report)) std::cout << "  " << line << "\n";
  } catch (const pb::analysis::ReportError& error) {
    pb::fail_usage(cli.program(), error.what());
  } catch (const pb::FileError& error) {
    pb::fail_usage(cli.program(), error.what());
  } catch (const std::exception& error) {
    std::cerr << cli.program() << ": error: " << error.what() << std::endl;
    return 1;
  }
  return 0;
}
