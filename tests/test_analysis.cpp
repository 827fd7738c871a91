// Tests for the compare and report tools' logic: ratios, U test (against scipy 1.10.1's values),
// geometric mean, unmatched and invalid rows, bad reports, and well-formed SVG charts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "benchmarks/analysis/comparison.h"
#include "benchmarks/analysis/mann_whitney.h"
#include "benchmarks/analysis/report_summary.h"
#include "benchmarks/harness/peer.h"
#include "benchmarks/harness/summary.h"

namespace {

using nlohmann::json;
namespace pa = pb::analysis;

json run(const std::string& name, const json& rate, int repetition = 0) {
  return {{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"repetition_index", repetition},
          {"real_time", 1.0}, {"time_unit", "ms"}, {"iterations", 5}, {"samples_per_s", rate}, {"final_loss", 0.5}};
}

json report(const json& runs, const json& context = {{"libtorch_version", "1.13.0"}}) {
  return {{"context", context}, {"benchmarks", runs}};
}

// A report as the harness writes it: `spec` in its context (report_spec.h), read back from JSON.
pa::Report with_spec(const json& runs, const pa::ReportSpec& spec, const std::string& path) {
  return pa::parse_report(report(runs, {{"libtorch_version", "1.13.0"}, {pb::schema::kReportSpecKey, spec}}), path);
}

// Family 1's charts and baseline as bench_cpu_training declares them (benchmarks/cpu_training.cpp).
pa::ReportSpec cpu_training_spec() {
  pa::ReportSpec spec;
  spec.charts = {{"cpu_training", "workers", "loader worker threads", {"load_us"}, {"loader"}, {{"threads", 1}}, true},
                 {"cpu_training", "threads", "intra-op threads", {}, {"load_us"}, {{"workers", 0}}, true}};
  spec.phase_charts = {{"cpu_training", {"load_us"}, "epoch"}};
  spec.best = {{"cpu_training", {{"load_us", ", {} µs loading per sample"}}, {{"workers", "0"}, {"threads", "1"}}, {}, ""}};
  return spec;
}

TEST(MannWhitney, MatchesScipy) {
  // Reference p-values: scipy.stats.mannwhitneyu(a, b, alternative='two-sided'), scipy 1.10.1.
  struct Case {
    std::vector<double> a, b;
    double p;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3}, {4, 5, 6}, 0.1},                                             // exact
      {{10, 11}, {12, 13}, 0.3333333333333333},                               // exact, 2 vs 2
      {{1, 2, 3, 4, 5, 6, 7, 8}, {3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5}, 0.08298368298368297},  // exact
      {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5}, 0.0933976745287926},  // normal
      {{1, 2, 2, 3}, {2, 3, 4, 5}, 0.1366582477381475},                       // ties: normal approximation
      {{5, 5, 5}, {5, 5, 5}, 1.0},
      {{1.0, 2.5, 3.1, 0.7, 2.2}, {2.0, 4.1, 3.9, 5.5, 3.3, 4.8, 6.0, 2.9, 3.7, 4.4, 5.1, 3.0}, 0.006140917905623788},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(pa::mann_whitney_p(c.a, c.b).has_value());
    EXPECT_NEAR(*pa::mann_whitney_p(c.a, c.b), c.p, 1e-12) << c.a.size() << " vs " << c.b.size();
  }
  EXPECT_FALSE(pa::mann_whitney_p({1}, {2, 3}).has_value());  // compare.py needs 2 repetitions each
}

TEST(Compare, RatiosPValuesAndGeomean) {
  const pa::Report base = pa::parse_report(report({run("f/a", 100, 0), run("f/a", 110, 1), run("f/a", 120, 2),
                                                   run("f/b", 50), run("f/only_base", 1)}), "base.json");
  const pa::Report cont = pa::parse_report(report({run("f/a", 200, 0), run("f/a", 210, 1), run("f/a", 220, 2),
                                                   run("f/b", 25), run("f/only_cont", 1)}, {{"libtorch_version", "2.11.0"}}),
                                           "cont.json");
  const pa::Comparison c = pa::compare_reports(base, cont, std::nullopt);
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].metric, "samples_per_s");
  EXPECT_NEAR(c.rows[0].ratio, 210.0 / 110.0, 1e-12);  // medians
  ASSERT_TRUE(c.rows[0].p_value.has_value());
  EXPECT_NEAR(*c.rows[0].p_value, 0.1, 1e-12);
  EXPECT_NEAR(c.rows[1].ratio, 0.5, 1e-12);
  EXPECT_FALSE(c.rows[1].p_value.has_value());  // one repetition: no test
  EXPECT_NEAR(c.geomean, std::sqrt(210.0 / 110.0 * 0.5), 1e-12);
  EXPECT_EQ(c.only_in_baseline, std::vector<std::string>{"f/only_base"});
  EXPECT_EQ(c.only_in_contender, std::vector<std::string>{"f/only_cont"});
  ASSERT_EQ(c.environment.size(), 1u);
  EXPECT_EQ(c.environment[0].key, "libtorch_version");
  EXPECT_EQ(pa::rows_below({c}, 0.9), std::vector<std::string>{"f/b"});
  EXPECT_TRUE(pa::rows_below({c}, 0.4).empty());

  const std::string console = pa::render_console({c});
  EXPECT_NE(console.find("libtorch_version  1.13.0  ->  2.11.0"), std::string::npos) << console;
  EXPECT_NE(console.find("OVERALL_GEOMEAN"), std::string::npos);
  EXPECT_NE(pa::render_markdown({c}).find("| **geometric mean** |"), std::string::npos);
  const json j = pa::render_json({c});
  EXPECT_NEAR(j[0]["benchmarks"][0]["p_value"].get<double>(), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(j[0]["benchmarks"][0]["baseline_time"].get<double>(), 1.0);
  EXPECT_EQ(j[0]["benchmarks"][0]["time_unit"], "ms");
  EXPECT_EQ(j[0]["only_in_contender"][0], "f/only_cont");
}

TEST(Compare, FilterAndTimeFallback) {
  json timed = {{"name", "t/x"}, {"run_type", "iteration"}, {"real_time", 4.0}, {"time_unit", "ms"}};
  json faster = timed;
  faster["real_time"] = 2.0;
  const pa::Report base = pa::parse_report(report({timed, run("f/a", 1)}), "b");
  const pa::Report cont = pa::parse_report(report({faster, run("f/a", 1)}), "c");
  const pa::Comparison c = pa::compare_reports(base, cont, std::regex("^t/"));
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].metric, "real_time");
  EXPECT_DOUBLE_EQ(c.rows[0].ratio, 2.0);  // half the time = twice as fast
}

TEST(Compare, InvalidValuesAreMarkedNotComputed) {
  json failed = run("f/err", 5);
  failed["error_occurred"] = true;
  failed["error_message"] = "skipped: no CUDA";
  const pa::Report base = pa::parse_report(report({run("f/nan", nullptr), run("f/zero", 0), run("f/err", 5), run("f/ok", 2)}), "b");
  const pa::Report cont = pa::parse_report(report({run("f/nan", 3), run("f/zero", 3), failed, run("f/ok", 4)}), "c");
  const pa::Comparison c = pa::compare_reports(base, cont, std::nullopt);
  ASSERT_EQ(c.rows.size(), 4u);
  EXPECT_EQ(c.rows[0].note, "not a number");
  EXPECT_EQ(c.rows[1].note, "zero value");
  EXPECT_EQ(c.rows[2].note, "skipped: no CUDA");
  EXPECT_TRUE(c.rows[3].note.empty());
  EXPECT_EQ(c.geomean_count, 1u);
  EXPECT_DOUBLE_EQ(c.geomean, 2.0);
  EXPECT_TRUE(pa::rows_below({c}, 1.5).empty());  // marked rows never trip --fail-below
}

TEST(Report, BadReportsGiveOneLineErrors) {
  auto message = [](const json& j) {
    try {
      pa::parse_report(j, "r.json");
    } catch (const pa::ReportError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string other_tool = "'r.json' is not a Google Benchmark report (needs \"context\" and \"benchmarks\")";
  EXPECT_EQ(message(json::array()), other_tool);
  EXPECT_EQ(message(json{{"results", json::array()}}), other_tool);
  EXPECT_EQ(message(json{{"context", json::object()}, {"benchmarks", 3}}), other_tool);
  EXPECT_EQ(message(json{{"context", json::object()}, {"benchmarks", json::array()}}), "'r.json' has no benchmarks");
  EXPECT_EQ(message(report(json::array({json{{"real_time", 1}}}))), "'r.json' has a benchmark without a name");
  try {
    pa::load_report("/nonexistent/r.json");
    FAIL();
  } catch (const pa::ReportError& e) {
    EXPECT_STREQ(e.what(), "cannot read '/nonexistent/r.json': No such file or directory");
  }
}

TEST(Report, NamesSplitIntoFamilyModelAndArgs) {
  const pa::Report r = pa::parse_report(report(json::array({run("cpu_training/mlp/workers:2/threads:1/real_time", 1)})), "r");
  const pa::Entry& e = r.entries.at(0);
  EXPECT_EQ(e.family, "cpu_training");
  EXPECT_EQ(e.model, "mlp");
  EXPECT_EQ(e.args.at("workers"), 2);
  EXPECT_EQ(e.arg_order, (std::vector<std::string>{"workers", "threads"}));
}

// The console summary and pb_report read the same report the same way (both through the report
// schema). Here they used to differ: the summary kept only median aggregates once any benchmark
// had them (so the peer's rows, repeated without aggregates, vanished from its table and its
// C++/Python ratios), hid bytes_per_second as a Google Benchmark key, and took loss_per_step for
// a rate because it contains "_per_s".
TEST(Report, SummaryAndReportAgree) {
  json runs = json::array();
  for (double rate : {100.0, 300.0, 200.0}) {
    json r = run("f/a", rate);
    r["loss_per_step"] = rate / 1000;
    runs.push_back(r);
  }
  json median = run("f/a", 200.0);
  median["run_type"] = "aggregate";
  median["aggregate_name"] = "median";
  median["loss_per_step"] = 0.2;
  runs.push_back(median);
  for (double rate : {50.0, 100.0, 70.0}) runs.push_back(run("peer_python/f/a", rate));
  json copy = run("c/copy", nullptr);
  copy.erase("samples_per_s");
  copy["bytes_per_second"] = 4e9;
  runs.push_back(copy);
  const json bench_report = report(runs);

  const std::vector<pb::bench::SummaryRow> rows = pb::bench::summary_rows(bench_report);
  const pa::Report parsed = pa::parse_report(bench_report, "r.json");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_EQ(parsed.entries.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const pa::Entry& entry = parsed.entries[i];
    EXPECT_EQ(rows[i].name, entry.name);
    ASSERT_TRUE(rows[i].counters.count(entry.metric)) << entry.name << " " << entry.metric;
    EXPECT_DOUBLE_EQ(rows[i].counters.at(entry.metric), entry.value) << entry.name;
  }
  EXPECT_DOUBLE_EQ(parsed.entries[1].value, 70.0);  // the peer's median repetition
  EXPECT_EQ(parsed.entries[2].metric, "bytes_per_second");

  std::ostringstream out;
  pb::bench::print_summary(bench_report, out);
  EXPECT_NE(out.str().find("  samples_per_s  bytes_per_second    final_loss  loss_per_step\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("peer_python/f/a  "), std::string::npos) << out.str();

  const std::vector<pb::bench::PeerRatio> console = pb::bench::peer_ratios(bench_report);
  ASSERT_EQ(console.size(), 1u);
  ASSERT_EQ(parsed.peers.size(), 1u);
  EXPECT_EQ(console[0].name, parsed.peers[0].name);
  EXPECT_DOUBLE_EQ(console[0].ratio(), 200.0 / 70.0);
  EXPECT_EQ(pa::peer_ratio_lines(parsed), std::vector<std::string>{"| `f/a` | 200 | 70 | 2.86x |"});
}

// A small XML well-formedness check: balanced, properly nested tags, quoted attributes, no raw
// '<' or stray '&' in text. Returns "" when well-formed, else what is wrong.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      const size_t semi = xml.find(';', i);
      const std::string entity = xml.substr(i, semi == std::string::npos ? 0 : semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;") {
        return "stray & at " + std::to_string(i);
      }
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unclosed tag";
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    if (std::count(tag.begin(), tag.end(), '"') % 2) return "unbalanced quotes in <" + tag + ">";
    if (tag.front() == '?') continue;
    if (tag.front() == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/') continue;
    stack.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Svg, WellFormedWithTheExpectedSeriesAndPoints) {
  pa::Chart chart{"a <b> & \"c\"", "workers", "samples/s", false,
                  {{"one", {{0, 1}, {1, 2}, {2, 4}}, false}, {"two", {{0, 1}, {1, std::nan("")}, {2, 3}}, false},
                   {"ideal", {{0, 1}, {2, 3}}, true}},
                  {}, {}};  // no parts, no bars: a line chart
  const std::string svg = pa::render_svg(chart);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, "<polyline class=\"series\""), 2u);
  EXPECT_EQ(count(svg, "<polyline class=\"reference\""), 1u);
  EXPECT_EQ(count(svg, "<circle class=\"point\""), 5u);  // the NaN point is left out
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find(">workers</text>"), std::string::npos);
  EXPECT_NE(svg.find(">samples/s</text>"), std::string::npos);
  pa::Chart empty{"nothing", "x", "y", false, {{"s", {}, false}}, {}, {}};
  try {
    pa::render_svg(empty);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "chart 'nothing' has no data points");
  }
}

TEST(Svg, ChartsAndBestSettingsFromACpuTrainingReport) {
  json runs = json::array();
  for (int load : {0, 50})
    for (int workers : {0, 1, 2})
      for (const std::string loader : {"default", "deep-nice"}) {
        const bool deep = loader != "default";
        if (workers == 0 && deep) continue;
        const std::string name = "cpu_training/linear/workers:" + std::to_string(workers) + "/threads:1/load_us:" +
                                 std::to_string(load) + "/loader:" + loader + (deep ? "/prefetch:256" : "") + "/real_time";
        runs.push_back(run(name, 1000.0 * (1 + workers * (load ? 1 : 0)) + (deep ? 19 : 0)));
      }
  runs.push_back(run("cpu_training/linear/workers:0/threads:2/load_us:0/loader:default/real_time", 800));
  const pa::Report r = with_spec(runs, cpu_training_spec(), "cpu_training.json");
  const std::vector<pa::ChartFile> charts = pa::build_charts(r, "cpu_training");
  ASSERT_EQ(charts.size(), 3u);  // workers at load 0 and at load 50, threads
  EXPECT_EQ(charts[0].file_name, "cpu_training_workers_linear_load_us-0.svg");
  const std::string svg = pa::render_svg(charts[1].chart);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline class=\"series\""), 2u);     // loader default and loader deep-nice
  EXPECT_EQ(count(svg, "<polyline class=\"reference\""), 1u);  // ideal linear scaling
  EXPECT_EQ(count(svg, "<circle class=\"point\""), 6u);        // 3 + 3: 0 workers starts both
  const std::vector<std::string> best = pa::best_settings(r);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_NE(best[1].find("best loader deep-nice, workers 2, threads 1, prefetch 256 at 3.019k samples/s, 3.02x the "
                         "baseline (loader default, workers 0, threads 1: 1k)"),
            std::string::npos)
      << best[1];
  EXPECT_NE(pa::render_report_markdown(r, charts).find("](cpu_training_workers_linear_load_us-50.svg)"), std::string::npos);
}

// A stacked-bar chart: one <g class="bar"> per setting, one <rect class="segment"> per part in
// each, the parts in the legend, values in the segments' titles; a bar with the wrong number of
// values is an error, not a misdrawn chart.
TEST(Svg, StackedBarsHaveOneBarPerSettingAndOneSegmentPerPart) {
  pa::Chart chart;
  chart.title = "phases <of> & a step";
  chart.x_label = "setting";
  chart.y_label = "ms per step";
  chart.parts = {"load", "forward", "backward", "optimizer"};
  chart.bars = {{"workers 0", {1, 2, 3, 4}}, {"workers 2", {0, 2, 3, 4}}, {"workers 4 & nice", {std::nan(""), 1, 1, -1}}};
  const std::string svg = pa::render_svg(chart);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(count(svg, "<g class=\"bar\""), 3u);
  EXPECT_EQ(count(svg, "<rect class=\"segment\""), 12u);
  for (const std::string& part : chart.parts) EXPECT_EQ(count(svg, "data-part=\"" + part + "\""), 3u) << part;
  EXPECT_EQ(count(svg, "<polyline"), 0u);
  EXPECT_NE(svg.find("data-name=\"workers 4 &amp; nice\""), std::string::npos);
  EXPECT_NE(svg.find("workers 0: backward 3 ms per step (30.0%)"), std::string::npos);
  EXPECT_NE(svg.find("phases &lt;of&gt; &amp; a step"), std::string::npos);
  EXPECT_NE(svg.find(">optimizer</text>"), std::string::npos);  // the legend
  chart.bars.push_back({"short", {1, 2}});
  try {
    pa::render_svg(chart);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "chart 'phases <of> & a step': bar 'short' has 2 values for 4 parts");
  }
}

// Rows with phase counters get stacked bars: family 1, one chart per model and loading cost, one
// bar per workers/threads/loader setting, one segment per phase; rows without them get none.
TEST(Svg, PhaseChartsFromACpuTrainingReport) {
  json runs = json::array();
  size_t at_load_0 = 0;
  for (int load : {0, 50})
    for (int threads : {1, 2})
      for (int workers : {0, 2}) {
        const std::string name = "cpu_training/linear/workers:" + std::to_string(workers) + "/threads:" +
                                 std::to_string(threads) + "/load_us:" + std::to_string(load) +
                                 "/loader:default/real_time";
        json r = run(name, 1000.0);
        r["phase_load_s"] = load ? 0.004 : 0.0001;
        r["phase_forward_s"] = 0.0002;
        r["phase_backward_s"] = 0.0003;
        r["phase_optimizer_s"] = 0.0001;
        r["once_model_s"] = 0.5;  // once per point: not a phase of the epoch
        runs.push_back(r);
        at_load_0 += load == 0;
      }
  runs.push_back(run("cpu_training/mlp/workers:0/threads:1/load_us:0/loader:default/real_time", 10));
  const pa::Report r = with_spec(runs, cpu_training_spec(), "cpu_training.json");
  std::vector<pa::ChartFile> bars;
  for (const pa::ChartFile& c : pa::build_charts(r, "cpu_training")) {
    if (!c.chart.bars.empty()) bars.push_back(c);
  }
  ASSERT_EQ(bars.size(), 2u);  // linear at load 0 and at load 50; none for mlp
  EXPECT_EQ(bars[0].file_name, "cpu_training_phases_linear_load_us-0.svg");
  EXPECT_EQ(bars[1].file_name, "cpu_training_phases_linear_load_us-50.svg");
  EXPECT_EQ(bars[0].chart.title, "cpu_training linear, load_us 0: time per epoch by phase (loader default)");
  EXPECT_EQ(bars[0].chart.parts, (std::vector<std::string>{"load", "forward", "backward", "optimizer"}));
  ASSERT_EQ(bars[0].chart.bars.size(), at_load_0);
  EXPECT_EQ(bars[0].chart.bars[1].name, "workers 2, threads 1");
  EXPECT_DOUBLE_EQ(bars[1].chart.bars[0].values[0], 4.0);  // milliseconds
  const std::string svg = pa::render_svg(bars[1].chart);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<g class=\"bar\""), 4u);
  EXPECT_EQ(count(svg, "<rect class=\"segment\""), 16u);
  const std::string markdown = pa::render_report_markdown(r, pa::build_charts(r, "cpu_training"));
  EXPECT_NE(markdown.find("](cpu_training_phases_linear_load_us-50.svg)"), std::string::npos);
  EXPECT_NE(markdown.find("## Where the time goes"), std::string::npos);
  EXPECT_NE(markdown.find("| workers 0, threads 1 | 4.6 | 87.0% | 4.3% | 6.5% | 2.2% |"), std::string::npos) << markdown;
}

// Families 3 and 4: one bar per strategy, with the all-reduce wait as its own segment where rows have it.
TEST(Svg, PhaseChartsFromADdpReport) {
  json runs = json::array();
  for (const std::string sync : {"none", "overlapped"}) {
    json r = run("ddp_cpu/cnn/ranks:2/threads:1/sync:" + sync + "/bucket_kib:1024/manual_time", 100);
    for (const char* phase : {"load", "forward", "backward", "optimizer"}) r[std::string("phase_") + phase + "_s"] = 0.001;
    r["phase_allreduce_s"] = sync == "none" ? 0.0 : 0.002;
    runs.push_back(r);
  }
  pa::ReportSpec spec;
  spec.charts = {{"ddp_cpu", "ranks", "ranks", {}, {"sync", "bucket_kib"}, {{"threads", 1}}, true}};
  spec.phase_charts = {{"ddp_cpu", {}, "step"}};
  const pa::Report r = with_spec(runs, spec, "ddp_training.json");
  const std::vector<pa::ChartFile> charts = pa::build_charts(r, "ddp_training");
  ASSERT_FALSE(charts.empty());
  const pa::ChartFile& bars = charts.back();  // after the line charts
  EXPECT_EQ(bars.file_name, "ddp_training_ddp_cpu_phases_cnn.svg");
  EXPECT_EQ(bars.chart.parts, (std::vector<std::string>{"load", "forward", "backward", "allreduce", "optimizer"}));
  ASSERT_EQ(bars.chart.bars.size(), 2u);
  EXPECT_EQ(bars.chart.bars[0].name, "sync none");
  EXPECT_EQ(bars.chart.y_label, "ms per step");
  const std::string svg = pa::render_svg(bars.chart);
  EXPECT_EQ(count(svg, "<g class=\"bar\""), 2u);
  EXPECT_EQ(count(svg, "<rect class=\"segment\""), 10u);
}

TEST(Svg, GpuTrainingReportChartsByWordsAndComparesDevices) {
  json runs = json::array();
  for (const std::string device : {"cpu", "cuda"})
    for (const std::string pipeline : {"pageable", "pinned"})
      for (int batch : {64, 256}) {
        if (device == "cpu" && pipeline == "pinned") continue;
        const double rate = (device == "cuda" ? 10000.0 : 1000.0) * batch / 64 * (pipeline == "pinned" ? 2 : 1);
        runs.push_back(run("gpu_train/mlp/device:" + device + "/pipeline:" + pipeline + "/exec:eager/batch:" +
                               std::to_string(batch) + "/real_time",
                           rate));
      }
  for (const std::string memory : {"pageable", "pinned"})
    for (int bytes : {4096, 16384}) {
      json copy = run("copy/h2d/memory:" + memory + "/bytes:" + std::to_string(bytes) + "/real_time", nullptr);
      copy.erase("samples_per_s");
      copy["GBps"] = (memory == "pinned" ? 2.0 : 1.0) * bytes / 4096;
      runs.push_back(copy);
    }
  pa::ReportSpec spec;
  spec.charts = {{"gpu_train", "batch", "batch size (samples)", {"device"}, {"pipeline", "exec"}, {}, false, true},
                 {"copy", "bytes", "transfer size (bytes)", {}, {"memory"}, {}, false, true}};
  spec.best = {{"gpu_train", {{"device", " on {}"}}, {{"pipeline", "pageable"}, {"exec", "eager"}, {"batch", pb::schema::kSmallest}}, {}, ""},
               {"copy", {{"memory", ", memory {}"}}, {}, {}, "bytes"}};
  spec.ratios = {{"gpu_train", "GPU against CPU", "Each cuda row against the cpu row.", "cuda", "cpu", {{"device", "cuda"}},
                  {{"device", "cpu"}, {"pipeline", "pageable"}, {"exec", "eager"}}, {"batch"}}};
  const pa::Report r = with_spec(runs, spec, "gpu_training.json");
  const pa::Entry* entry = r.find("gpu_train/mlp/device:cuda/pipeline:pinned/exec:eager/batch:256/real_time");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->labels, (std::map<std::string, std::string>{{"device", "cuda"}, {"exec", "eager"}, {"pipeline", "pinned"}}));
  EXPECT_EQ(entry->args, (std::map<std::string, int64_t>{{"batch", 256}}));
  const std::vector<pa::ChartFile> charts = pa::build_charts(r, "gpu_training");
  ASSERT_EQ(charts.size(), 3u);  // mlp on cpu, mlp on cuda, copy h2d
  EXPECT_EQ(charts[0].file_name, "gpu_training_gpu_train_batch_mlp_device-cpu.svg");
  EXPECT_EQ(charts[1].chart.series.size(), 2u);  // pageable and pinned, on cuda
  EXPECT_EQ(charts[1].chart.series[1].name, "pipeline pinned, exec eager");
  EXPECT_EQ(charts[2].file_name, "gpu_training_copy_bytes_h2d.svg");
  EXPECT_EQ(charts[2].chart.y_label, "copy bandwidth (GB/s)");
  const std::vector<std::string> ratios = pa::ratio_lines(r, spec.ratios[0]);
  ASSERT_EQ(ratios.size(), 4u);
  EXPECT_EQ(ratios[3], "| `gpu_train/mlp/device:cuda/pipeline:pinned/exec:eager/batch:256/real_time` | 80k | 4k | 20.00x |");
  const std::vector<std::string> best = pa::best_settings(r);
  ASSERT_EQ(best.size(), 4u);
  // The baseline: pageable eager at the smallest batch of the group (64 on cuda: 10k).
  EXPECT_EQ(best[1], "**gpu_train mlp on cuda**: best exec eager, pipeline pinned, batch 256 at 80k samples/s, 8.00x the "
                     "baseline (exec eager, pipeline pageable, batch 64: 10k)");
  EXPECT_EQ(best[3], "**copy h2d, memory pinned**: peak 8 GBps at 16.38k bytes");
  EXPECT_NE(pa::render_report_markdown(r, charts).find("## GPU against CPU\n\nEach cuda row against the cpu row.\n\n"
                                                       "| benchmark | cuda | cpu | cuda/cpu |"),
            std::string::npos);
}

// The best setting skips the rows the spec says are no way to train (here: no sync with more than
// one rank, however fast), and compares with the baseline's row; a sweep gives its peak.
TEST(Report, BestSettingsFollowTheSpec) {
  json runs = json::array();
  runs.push_back(run("ddp_cpu/mlp/ranks:1/threads:1/sync:none/real_time", 100));
  runs.push_back(run("ddp_cpu/mlp/ranks:2/threads:1/sync:none/real_time", 500));  // the fastest, not a candidate
  runs.push_back(run("ddp_cpu/mlp/ranks:2/threads:1/sync:overlapped/real_time", 150));
  runs.push_back(run("ddp_cpu/mlp/ranks:2/threads:1/sync:overlapped/link:1gbit/real_time", 120));
  runs.push_back(run("sweep/ranks:2/bytes:64/real_time", 1));
  runs.push_back(run("sweep/ranks:4/bytes:4096/real_time", 3));
  runs.push_back(run("other/mlp/x:1/real_time", 9));  // a family the spec does not name: no line
  pa::ReportSpec spec;
  pb::schema::RowMatch no_sync;
  no_sync.is = {{"sync", "none"}};
  no_sync.above = {{"ranks", 1}};
  spec.best = {{"ddp_cpu", {{"link", ", link {}"}}, {{"ranks", "1"}, {"sync", "none"}}, {no_sync}, ""},
               {"sweep", {}, {}, {}, "bytes"}};
  const std::vector<std::string> best = pa::best_settings(with_spec(runs, spec, "r.json"));
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0], "**ddp_cpu mlp**: best sync overlapped, ranks 2, threads 1 at 150 samples/s, 1.50x the baseline "
                     "(sync none, ranks 1, threads 1: 100)");
  EXPECT_EQ(best[1], "**ddp_cpu mlp, link 1gbit**: best sync overlapped, ranks 2, threads 1 at 120 samples/s");  // no 1-rank row
  EXPECT_EQ(best[2], "**sweep**: peak 3 samples_per_s at 4.096k bytes, ranks 4");
}

// A report without a spec (written before specs, or by another tool) is read all the same: the
// environment and every row, but nothing says what to chart or what a baseline is.
TEST(Report, WithoutASpecNoChartsAndNoBestSettings) {
  json runs = json::array();
  for (int workers : {0, 2}) {
    runs.push_back(run("cpu_training/linear/workers:" + std::to_string(workers) + "/threads:1/load_us:0/loader:default/real_time",
                       1000.0 * (workers + 1)));
  }
  const pa::Report bare = pa::parse_report(report(runs), "old.json");
  EXPECT_FALSE(bare.spec.has_value());
  EXPECT_TRUE(pa::build_charts(bare, "old").empty());
  EXPECT_TRUE(pa::best_settings(bare).empty());
  const std::string markdown = pa::render_report_markdown(bare, {});
  EXPECT_NE(markdown.find("## Environment"), std::string::npos);
  EXPECT_NE(markdown.find("| `cpu_training/linear/workers:2/threads:1/load_us:0/loader:default/real_time` | 3k samples/s |"),
            std::string::npos)
      << markdown;
  EXPECT_EQ(markdown.find("## Best settings"), std::string::npos);
  EXPECT_EQ(markdown.find("## Charts"), std::string::npos);
  // The same rows with the family's spec: charts and a best setting.
  const pa::Report described = with_spec(runs, cpu_training_spec(), "new.json");
  EXPECT_FALSE(pa::build_charts(described, "new").empty());
  EXPECT_EQ(pa::best_settings(described).size(), 1u);
  // A spec that is not one is an error naming the report, not a silently empty report.
  try {
    pa::parse_report(report(runs, {{pb::schema::kReportSpecKey, {{"charts", 3}}}}), "bad.json");
    FAIL();
  } catch (const pa::ReportError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("'bad.json' has a malformed pb_report_spec: ", 0), 0u) << e.what();
  }
}

}  // namespace
