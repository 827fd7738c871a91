// The report schema: the report a benchmark binary writes (Google Benchmark's JSON with every
// environment key in its context and, on every run, the rate and the correctness counters beside
// it), and each rule of reading one (benchmarks/analysis/report_schema.h), tested once here.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "benchmarks/analysis/report_schema.h"
#include "benchmarks/analysis/report_spec.h"
#include "common/environment.h"
#include "common/json_file.h"

namespace {

TEST(ReportSchema, CpuTrainingReportHasContextAndCounters) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("pb_schema_" + std::to_string(::getpid()) + ".json")).string();
  const std::string command = std::string(PB_BENCH_CPU_TRAINING) +
                              " --quick --models linear,cnn --workers 0,1 --threads 1 --load-us 0 --loaders deep-nice"
                              " --out " + path + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const nlohmann::json report = pb::read_json_file(path);
  std::filesystem::remove(path);

  for (const auto& [key, value] : pb::environment_context()) {
    ASSERT_TRUE(report["context"].contains(key)) << key;
    EXPECT_TRUE(report["context"][key].is_string()) << key;
  }
  EXPECT_EQ(report["context"]["pb_suite"], "bench_cpu_training");
  EXPECT_TRUE(report["context"].contains("num_cpus"));  // Google Benchmark's own context is kept

  // The sweep's points, and the source 000 workflow exactly (0 and 4 workers) since linear is in it.
  // Without workers there is no queue to set: the default loader whatever the presets.
  const std::regex name(R"(cpu_training/(linear|cnn)/workers:0/threads:1/load_us:0/loader:default/iterations:2/real_time)"
                        R"(|cpu_training/(linear|cnn)/workers:1/threads:1/load_us:0/loader:deep-nice/prefetch:\d+/iterations:2/real_time)"
                        R"(|source_000/linear/workers:[04]/iterations:2/real_time)");
  std::vector<nlohmann::json> cpp, peer;
  for (const auto& run : report["benchmarks"]) {
    (run["name"].get<std::string>().rfind("peer_python/", 0) == 0 ? peer : cpp).push_back(run);
  }
  ASSERT_EQ(cpp.size(), 6u);
  for (const auto& run : cpp) {
    EXPECT_TRUE(std::regex_match(run["name"].get<std::string>(), name)) << run["name"];
    EXPECT_GT(run["samples_per_s"].get<double>(), 0);
    EXPECT_GT(run["final_loss"].get<double>(), 0);
    EXPECT_GE(run["val_accuracy"].get<double>(), 0);
    EXPECT_LE(run["val_accuracy"].get<double>(), 1);
    EXPECT_FALSE(run.value("error_occurred", false)) << run.value("error_message", "");
  }
  // The Python peer mirrors the points with libtorch's default loader (here: no workers) and the
  // source_000 points, one row each, named after the C++ row; with python3-torch installed (the
  // README's set-up) they ran.
  ASSERT_EQ(peer.size(), 4u);
  for (const auto& run : peer) {
    const std::string mirrored = run["name"].get<std::string>().substr(12);
    EXPECT_TRUE(std::regex_match(mirrored, name)) << run["name"];
    EXPECT_TRUE(mirrored.find("/workers:0/") != std::string::npos || mirrored.rfind("source_000/", 0) == 0) << run["name"];
    if (run.value("error_occurred", false)) {
      EXPECT_EQ(run["error_message"].get<std::string>().rfind("skipped: no Python with torch found", 0), 0u) << run.dump();
      continue;
    }
    EXPECT_GT(run["samples_per_s"].get<double>(), 0);
    EXPECT_GT(run["final_loss"].get<double>(), 0);
    EXPECT_TRUE(report["context"]["peer_torch_version"].is_string());
    EXPECT_TRUE(report["context"]["peer_python_version"].is_string());
  }
}

namespace schema = pb::schema;
using nlohmann::json;

json row(const std::string& name, const json& counters, const std::string& type = "iteration",
         const std::string& aggregate = "") {
  json r = {{"name", name + (aggregate.empty() ? "" : "_" + aggregate)}, {"run_name", name}, {"run_type", type},
            {"repetitions", 1}, {"threads", 1}, {"iterations", 10}, {"real_time", 2.0}, {"cpu_time", 1.9},
            {"time_unit", "ms"}};
  if (!aggregate.empty()) r["aggregate_name"] = aggregate;
  for (const auto& [key, value] : counters.items()) r[key] = value;
  return r;
}

json report_of(const json& rows) { return {{"context", json::object()}, {"benchmarks", rows}}; }

// Every key Google Benchmark writes itself stays out of the counters; bytes_per_second and
// items_per_second are counters (SetBytesProcessed stores them in State::counters).
TEST(Schema, StandardKeysAreNotCounters) {
  json r = row("a", {{"bytes_per_second", 5.0}, {"items_per_second", 6.0}, {"final_loss", 0.5}});
  r["label"] = "2 replicas share 1 GPU(s)";
  r["family_index"] = 0;
  r["repetition_index"] = 0;
  for (const char* key : {"family_index", "per_family_instance_index", "iterations", "real_time", "cpu_time",
                          "threads", "repetitions", "rms", "max_bytes_used"}) {
    EXPECT_TRUE(schema::is_standard_key(key)) << key;
  }
  const std::vector<schema::Benchmark> b = schema::read_benchmarks(report_of(json::array({r})), "r.json");
  ASSERT_EQ(b.size(), 1u);
  std::vector<std::string> keys;
  for (const auto& [key, value] : b[0].counters) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"bytes_per_second", "final_loss", "items_per_second"}));
  EXPECT_EQ(b[0].metric, "bytes_per_second");  // the first rate by name
}

// JSON has no counter flags: a rate is told by the unit in its name.
TEST(Schema, RatesAreToldByTheirUnit) {
  for (const char* rate : {"samples_per_s", "steps_per_s", "GBps", "algbw_GBps", "busbw_GBps", "best_GBps",
                           "link_nominal_GBps", "bytes_per_second", "items_per_second"}) {
    EXPECT_TRUE(schema::is_rate_counter(rate)) << rate;
  }
  // A substring is not a unit: loss_per_step is not per second, phase times are seconds.
  for (const char* other : {"final_loss", "phase_load_s", "once_model_s", "step_ms", "comm_wait_ms", "time_us",
                            "loss_per_step", "GBps_spread", "_per_s", "speedup", "efficiency"}) {
    EXPECT_FALSE(schema::is_rate_counter(other)) << other;
  }
}

TEST(Schema, SkipsStartWithSkippedAndASpace) {
  EXPECT_TRUE(schema::is_skip_message("skipped: needs CUDA"));
  EXPECT_FALSE(schema::is_skip_message("lost or duplicated samples: an epoch did not see every sample exactly once"));
  EXPECT_FALSE(schema::is_skip_message("failed: skipped: no"));
  EXPECT_FALSE(schema::is_skip_message("skipped"));
  json skipped = row("g", json::object());
  skipped["error_occurred"] = true;
  skipped["error_message"] = "skipped: needs CUDA";
  json failed = row("f", json::object());
  failed["error_occurred"] = true;
  failed["error_message"] = "grad_diff above 1e-4";
  const auto b = schema::read_benchmarks(report_of({skipped, failed}), "");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_TRUE(b[0].is_skip());
  EXPECT_FALSE(b[0].is_failure());
  EXPECT_TRUE(b[1].is_failure());
  EXPECT_EQ(b[0].metric, "");  // nothing measured: no figure
  EXPECT_TRUE(std::isnan(b[0].value));
  EXPECT_EQ(b[0].time_unit, "");
}

// Values are text, numbers where the whole text is an integer; iterations:N is Google Benchmark's.
TEST(Schema, RunNamesSplitIntoFamilyModelAndSettings) {
  const schema::RunName n = schema::parse_run_name("dp_cpu/cnn/mode:persistent/replicas:2/iterations:2/real_time");
  EXPECT_EQ(n.family, "dp_cpu");
  EXPECT_EQ(n.model, "cnn");
  EXPECT_EQ(n.settings, (std::vector<std::pair<std::string, std::string>>{{"mode", "persistent"}, {"replicas", "2"}}));
  EXPECT_EQ(schema::integer_value("256"), 256);
  EXPECT_FALSE(schema::integer_value("persistent").has_value());
  EXPECT_FALSE(schema::integer_value("2x").has_value());
  EXPECT_FALSE(schema::integer_value("").has_value());
  EXPECT_EQ(schema::name_args("ddp_cpu/mlp/ranks:2/sync:overlapped/bucket_kib:1024/manual_time"),
            (std::map<std::string, int64_t>{{"bucket_kib", 1024}, {"ranks", 2}}));
  EXPECT_EQ(schema::name_segment("a/b/c", 1), "b");
  EXPECT_EQ(schema::name_segment("a/b/c", 3), "");
}

// Repetitions are grouped by run_name: Google Benchmark's median aggregate where it wrote one,
// else the median of the repetitions, counter by counter; a repetition without a value makes it NaN.
TEST(Schema, RepetitionsBecomeMedians) {
  const json rows = {row("a", {{"samples_per_s", 1.0}, {"final_loss", 0.3}}),
                     row("a", {{"samples_per_s", 3.0}, {"final_loss", 0.1}}),
                     row("a", {{"samples_per_s", 2.0}, {"final_loss", 0.2}}, "aggregate", "mean"),
                     row("a", {{"samples_per_s", 2.5}, {"final_loss", 0.25}}, "aggregate", "median"),
                     row("a", {{"samples_per_s", 0.1}}, "aggregate", "stddev"),
                     row("b", {{"samples_per_s", 10.0}, {"final_loss", 0.5}}),
                     row("b", {{"samples_per_s", 30.0}, {"final_loss", nullptr}}),
                     row("b", {{"samples_per_s", 20.0}, {"final_loss", 0.4}})};
  const auto b = schema::read_benchmarks(report_of(rows), "");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].values, (std::vector<double>{1.0, 3.0}));  // the repetitions, for the U test
  EXPECT_DOUBLE_EQ(b[0].value, 2.5);                           // the aggregate, not the mean
  EXPECT_DOUBLE_EQ(b[0].counters.at("final_loss"), 0.25);
  EXPECT_EQ(b[0].metric, "samples_per_s");
  EXPECT_DOUBLE_EQ(b[1].value, 20.0);  // no aggregates: the median of the repetitions
  EXPECT_TRUE(std::isnan(b[1].counters.at("final_loss")));
  EXPECT_DOUBLE_EQ(b[1].real_time, 2.0);
  EXPECT_EQ(b[1].time_unit, "ms");
  EXPECT_DOUBLE_EQ(schema::median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(schema::median({})));
}

// Without a rate the headline is the time, and lower is better.
TEST(Schema, TimeIsTheMetricWhenThereIsNoRate) {
  const auto b = schema::read_benchmarks(report_of(json::array({row("t", {{"final_loss", 0.5}})})), "");
  EXPECT_EQ(b.at(0).metric, "real_time");
  EXPECT_FALSE(b.at(0).higher_is_better);
  EXPECT_DOUBLE_EQ(b.at(0).value, 2.0);
}

// Google Benchmark picks a time unit per benchmark: times compare in seconds (2 ms against 500 us
// is 4x, not 0.004x), for peer ratios and for the report's best settings alike.
TEST(Schema, TimesCompareInSecondsWhateverTheirUnit) {
  json cpp = row("t/x", {{"final_loss", 0.5}}), peer = row("peer_python/t/x", {{"final_loss", 0.5}});
  peer["real_time"] = 8000.0;
  peer["time_unit"] = "us";
  const auto b = schema::read_benchmarks(report_of(json::array({cpp, peer})), "");
  EXPECT_DOUBLE_EQ(schema::comparable_value(b.at(0)), 0.002);
  EXPECT_DOUBLE_EQ(schema::comparable_value(b.at(1)), 0.008);
  const auto ratios = schema::peer_ratios(b);
  ASSERT_EQ(ratios.size(), 1u);
  EXPECT_DOUBLE_EQ(ratios[0].ratio(), 4.0);  // C++ 2 ms, Python 8000 us: C++ 4x as fast
  EXPECT_EQ(schema::seconds_per_unit("fortnights"), std::nullopt);
  json odd = row("t/y", {});
  odd["time_unit"] = "fortnights";
  EXPECT_TRUE(std::isnan(schema::comparable_value(schema::read_benchmarks(report_of(json::array({odd})), "").at(0))));
}

TEST(Schema, PeerRowsPairWithTheirCppRows) {
  const json rows = {row("f/linear/workers:0", {{"samples_per_s", 900.0}}), row("f/linear/workers:4", {{"samples_per_s", 600.0}}),
                     row("f/cnn/workers:0", {{"samples_per_s", 50.0}}),
                     row("peer_python/f/linear/workers:0", {{"samples_per_s", 300.0}}),
                     row("peer_python/f/mlp/workers:0", {{"samples_per_s", 10.0}}),   // no C++ row
                     row("peer_python/f/cnn/workers:0", {{"samples_per_s", 0.0}})};  // no figure to divide by
  const auto ratios = schema::peer_ratios(schema::read_benchmarks(report_of(rows), ""));
  ASSERT_EQ(ratios.size(), 1u);
  EXPECT_EQ(ratios[0].name, "f/linear/workers:0");
  EXPECT_EQ(ratios[0].metric, "samples_per_s");
  EXPECT_DOUBLE_EQ(ratios[0].ratio(), 3.0);
  const schema::PeerRatio timed{"t", "real_time", 1.0, 4.0, false};
  EXPECT_DOUBLE_EQ(timed.ratio(), 4.0);  // a quarter of the time: 4x as fast
  EXPECT_TRUE(schema::is_peer_name("peer_python/f/linear"));
  EXPECT_FALSE(schema::is_peer_name("f/linear"));
}

// What a peer job mirrors: the first repetition of each measured C++ run.
TEST(Schema, FirstRepetitionRunsLeaveOutErrorsAggregatesAndPeers) {
  json second = row("a", {{"samples_per_s", 1.0}});
  second["repetition_index"] = 1;
  json first = second;
  first["repetition_index"] = 0;
  json skipped = first;
  skipped["run_name"] = "s";
  skipped["error_occurred"] = true;
  json peer = first;
  peer["run_name"] = "peer_python/a";
  const json report = report_of({first, second, row("a", {{"samples_per_s", 1.0}}, "aggregate", "median"), skipped, peer});
  const auto runs = schema::first_repetition_runs(report);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], &report["benchmarks"][0]);
}

TEST(Schema, RejectsReportsOfOtherTools) {
  for (const json& bad : {json::array(), json{{"benchmarks", 3}, {"context", json::object()}},
                          json{{"results", json::array()}}, json{{"benchmarks", json::array()}, {"context", 1}}}) {
    try {
      schema::read_benchmarks(bad, "");
      FAIL() << bad.dump();
    } catch (const schema::ReportError& e) {
      EXPECT_STREQ(e.what(), "this JSON is not a Google Benchmark report (needs \"context\" and \"benchmarks\")");
    }
  }
  try {
    schema::read_benchmarks(report_of(json::array({json{{"real_time", 1}}})), "r.json");
    FAIL();
  } catch (const schema::ReportError& e) {
    EXPECT_STREQ(e.what(), "'r.json' has a benchmark without a name");
  }
  EXPECT_TRUE(schema::read_benchmarks(report_of(json::array()), "").empty());
}

TEST(Schema, NonFiniteCountersBecomeNull) {
  const std::string raw = R"({"context": {"note": "nan inside a string stays", "x": "inf"}, "benchmarks": [)"
                          R"({"name": "a", "cv": NaN, "neg": -nan, "big": inf, "small": -Infinity, "ok": null, "v": 1.5}]})";
  const json parsed = json::parse(schema::sanitize_benchmark_json(raw));
  EXPECT_TRUE(parsed["benchmarks"][0]["cv"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["neg"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["big"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["small"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["ok"].is_null());
  EXPECT_DOUBLE_EQ(parsed["benchmarks"][0]["v"].get<double>(), 1.5);
  EXPECT_EQ(parsed["context"]["note"], "nan inside a string stays");
  EXPECT_EQ(parsed["context"]["x"], "inf");
}

TEST(Schema, ReadsFilesWithOneLineErrors) {
  try {
    schema::read_report_file("/nonexistent/r.json");
    FAIL();
  } catch (const schema::ReportError& e) {
    EXPECT_STREQ(e.what(), "cannot read '/nonexistent/r.json': No such file or directory");
  }
}

// A family's report spec survives the trip through the report's JSON field by field; fields left
// out take their defaults; a mistyped or missing required field is an error, not a guess.
TEST(ReportSpec, JsonRoundTrip) {
  namespace ps = pb::schema;
  ps::ReportSpec spec;
  spec.charts = {{"fam", "size", "size (bytes)", {"device"}, {"mode", "link"}, {{"threads", 1}, {"workers", 0}}, false, true}};
  spec.phase_charts = {{"fam", {"load_us"}, "step"}};
  ps::RowMatch match;
  match.is = {{"sync", "none"}};
  match.above = {{"ranks", 1}};
  spec.best = {{"fam", {{"device", " on {}"}}, {{"mode", "single"}, {"size", ps::kSmallest}}, {match}, "bytes"}};
  spec.ratios = {{"fam", "A against B", "Each a row against its b row.", "a", "b", {{"device", "a"}}, {{"device", "b"}}, {"size"}}};
  spec.derived = {"speedup"};

  const json written = spec;
  const ps::ReportSpec read = json::parse(written.dump()).get<ps::ReportSpec>();
  EXPECT_EQ(json(read), written);
  ASSERT_EQ(read.charts.size(), 1u);
  EXPECT_EQ(read.charts[0].fixed, (std::vector<std::pair<std::string, int64_t>>{{"threads", 1}, {"workers", 0}}));
  EXPECT_FALSE(read.charts[0].ideal_scaling);
  EXPECT_TRUE(read.charts[0].log_x);
  EXPECT_EQ(read.charts[0].series, (std::vector<std::string>{"mode", "link"}));
  EXPECT_EQ(read.phase_charts[0].per, "step");
  ASSERT_EQ(read.best.size(), 1u);
  EXPECT_EQ(read.best[0].group_by[0].heading, " on {}");
  EXPECT_EQ(read.best[0].baseline.at("size"), "smallest");
  EXPECT_EQ(read.best[0].not_candidates[0].above.at("ranks"), 1);
  EXPECT_EQ(read.best[0].peak, "bytes");
  EXPECT_EQ(read.ratios[0].against.at("device"), "b");
  EXPECT_EQ(read.derived, std::vector<std::string>{"speedup"});

  const ps::ReportSpec sparse = json{{"charts", {{{"family", "f"}, {"x", "n"}}}}}.get<ps::ReportSpec>();
  ASSERT_EQ(sparse.charts.size(), 1u);
  EXPECT_TRUE(sparse.charts[0].ideal_scaling);
  EXPECT_TRUE(sparse.charts[0].fixed.empty());
  EXPECT_TRUE(sparse.best.empty());
  EXPECT_THROW(json({{"charts", {{{"x", "n"}}}}}).get<ps::ReportSpec>(), json::exception);          // no family
  EXPECT_THROW(json({{"best", {{{"family", "f"}, {"peak", 3}}}}}).get<ps::ReportSpec>(), json::exception);  // mistyped
  EXPECT_THROW(json::array().get<ps::ReportSpec>(), std::invalid_argument);
}

TEST(Schema, FormatsValuesReadably) {
  EXPECT_EQ(schema::format_value(1234567), "1.235M");
  EXPECT_EQ(schema::format_value(98765), "98.77k");
  EXPECT_EQ(schema::format_value(1123), "1.123k");
  EXPECT_EQ(schema::format_value(752.7), "752.7");
  EXPECT_EQ(schema::format_value(0.0651), "0.0651");
  EXPECT_EQ(schema::format_value(2.5e9), "2.5G");
  EXPECT_EQ(schema::format_value(std::nan("")), "nan");
}

}  // namespace
