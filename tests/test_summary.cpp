// Tests for the benchmark harness's summary: rows from Google Benchmark JSON, medians when
// repeated, skips told apart from failures, and a clear error for a report of another tool.
#include <gtest/gtest.h>

#include <sstream>

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

TEST(Summary, UsesMediansWhenRepeated) {
  nlohmann::json report = {{"context", nlohmann::json::object()},
                           {"benchmarks",
                            {run("a", 1), run("a", 3), run("a", 2, "aggregate", "mean"),
                             run("a", 2.5, "aggregate", "median"), run("a", 0.1, "aggregate", "stddev")}}};
  auto rows = pb::bench::summary_rows(report);
  ASSERT_EQ(rows.size(), 1u);
  double rate = 0;
  for (const auto& [name, value] : rows[0].counters) rate = name == "samples_per_s" ? value : rate;
  EXPECT_DOUBLE_EQ(rate, 2.5);
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

TEST(Summary, RejectsReportsOfOtherTools) {
  for (const nlohmann::json& bad : {nlohmann::json::array(), nlohmann::json{{"benchmarks", 3}, {"context", {}}},
                                    nlohmann::json{{"results", nlohmann::json::array()}}}) {
    try {
      pb::bench::summary_rows(bad);
      FAIL() << bad.dump();
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "not a Google Benchmark JSON report (no \"context\" and \"benchmarks\")");
    }
  }
}

TEST(Summary, NonFiniteCountersBecomeNull) {
  const std::string raw = R"({"context": {"note": "nan inside a string stays", "x": "inf"}, "benchmarks": [)"
                          R"({"name": "a", "cv": NaN, "neg": -nan, "big": inf, "small": -Infinity, "ok": null, "v": 1.5}]})";
  const nlohmann::json parsed = nlohmann::json::parse(pb::bench::sanitize_benchmark_json(raw));
  EXPECT_TRUE(parsed["benchmarks"][0]["cv"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["neg"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["big"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["small"].is_null());
  EXPECT_TRUE(parsed["benchmarks"][0]["ok"].is_null());
  EXPECT_DOUBLE_EQ(parsed["benchmarks"][0]["v"].get<double>(), 1.5);
  EXPECT_EQ(parsed["context"]["note"], "nan inside a string stays");
  EXPECT_EQ(parsed["context"]["x"], "inf");
}

TEST(Summary, FormatsValuesReadably) {
  EXPECT_EQ(pb::bench::format_value(1234567), "1.235M");
  EXPECT_EQ(pb::bench::format_value(98765), "98.77k");
  EXPECT_EQ(pb::bench::format_value(1123), "1.123k");
  EXPECT_EQ(pb::bench::format_value(752.7), "752.7");
  EXPECT_EQ(pb::bench::format_value(0.0651), "0.0651");
  EXPECT_EQ(pb::bench::format_value(std::nan("")), "nan");
}

}  // namespace
