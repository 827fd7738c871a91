// The one reading of a Google Benchmark 1.7.1 JSON report (and of the Python peer's rows, written in
// the same shape): Google Benchmark's own keys, which counters are rates, skip rows, run names,
// repetitions grouped into medians, peer rows paired with C++ rows, and how numbers print. The
// console summary (benchmarks/harness/summary.h), pb_report and pb_compare all read through it.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pb::schema {

// A report that cannot be read. what() is one line and names the report.
struct ReportError : Error {
  using Error::Error;
};

// ---- Keys and counters ----

// True for a key Google Benchmark 1.7.1's JSON reporter writes on every run itself (name, indices,
// run and aggregate type, repetitions, threads, iterations, times, time unit, error, label, and the
// complexity and memory-manager fields); every other key of a run is a user counter.
// bytes_per_second and items_per_second are counters: SetBytesProcessed/SetItemsProcessed store them
// in State::counters, and the reporter writes them among the others.
bool is_standard_key(const std::string& key);

// True for a counter that is a rate (higher is better). The JSON has a counter's value, not its
// flags (kIsRate is not written), so the rule reads the unit in the name: it ends in "_per_s"
// (samples_per_s, steps_per_s), is or ends in "GBps" (GBps, algbw_GBps, busbw_GBps, best_GBps), or
// is Google Benchmark's bytes_per_second / items_per_second. Times (phase_load_s, step_ms) and
// checks (final_loss, grad_diff) are not rates.
bool is_rate_counter(const std::string& name);

// ---- Skips and the Python peer ----

// The start of a skip's error message (pb::bench::skip_point): the point cannot run here. Any other
// error message is a failure.
constexpr const char* kSkipPrefix = "skipped: ";
bool is_skip_message(const std::string& message);

// The prefix of every peer row's name; the rest is the name of the C++ row it mirrors.
constexpr const char* kPeerPrefix = "peer_python/";
bool is_peer_name(const std::string& name);

// ---- Run names ----

// "dp_cpu/cnn/mode:persistent/replicas:2/iterations:2/real_time": the first two plain segments are
// the family and the model; every "key:value" segment is a setting, its value text (Google
// Benchmark's iterations:N is not a setting). Other plain segments (real_time) are left out.
struct RunName {
  std::string family, model;
  std::vector<std::pair<std::string, std::string>> settings;  // in name order
};
RunName parse_run_name(const std::string& name);
// A setting's value as a number when the whole text is an integer ("2" -> 2; "persistent", "2x" -> none).
std::optional<int64_t> integer_value(const std::string& text);
// The settings whose values are integers: "dp_cpu/cnn/mode:persistent/replicas:2/real_time" -> {replicas: 2}.
std::map<std::string, int64_t> name_args(const std::string& name);
// The index-th '/'-separated segment of a name ("" when there are fewer).
std::string name_segment(const std::string& name, size_t index);

// ---- Benchmarks: repetitions grouped, one figure each ----

// One benchmark of a report: every row with its run_name (repetitions, aggregates, a skip).
struct Benchmark {
  std::string name;       // run_name (name when a row has none)
  std::string error;      // the error_message of its first failed or skipped row; "" when it measured
  std::string time_unit;  // of real_time: ns, us, ms or s ("" when nothing measured)
  // Per repetition (iteration rows, report order): real_time and every user counter; NaN where a
  // row has no value (JSON null: a non-finite counter, see sanitize_benchmark_json).
  std::vector<double> real_times;
  std::map<std::string, std::vector<double>> repetitions;
  // The figures: Google Benchmark's median aggregate where it wrote one, else the median of the
  // repetitions (with one repetition, its value). Counters by name, the order the JSON has them.
  double real_time = std::numeric_limits<double>::quiet_NaN();
  std::map<std::string, double> counters;
  // The headline figure: the first rate counter by name (samples_per_s, GBps, ...), higher is
  // better; or real_time, lower is better, when there is no rate.
  std::string metric;
  bool higher_is_better = true;
  double value = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> values;  // the metric per repetition

  bool is_skip() const { return !error.empty() && is_skip_message(error); }
  bool is_failure() const { return !error.empty() && !is_skip_message(error); }
};

// Seconds per unit of Google Benchmark's `time_unit` (ns, us, ms, s); none for anything else.
std::optional<double> seconds_per_unit(const std::string& unit);
// A benchmark's headline figure in a unit every row shares: a rate as it is (per second whatever
// the time unit), a real_time in seconds (Google Benchmark picks the unit per benchmark, so two
// rows of one report may differ: 1 ms against 900 us). NaN for a time in an unknown unit.
double comparable_value(const Benchmark& b);

// The median; NaN when `values` is empty or holds a NaN (a repetition without a value).
double median(std::vector<double> values);

// The benchmarks of a parsed report, in the order of their first row. Throws ReportError, naming
// the report by `source` (a path; "" for the report in memory):
//   "'<source>' is not a Google Benchmark report (needs \"context\" and \"benchmarks\")"
//   "'<source>' has a benchmark without a name"
std::vector<Benchmark> read_benchmarks(const nlohmann::json& report, const std::string& source);

// The measured runs of a report that a peer job can mirror: iteration rows of the first
// repetition, without errors, not peer rows.
std::vector<const nlohmann::json*> first_repetition_runs(const nlohmann::json& report);

// One C++ benchmark and its Python peer row, both measured, with the same metric.
struct PeerRatio {
  std::string name;  // the C++ name
  std::string metric;
  double cpp = 0, python = 0;
  bool higher_is_better = true;
  // As a speed-up of C++ over Python: > 1 means C++ is faster, whichever the metric.
  double ratio() const { return higher_is_better ? cpp / python : python / cpp; }
};
// In report order of the peer rows; a pair needs both values finite and the peer's above 0.
std::vector<PeerRatio> peer_ratios(const std::vector<Benchmark>& benchmarks);

// ---- Reading and printing ----

// Google Benchmark 1.7.1 writes a non-finite counter (the coefficient of variation of a counter
// that is always 0, say) as a bare NaN or inf, which is not JSON. Replaces those values with
// null, leaving strings alone, so that the report parses and readers see "no value".
std::string sanitize_benchmark_json(const std::string& text);

// Reads and parses a report file, non-finite values as null. Throws ReportError:
//   "cannot read '<path>': <reason>", "'<path>' is not valid JSON: <parser's message>".
nlohmann::json read_report_file(const std::string& path);

// 1234567 -> "1.235M", 0.0651 -> "0.0651": four significant digits, SI suffix from 10^3; "nan".
std::string format_value(double value);

}  // namespace pb::schema
