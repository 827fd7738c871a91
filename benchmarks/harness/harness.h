// The harness every benchmark binary runs through: the shared CLI, environment context, Google
// Benchmark, one atomic JSON report and the summary table printed from that same JSON.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/analysis/report_spec.h"
#include "benchmarks/harness/derive.h"
#include "benchmarks/harness/peer.h"
#include "common/cli.h"

namespace benchmark {
class State;
}

namespace pb::bench {

// Records that a point did not measure: a message starting "skipped: " is a skip (the point cannot
// run here; listed with its reason), anything else a failure (the run exits 1). The one call of
// Google Benchmark's skip API (SkipWithError in 1.7); no timed iteration runs after it, so call
// it before the timed loop and return, or inside it and break.
void skip_point(benchmark::State& state, const std::string& message);

// Settings the harness owns, visible to a suite when it registers its benchmarks.
struct HarnessOptions {
  std::string out;     // JSON report path ("" = no file)
  bool quick = false;  // tiny sweep with fixed iterations, for smoke tests
  bool no_peer = false;  // do not run the Python peer
  PeerSettings peer;     // interpreter, and repetitions/min time taken from the --benchmark_ flags
};

struct Suite {
  std::string program;  // binary name, e.g. "bench_cpu_training"
  std::string purpose;  // one line for --help
  // Adds the suite's own flags (sweep lists, sizes) to the shared parser.
  std::function<void(Cli&)> add_options;
  // Registers the benchmarks, after parsing, with benchmark::RegisterBenchmark.
  std::function<void(const HarnessOptions&)> register_benchmarks;
  // Optional: the Python peer's job for the runs in `report` ({"workflow": ..., "points": [...]},
  // each point named after the C++ run it mirrors), or null when there is nothing to mirror.
  std::function<nlohmann::json(const nlohmann::json& report, const HarnessOptions&)> peer_job;
  // Optional: metrics derived from other points (speed-up, efficiency, overhead), computed from
  // the finished run's medians (derive.h) before the summary and the report are written. Never
  // from figures kept while the run went on: a filter, repetitions or another order change those.
  std::function<void(Derivation&)> derive;
  // What pb_report draws and compares for the suite's families (charts, the baseline of the best
  // settings, rows that are no way to train, the derived metrics): written into the report's
  // context as pb_report_spec, and printed by --report-spec.
  schema::ReportSpec report_spec;
};

// Checks for a suite's validate(): throw CliError with the one-line message for an unknown
// model ("unknown model 'x' (expected linear, mlp or cnn)") or a --devices entry other than cpu
// and cuda ("--devices: unknown device 'x' (expected cpu or cuda)").
void check_models(const std::vector<std::string>& models);
void check_device_kinds(const std::vector<std::string>& devices);

// Runs a suite; returns the process exit code: 0; 1 when a C++ benchmark failed its correctness
// check (a real error, not a recorded skip; a failed Python peer is reported, not counted); 2 for
// a bad command line (Google Benchmark's flags included), an --out that cannot be written or
// replaced, a filter that matches nothing, or when every benchmark was skipped. --report-spec
// prints the suite's report spec as JSON and exits 0, measuring nothing. --out is written
// once, when the run has finished; an interrupt leaves the previous file as it was (SIGINT or
// SIGTERM while the peer runs: the peer is stopped and the process exits 130 or 143).
int run_suite(int argc, char** argv, const Suite& suite);

}  // namespace pb::bench
