// Harness implementation: parse, check --out early, run Google Benchmark with a reporter that
// both prints and captures the JSON, write the JSON atomically, print the summary from it.
#include "benchmarks/harness/harness.h"

#include <benchmark/benchmark.h>

#include <iostream>
#include <sstream>

#include "benchmarks/harness/summary.h"
#include "common/environment.h"
#include "common/json_file.h"
#include "common/models.h"

namespace pb::bench {
namespace {

// Sends every report event to the console reporter (live progress) and to a JSON reporter
// writing into memory; the JSON is written to disk only once the run completed.
class TeeReporter : public benchmark::BenchmarkReporter {
 public:
  explicit TeeReporter(std::ostream* json_out) {
    json_.SetOutputStream(json_out);
    json_.SetErrorStream(&std::cerr);
  }
  bool ReportContext(const Context& context) override {
    const bool ok = console_.ReportContext(context);
    return json_.ReportContext(context) && ok;
  }
  // With repetitions the console shows only the aggregates (mean, median, ...), the JSON every
  // repetition too: compare needs them for its U test. (Google Benchmark's own
  // --benchmark_display_aggregates_only would hide them from this reporter, JSON included.)
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> aggregates;
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate) aggregates.push_back(run);
    }
    console_.ReportRuns(aggregates.empty() ? runs : aggregates);
    json_.ReportRuns(runs);
  }
  void Finalize() override {
    console_.Finalize();
    json_.Finalize();
  }

 private:
  benchmark::ConsoleReporter console_;
  benchmark::JSONReporter json_;
};

}  // namespace

void skip_point(benchmark::State& state, const std::string& message) { state.SkipWithError(message.c_str()); }

void check_models(const std::vector<std::string>& models) {
  try {
    for (const std::string& m : models) parse_model_kind(m);
  } catch (const std::invalid_argument& e) {
    throw CliError(e.what());
  }
}

void check_device_kinds(const std::vector<std::string>& devices) {
  for (const std::string& d : devices) {
    if (d != "cpu" && d != "cuda") throw CliError("--devices: unknown device '" + d + "' (expected cpu or cuda)");
  }
}

int run_suite(int argc, char** argv, const Suite& suite) {
  HarnessOptions options;
  Cli cli(suite.program, suite.purpose);
  cli.option("out", &options.out, "write the JSON report here (atomically)")
      .flag("quick", &options.quick, "tiny sweep with fixed iterations (smoke test)")
      .flag("no-peer", &options.no_peer, "do not run the Python peer (benchmarks/peer_python)")
      .option("python", &options.peer.python, "interpreter for the Python peer (default: $PB_PYTHON, the build's torch Python, python3, /usr/bin/python3)")
      .pass_through("--benchmark_", "Google Benchmark flags, e.g. --benchmark_filter=<regex>");
  suite.add_options(cli);
  parse_or_exit(cli, argc, argv);
  if (!options.out.empty()) {
    try {
      check_writable(options.out);
    } catch (const FileError& error) {
      fail_usage(suite.program, error.what());
    }
  }

  // Google Benchmark parses its own flags; anything it does not know is an error, as ours are.
  std::vector<std::string> bench_args{suite.program};
  for (const std::string& arg : cli.passed_through()) bench_args.push_back(arg);
  std::vector<char*> bench_argv;
  for (std::string& arg : bench_args) bench_argv.push_back(arg.data());
  int bench_argc = static_cast<int>(bench_argv.size());
  benchmark::Initialize(&bench_argc, bench_argv.data());
  if (bench_argc > 1) fail_usage(suite.program, "unknown flag '" + std::string(bench_argv[1]) + "' (see --help)");

  for (const auto& [key, value] : environment_context()) benchmark::AddCustomContext(key, value);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  benchmark::AddCustomContext("pb_suite", suite.program);
  benchmark::AddCustomContext("pb_command_line", command_line);

  // The peer repeats and times as Google Benchmark was told to (the last flag wins, as there).
  for (const std::string& arg : cli.passed_through()) {
    try {
      size_t used = 0;
      if (arg.rfind("--benchmark_repetitions=", 0) == 0) {
        options.peer.repetitions = std::stoll(arg.substr(24), &used);
        if (used != arg.size() - 24) throw std::invalid_argument(arg);
      }
      if (arg.rfind("--benchmark_min_time=", 0) == 0) {  // seconds, as Google Benchmark 1.7.1 reads it
        options.peer.min_time = std::stod(arg.substr(21), &used);
        if (used != arg.size() - 21) throw std::invalid_argument(arg);
      }
    } catch (const std::exception&) {
      fail_usage(suite.program, "invalid value in '" + arg + "'");
    }
  }
  if (options.quick) options.peer.min_time = 0;  // one iteration per point
  suite.register_benchmarks(options);
  std::ostringstream json_text;
  TeeReporter reporter(&json_text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  nlohmann::json report;
  try {
    report = nlohmann::json::parse(sanitize_benchmark_json(json_text.str()));
  } catch (const nlohmann::json::exception& error) {
    std::cerr << suite.program << ": error: Google Benchmark produced invalid JSON: " << error.what() << "\n";
    return 1;
  }
  // Writes the report to --out (when given); false, with the error printed, when it cannot.
  auto write_report = [&] {
    if (options.out.empty()) return true;
    try {
      write_file_atomic(options.out, report.dump(2) + "\n");
      return true;
    } catch (const FileError& error) {
      std::cerr << suite.program << ": error: " << error.what() << "\n";
      return false;
    }
  };
  if (suite.peer_job && !options.no_peer) {
    const nlohmann::json job = suite.peer_job(report, options);
    if (!job.is_null() && !job["points"].empty()) {
      // The C++ figures are on disk before the peer starts: whatever happens to it, they are kept.
      if (!write_report()) return 2;
      std::cout << "\n== Python peer: " << job["points"].size() << " point(s) of " << job["workflow"].get<std::string>()
                << " ==" << std::endl;
      merge_peer_result(report, run_python_peer(job, options.peer));
    }
  }
  std::cout << "\n== Summary" << (options.out.empty() ? "" : " (" + options.out + ")") << " ==\n";
  print_summary(report, std::cout);
  print_peer_ratios(report, std::cout);
  if (!write_report()) return 2;
  for (const SummaryRow& row : summary_rows(report)) {
    if (!row.error.empty() && !is_skip(row)) return 1;
  }
  return 0;
}

}  // namespace pb::bench
