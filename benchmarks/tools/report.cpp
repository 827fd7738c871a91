// pb_report: turns one benchmark report into a Markdown summary (environment, best settings,
// full table) with SVG charts beside it.
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
      .option("out-dir", &out_dir, "where to write the Markdown and charts (default: beside the report)")
      .validate([&] {
        if (paths.size() != 1) throw pb::CliError("expected exactly one report, got " + std::to_string(paths.size()));
      });
  pb::parse_or_exit(cli, argc, argv);

  const std::filesystem::path input(paths[0]);
  const std::filesystem::path dir = out_dir.empty() ? input.parent_path() : std::filesystem::path(out_dir);
  const std::string stem = input.stem().string();
  try {
    const pb::analysis::Report report = pb::analysis::load_report(paths[0]);
    if (!dir.empty()) std::filesystem::create_directories(dir);
    const std::vector<pb::analysis::ChartFile> charts = pb::analysis::build_charts(report, stem);
    // Charts first, Markdown last: a Markdown file never links a chart that failed to be written.
    for (const auto& chart : charts) pb::write_file_atomic((dir / chart.file_name).string(), pb::analysis::render_svg(chart.chart));
    const std::string markdown = (dir / (stem + ".md")).string();
    pb::write_file_atomic(markdown, pb::analysis::render_report_markdown(report, charts));
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
