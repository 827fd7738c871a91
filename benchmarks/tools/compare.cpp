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
  bool allow_unevaluated = false;
  pb::Cli cli("pb_compare", "Compares benchmark reports: throughput ratios, U-test p-values, environment differences.");
  cli.positional("reports", &paths, "two or more Google Benchmark JSON reports, the baseline first", 2)
      .option("format", &format, "console, md or json")
      .option("filter", &filter_text, "compare only benchmarks whose name matches this regex")
      .option("fail-below", &fail_below,
              "exit 1 if a ratio (contender speed-up) is below this, or a benchmark has none or is missing",
              0, 1e9)
      .flag("allow-unevaluated", &allow_unevaluated,
            "with --fail-below: pass benchmarks without a ratio (zero, NaN, failed) or missing")
      .option("out", &out, "write the output to this file (atomically) instead of stdout")
      .validate([&] {
        if (format != "console" && format != "md" && format != "json") {
          throw pb::CliError("--format must be console, md or json, got '" + format + "'");
        }
        if (allow_unevaluated && fail_below == 0) throw pb::CliError("--allow-unevaluated only applies with --fail-below");
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
  // The output is checked before any report is read, as the benchmarks check theirs before
  // measuring: a missing folder or a directory in the way fails at once, not after the work.
  if (!out.empty()) {
    try {
      pb::check_writable(out);
    } catch (const pb::FileError& error) {
      pb::fail_usage(cli.program(), error.what());
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
    // A gate fails on what it cannot evaluate, too: a zero, NaN or failed contender row, or a
    // benchmark the contender lacks, would otherwise pass as "no regression". One line per cause.
    int status = 0;
    if (!allow_unevaluated) {
      const std::vector<std::string> missing = pb::analysis::rows_missing(comparisons);
      if (!missing.empty()) {
        std::cerr << "pb_compare: " << missing.size() << " benchmark(s) of the baseline missing from a contender, first: "
                  << missing[0] << "; --allow-unevaluated accepts them" << std::endl;
        status = 1;
      }
      const std::vector<std::string> unevaluated = pb::analysis::rows_unevaluated(comparisons);
      if (!unevaluated.empty()) {
        std::cerr << "pb_compare: " << unevaluated.size() << " benchmark(s) could not be evaluated, first: "
                  << unevaluated[0] << "; --allow-unevaluated accepts them" << std::endl;
        status = 1;
      }
    }
    const std::vector<std::string> below = pb::analysis::rows_below(comparisons, fail_below);
    if (!below.empty()) {
      std::cerr << "pb_compare: " << below.size() << " benchmark(s) below " << fail_below << "x, first: " << below[0]
                << std::endl;
      status = 1;
    }
    return status;
  }
  return 0;
}
