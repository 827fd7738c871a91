// Tests for the benchmark harness's summary: the table from Google Benchmark JSON, rates first, the
// CUDA line, skips listed apart from failures. The rules of reading a report (keys, rates, skips,
// medians, formatting) are the report schema's, tested in test_report_schema.cpp.
#include <gtest/gtest.h>

#include <sstream>

#include "benchmarks/harness/derive.h"
#include "benchmarks/harness/summary.h"

namespace {

nlohmann::json run(const std::string& name, double rate, const std::string& type = "iteration",
                   const std::string& aggregate = "") {
  nlohmann::json r = {{"name", name + (aggregate.empty() ? "" : "_" + aggregate)}, {"run_name", name},
                      {"run_type", type}, {"real_time", 1.5}, {"time_unit", "ms"}, {"iterations", 10},
                      {"samples_per_s", rate}, {"final_loss", 0.25}};
  if (!aggregate.empty()) r["aggregate_name"] = aggregate;
  return r;
}

TEST(Summary, OneRowPerRunWithCounters) {
  nlohmann::json report = {{"context", {{"cuda_status", "unavailable: test"}}},
                           {"benchmarks", {run("a/workers:0", 1000), run("a/workers:2", 2000)}}};
  auto rows = pb::bench::summary_rows(report);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].name, "a/workers:2");
  ASSERT_EQ(rows[1].counters.size(), 2u);
  std::ostringstream out;
  pb::bench::print_summary(report, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("samples_per_s    final_loss"), std::string::npos) << text;  // rate first
  EXPECT_NE(text.find("a/workers:2"), std::string::npos);
  EXPECT_NE(text.find("GPU cases: skipped, CUDA unavailable: test; 2 other case(s) ran"), std::string::npos) << text;
}

// When every row was skipped, the summary must not claim that other cases ran.
TEST(Summary, SaysNothingRanWhenEverythingWasSkipped) {
  nlohmann::json skipped = run("g/device:cuda", 0);
  skipped["error_occurred"] = true;
  skipped["error_message"] = "skipped: needs CUDA";
  nlohmann::json report = {{"context", {{"cuda_status", "unavailable: test"}}}, {"benchmarks", {skipped}}};
  std::ostringstream out;
  pb::bench::print_summary(report, out);
  EXPECT_NE(out.str().find("GPU cases: skipped, CUDA unavailable: test; nothing else ran"), std::string::npos)
      << out.str();
}

TEST(Summary, SkipsAndFailuresAreListedApart) {
  nlohmann::json skipped = run("gpu", 0);
  skipped["error_occurred"] = true;
  skipped["error_message"] = "skipped: no CUDA";
  nlohmann::json failed = run("lost", 0);
  failed["error_occurred"] = true;
  failed["error_message"] = "lost or duplicated samples";
  nlohmann::json report = {{"context", nlohmann::json::object()}, {"benchmarks", {run("ok", 1), skipped, failed}}};
  auto rows = pb::bench::summary_rows(report);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(pb::bench::is_skip(rows[1]));
  EXPECT_FALSE(pb::bench::is_skip(rows[2]));
  std::ostringstream out;
  pb::bench::print_summary(report, out);
  EXPECT_NE(out.str().find("Skipped:\n  1 benchmark (gpu/*): skipped: no CUDA\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("FAILED:\n  lost: lost or duplicated samples\n"), std::string::npos) << out.str();
}

// Derived metrics read the medians of the point's own rows: failed and peer rows do not count,
// and the value lands on its repetitions and its mean and median, not on stddev or cv.
TEST(Derivation, MediansOfThePointOnlyAndWrittenWhereAValueBelongs) {
  const std::string base = "f/m/size:1/real_time", big = "f/m/size:10/real_time";
  nlohmann::json report = {{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}};
  auto& rows = report["benchmarks"];
  int repetition = 0;
  for (double rate : {30.0, 10.0, 20.0}) {  // before its baseline
    rows.push_back(run(big, rate));
    rows.back()["repetition_index"] = repetition++;
  }
  rows.push_back(run(big, 20, "aggregate", "mean"));
  rows.push_back(run(big, 20, "aggregate", "median"));
  rows.push_back(run(big, 8, "aggregate", "stddev"));
  rows.push_back(run(base, 5));
  nlohmann::json failed = run("f/m/size:100/real_time", 99);
  failed["error_occurred"] = true;
  failed["error_message"] = "boom";
  rows.push_back(failed);
  rows.push_back(run(std::string("peer_python/") + base, 1000));
  pb::bench::Derivation d(&report);
  EXPECT_EQ(d.median(big, "samples_per_s"), 20.0);
  EXPECT_EQ(d.median(base, "samples_per_s"), 5.0);                 // not the peer row's 1000
  EXPECT_FALSE(d.median("f/m/size:100/real_time", "samples_per_s"));  // failed
  EXPECT_FALSE(d.median("f/m/size:1000/real_time", "samples_per_s"));  // never ran
  EXPECT_FALSE(d.median(big, "no_such_counter"));
  d.set(big, "speedup", 4.0);
  int with = 0;
  for (const auto& r : rows) {
    const bool is_stddev = r.value("aggregate_name", "") == "stddev";
    if (r.contains("speedup")) ++with;
    if (r["run_name"] != big || is_stddev) EXPECT_FALSE(r.contains("speedup")) << r.dump();
  }
  EXPECT_EQ(with, 5);  // 3 repetitions, mean, median
  d.missing_baseline(big, "speedup", "its baseline", "f/m/size:0");
  d.missing(big, "efficiency", "no cores");
  EXPECT_EQ(rows[0][pb::bench::kDerivedMissingKey],
            "speedup: its baseline f/m/size:0 did not run (not in the sweep, filtered out, skipped or failed); "
            "efficiency: no cores");
  std::ostringstream out;
  pb::bench::print_summary(report, out);
  EXPECT_NE(out.str().find("\nNot derived:\n  1 benchmark: speedup: its baseline f/m/size:0 did not run"), std::string::npos)
      << out.str();
}

}  // namespace
