// pb_compare: compares two or more benchmark reports (baseline first) by their throughput
// counters, with U-test p-values over repetitions, a geometric mean and environment differences.
#include <iostream>
#include <regex>

#include "benchmarks/analysis/comparison.h"
#include "common/cli.h"
#include "common/json_file.h"

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string format = "console", filter_text, out;
  double fail_below = 0;
  pb::Cli cli("pb_compare", "Compares benchmark reports: throughput ratios, U-test p-values, environment differences.");
  cli.positional("reports", &paths, "two or more Google Benchmark JSON reports, the baseline first", 2)
      .option("format", &format, "console, md or json")
      .option("filter", &filter_text, "compare only benchmarks whose name matches this regex")
      .option("fail-below", &fail_below, "exit 1 if any ratio (contender speed-up) is below this", 0, 1e9)
      .option("out", &out, "write the output to this file (atomically) instead of stdout")
      .validate([&] {
        if (format != "console" && format != "md" && format != "json") {
          throw pb::CliError("--format must be console, md or json, got '" + format + "'");
        }
      });
  pb::parse_or_exit(cli, argc, argv);

  std::optional<std::regex> filter;
  if (!filter_text.empty()) {
    try {
      filter = std::regex(filter_text);
    } catch (const std::regex_error&) {
      pb::fail_usage(cli.program(), "--filter is not a valid regular expression: '" + filter_text + "'");
    }
  }
  std::vector<pb::analysis::Comparison> comparisons;
  try {
    const pb::analysis::Report baseline = pb::analysis::load_report(paths[0]);
    for (size_t i = 1; i < paths.size(); ++i) {
      comparisons.push_back(pb::analysis::compare_reports(baseline, pb::analysis::load_report(paths[i]), filter));
      if (comparisons.back().rows.empty()) {
        pb::fail_usage(cli.program(), "no benchmark names in common between '" + paths[0] + "' and '" + paths[i] + "'" +
                                          (filter ? " matching --filter" : ""));
      }
    }
  } catch (const pb::analysis::ReportError& error) {
    pb::fail_usage(cli.program(), error.what());
  }

  std::string text = format == "md"     ? pb::analysis::render_markdown(comparisons)
                     : format == "json" ? pb::analysis::render_json(comparisons).dump(2) + "\n"
                                        : pb::analysis::render_console(comparisons);
  if (out.empty()) {
    std::cout << text;
  } else {
    try {
      pb::write_file_atomic(out, text);
    } catch (const pb::FileError& error) {
      pb::fail_usage(cli.program(), error.what());
    }
  }
  if (fail_below > 0) {
    const std::vector<std::string> below = pb::analysis::rows_below(comparisons, fail_below);
    if (!below.empty()) {
      std::cerr << "pb_compare: " << below.size() << " benchmark(s) below " << fail_below << "x, first: " << below[0]
                << std::endl;
      return 1;
    }
  }
  return 0;
}
