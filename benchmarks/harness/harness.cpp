// Harness implementation: parse, check --out early, run Google Benchmark with a reporter that
// both prints and captures the JSON, write the JSON atomically, print the summary from it.
#include "benchmarks/harness/harness.h"

#include <benchmark/benchmark.h>

#include <regex.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "benchmarks/harness/summary.h"
#include "common/environment.h"
#include "common/json_file.h"
#include "common/models.h"
#include "common/process.h"

namespace pb::bench {
namespace {

// The console's error stream, line by line: Google Benchmark's "Failed to match any benchmarks"
// line is dropped (the harness reports that itself, in one line, exit 2), and its warning that
// the library was built as DEBUG gets the explanation a reader needs.
class ConsoleErrors : public std::streambuf {
 public:
  ~ConsoleErrors() override { flush_line(); }

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_ += static_cast<char>(c);
    if (c == '\n') flush_line();
    return c;
  }
  int sync() override { return 0; }

 private:
  void flush_line() {
    if (line_.rfind("Failed to match any benchmarks", 0) == 0) {
      line_.clear();
      return;
    }
    if (line_.find("Library was built as DEBUG") != std::string::npos) {
      // Debian builds libbenchmark without NDEBUG. The timed loop (State's iterator) is inline
      // in benchmark.h and compiled with this project's flags; the library's assertions run
      // between timed regions, so the figures are not affected.
      line_ = "note: Google Benchmark's library was built without NDEBUG (Debian's build); its timed loop is "
              "compiled here with the project's flags, so the figures are not affected\n";
    }
    std::cerr << line_ << std::flush;
    line_.clear();
  }
  std::string line_;
};

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  std::ostringstream out;
  out << s / 60 << ":" << std::setw(2) << std::setfill('0') << s % 60;
  return out.str();
}

// Sends every report event to the console reporter (live output) and to a JSON reporter writing
// into memory; the JSON is written to disk only once the run completed. On the console: colour
// only on a terminal, one progress line per point (i of N, elapsed, time left), and no row for a
// skipped point: the summary lists skips once per reason, with their families (the JSON keeps
// every row).
class TeeReporter : public benchmark::BenchmarkReporter {
 public:
  TeeReporter(std::ostream* json_out, size_t total_points)
      : console_(::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                         : benchmark::ConsoleReporter::OO_Tabular),
        total_(total_points),
        errors_stream_(&errors_) {
    json_.SetOutputStream(json_out);
    json_.SetErrorStream(&std::cerr);
    console_.SetErrorStream(&errors_stream_);
    SetErrorStream(&errors_stream_);
  }
  bool ReportContext(const Context& context) override {
    start_ = std::chrono::steady_clock::now();
    const bool ok = console_.ReportContext(context);
    return json_.ReportContext(context) && ok;
  }
  // With repetitions the console shows only the aggregates (mean, median, ...), the JSON every
  // repetition too: compare needs them for its U test. (Google Benchmark's own
  // --benchmark_display_aggregates_only would hide them from this reporter, JSON included.)
  // Google Benchmark reports a point with repetitions in two calls, its repetitions and then its
  // aggregates: the point is shown and counted once, with the second.
  void ReportRuns(const std::vector<Run>& runs) override {
    json_.ReportRuns(runs);
    std::vector<Run> shown;
    bool aggregates_follow = false;
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate && !run.error_occurred && run.repetitions > 1) aggregates_follow = true;
      if (run.error_occurred && schema::is_skip_message(run.error_message)) continue;  // in the summary
      shown.push_back(run);
    }
    if (aggregates_follow) return;
    if (!shown.empty()) console_.ReportRuns(shown);
    ++done_;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::cout << "   point " << done_ << " of " << std::max(total_, done_) << (shown.empty() ? " (skipped)" : "") << ", "
              << clock_text(elapsed) << " elapsed";
    if (total_ > done_) std::cout << ", about " << clock_text(elapsed / done_ * (total_ - done_)) << " left";
    std::cout << std::endl;
  }
  void Finalize() override {
    console_.Finalize();
    json_.Finalize();
  }

 private:
  benchmark::ConsoleReporter console_;
  benchmark::JSONReporter json_;
  size_t total_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  ConsoleErrors errors_;
  std::ostream errors_stream_;
};

// How many benchmarks this command line runs: the same program, asked to list them (Google
// Benchmark 1.7.1 has no API for the count before running). 0 when that fails (no total shown).
size_t count_points(int argc, char** argv) {
  std::vector<std::string> args{"/proc/self/exe"};
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  args.emplace_back("--benchmark_list_tests");
  size_t count = 0;
  try {
    const TempDir dir("pb_list_");
    const std::string list = dir.path() + "/list.txt";
    const ChildResult result = run_child(args, list, "/dev/null", 120);
    if (result.exit_code == 0) {
      std::ifstream in(list);
      std::string line;
      while (std::getline(in, line)) count += line.empty() ? 0 : 1;
    }
  } catch (const std::exception&) {
    count = 0;
  }
  return count;
}

// Google Benchmark 1.7.1 aborts on some values (--benchmark_repetitions=-3: std::length_error),
// writes an empty report for others (=0) and calls a bad number an unknown flag: its flags are
// checked here first, with one-line errors. Returns the arguments to give it; the values the peer
// needs go to `peer`. A 1.8-style min time ("2s") is translated to 1.7.1's seconds.
std::vector<std::string> check_benchmark_flags(const std::vector<std::string>& args, PeerSettings* peer,
                                               bool* list_only) {
  std::vector<std::string> out;
  auto value_of = [](const std::string& arg) { return arg.substr(arg.find('=') + 1); };
  for (const std::string& arg : args) {
    const std::string name = arg.substr(0, arg.find('='));
    const bool has_value = arg.find('=') != std::string::npos;
    std::string value = has_value ? value_of(arg) : "";
    if (name == "--benchmark_repetitions") {
      try {
        peer->repetitions = parse_integer(name, value, 1, 1000);
      } catch (const Error& error) {
        throw CliError(error.what());
      }
    } else if (name == "--benchmark_min_time") {
      std::string seconds = value;
      if (!seconds.empty() && seconds.back() == 's') seconds.pop_back();
      size_t used = 0;
      double t = -1;
      try {
        t = std::stod(seconds, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (!has_value || seconds.empty() || used != seconds.size() || !(t >= 0) || t > 3600) {
        throw CliError("--benchmark_min_time must be a number of seconds between 0 and 3600 (e.g. 0.5 or 0.5s), got '" +
                       value + "'");
      }
      peer->min_time = t;
      out.push_back("--benchmark_min_time=" + seconds);
      continue;
    } else if (name == "--benchmark_filter") {
      // Google Benchmark compiles it as a POSIX extended regex (a leading '-' negates it).
      const std::string pattern = !value.empty() && value[0] == '-' ? value.substr(1) : value;
      regex_t compiled;
      if (::regcomp(&compiled, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
        throw CliError("--benchmark_filter is not a valid regular expression: '" + value + "'");
      }
      ::regfree(&compiled);
    } else if (name == "--benchmark_list_tests") {
      *list_only = !has_value || value == "true" || value == "1" || value == "yes";
    }
    out.push_back(arg);
  }
  return out;
}

}  // namespace

void skip_point(benchmark::State& state, const std::string& message) { state.SkipWithError(message.c_str()); }

void check_models(const std::vector<std::string>& models) {
  try {
    for (const std::string& m : models) parse_model_kind(m);
  } catch (const Error& e) {
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
  bool print_spec = false;
  Cli cli(suite.program, suite.purpose);
  cli.option("out", &options.out, "write the JSON report here (atomically)")
      .flag("quick", &options.quick, "tiny sweep with fixed iterations (smoke test)")
      .flag("no-peer", &options.no_peer, "do not run the Python peer (benchmarks/peer_python)")
      .flag("report-spec", &print_spec, "print the report spec (charts, baselines) as JSON and exit, measuring nothing")
      .option("python", &options.peer.python, "interpreter for the Python peer (default: $PB_PYTHON, the build's torch Python, python3, /usr/bin/python3)")
      .pass_through("--benchmark_", "Google Benchmark flags, e.g. --benchmark_filter=<regex>");
  suite.add_options(cli);
  parse_or_exit(cli, argc, argv);
  if (print_spec) {
    std::cout << nlohmann::json(suite.report_spec).dump(2) << std::endl;
    return 0;
  }
  if (!options.out.empty()) {
    try {
      check_writable(options.out);
    } catch (const FileError& error) {
      fail_usage(suite.program, error.what());
    }
  }

  // Google Benchmark parses its own flags; anything it does not know is an error, as ours are.
  bool list_only = false;
  std::vector<std::string> bench_args{suite.program};
  try {
    for (const std::string& arg : check_benchmark_flags(cli.passed_through(), &options.peer, &list_only)) {
      bench_args.push_back(arg);
    }
  } catch (const CliError& error) {
    fail_usage(suite.program, error.what());
  }
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

  if (options.quick) options.peer.min_time = 0;  // one iteration per point
  suite.register_benchmarks(options);
  std::ostringstream json_text;
  TeeReporter reporter(&json_text, list_only ? 0 : count_points(argc, argv));
  // Returns how many benchmarks matched the filter; with --benchmark_list_tests it prints their
  // names to stdout and measures nothing (the reporter sees no run, the JSON stays empty).
  const size_t matched = benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (list_only) return 0;
  if (matched == 0) {
    fail_usage(suite.program, "--benchmark_filter='" + benchmark::GetBenchmarkFilter() +
                                  "' matches no benchmark (list them with --benchmark_list_tests)");
  }

  nlohmann::json report;
  try {
    report = nlohmann::json::parse(sanitize_benchmark_json(json_text.str()));
  } catch (const nlohmann::json::exception& error) {
    std::cerr << suite.program << ": error: Google Benchmark produced invalid JSON: " << error.what() << "\n";
    return 1;
  }
  // Nothing the user asked for could run here (--devices cuda without CUDA, say): that is an
  // error of the request, with the reason, and no report of nothing but skips.
  const std::vector<SummaryRow> cpp_rows = summary_rows(report);
  if (!cpp_rows.empty() && std::all_of(cpp_rows.begin(), cpp_rows.end(), [](const SummaryRow& r) { return is_skip(r); })) {
    fail_usage(suite.program, "nothing ran: every benchmark was skipped (" + cpp_rows.front().error + ")");
  }
  // The report carries what its reader needs to draw it: pb_report knows no family.
  report["context"][schema::kReportSpecKey] = suite.report_spec;
  if (suite.derive) {
    Derivation derivation(&report);
    suite.derive(derivation);
  }
  const bool cpp_failed = std::any_of(cpp_rows.begin(), cpp_rows.end(),
                                      [](const SummaryRow& r) { return !r.error.empty() && !is_skip(r); });

  if (suite.peer_job && !options.no_peer) {
    const nlohmann::json job = suite.peer_job(report, options);
    if (!job.is_null() && !job["points"].empty()) {
      std::cout << "\n== Python peer: " << job["points"].size() << " point(s) of " << job["workflow"].get<std::string>()
                << " ==" << std::endl;
      // An interrupt now stops the peer and ends the run without writing: --out keeps the previous
      // report (only a finished run replaces it). A peer that fails or times out is a finished run:
      // its rows carry the error, and the C++ figures are written all the same.
      const StopSignals stop_signals;
      try {
        merge_peer_result(report, run_python_peer(job, options.peer));
      } catch (const Interrupted& interrupted) {
        exit_on_signal(suite.program, interrupted.signal);
      }
    }
  }
  std::cout << "\n== Summary" << (options.out.empty() ? "" : " (" + options.out + ")") << " ==\n";
  print_summary(report, std::cout);
  print_peer_ratios(report, std::cout);
  if (!options.out.empty()) {
    try {
      write_file_atomic(options.out, report.dump(2) + "\n");
    } catch (const FileError& error) {
      std::cerr << suite.program << ": error: " << error.what() << "\n";
      return 2;
    }
  }
  // The exit code is the C++ side's: a failed peer is reported above, in its rows and the summary.
  return cpp_failed ? 1 : 0;
}

}  // namespace pb::bench
