// Tests for the DDP scaling model: the alpha-beta fit and the interpolated sweep, DDP's bucket rule,
// FLOP-weighted ready times, the overlapped bucket schedule, efficiency and link speed, and the
// check against a (synthetic) family-4 report.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "benchmarks/analysis/scaling_model.h"

namespace {

namespace pa = pb::analysis;
using nlohmann::json;

// The project CNN's gradient bytes in backward order (fc2, fc1, conv2, conv1; bias before weight),
// written out here so that the bucket rule is checked against numbers worked by hand.
const std::vector<int64_t> kCnnParams = {40, 20480, 2048, 8388608, 256, 147456, 256, 6912};

double ring(double bytes, double p, double alpha, double bandwidth) {
  return 2 * (p - 1) * alpha + 2 * (p - 1) / p * bytes / bandwidth;
}

TEST(ScalingModelFit, RecoversAlphaAndBandwidthExactly) {
  for (int64_t p : {2, 3, 4, 8, 64}) {
    const double alpha = 25e-6, bandwidth = 12.5e9;
    std::vector<std::pair<double, double>> points;
    for (double n = 8; n <= 268435456; n *= 8) points.emplace_back(n, ring(n, static_cast<double>(p), alpha, bandwidth));
    const pa::AllreduceFit fit = pa::fit_ring_allreduce(p, points);
    EXPECT_EQ(fit.ranks, p);
    EXPECT_EQ(fit.points, points.size());
    EXPECT_NEAR(fit.alpha_s / alpha, 1, 1e-9) << p << " ranks";
    EXPECT_NEAR(fit.bandwidth_bytes_per_s / bandwidth, 1, 1e-9) << p << " ranks";
    EXPECT_NEAR(fit.r_squared, 1, 1e-12);
  }
}

TEST(ScalingModelFit, RSquaredFallsWithScatterAndBadSweepsAreRefused) {
  // The same line with every other point 20% off: still a fit, visibly worse.
  std::vector<std::pair<double, double>> points;
  for (int i = 0; i < 8; ++i) {
    const double n = 1e6 * (i + 1);
    points.emplace_back(n, ring(n, 2, 1e-4, 1e9) * (i % 2 ? 1.2 : 0.8));
  }
  const pa::AllreduceFit fit = pa::fit_ring_allreduce(2, points);
  EXPECT_LT(fit.r_squared, 0.99);
  EXPECT_GT(fit.r_squared, 0.5);
  EXPECT_THROW(pa::fit_ring_allreduce(1, points), std::invalid_argument);
  EXPECT_THROW(pa::fit_ring_allreduce(2, {{1024, 1e-3}, {1024, 2e-3}}), std::invalid_argument);  // one size
  EXPECT_THROW(pa::fit_ring_allreduce(2, {{1024, 2e-3}, {4096, 1e-3}}), std::invalid_argument);  // faster when larger
}

TEST(ScalingModelFit, NegativeInterceptIsZeroLatency) {
  const pa::AllreduceFit fit = pa::fit_ring_allreduce(2, {{1e6, 0.5e-3}, {2e6, 1.5e-3}});
  EXPECT_LT(fit.alpha_s, 0);
  EXPECT_EQ(pa::link_of(fit).alpha_s, 0);
  EXPECT_NEAR(pa::link_of(fit).bandwidth_bytes_per_s, 1e9, 1);
}

TEST(ScalingModelSweep, ExactAtMeasuredSizesLinearBetweenFitOutside) {
  // A sweep no straight line goes through: flat small messages, then bandwidth; 4096 B measured twice.
  const std::vector<std::pair<double, double>> points = {
      {64, 1.0e-3}, {4096, 1.2e-3}, {4096, 1.4e-3}, {262144, 1.1e-3}, {16777216, 15e-3}};
  const pa::AllreduceFit fit = pa::fit_ring_allreduce(2, points);
  ASSERT_EQ(fit.sweep.size(), 4u);
  EXPECT_DOUBLE_EQ(fit.sweep[1].second, 1.3e-3);  // the mean of the repeated size
  EXPECT_DOUBLE_EQ(pa::sweep_allreduce_seconds(fit, 64), 1.0e-3);
  EXPECT_DOUBLE_EQ(pa::sweep_allreduce_seconds(fit, 4096), 1.3e-3);
  EXPECT_DOUBLE_EQ(pa::sweep_allreduce_seconds(fit, 262144), 1.1e-3);
  EXPECT_DOUBLE_EQ(pa::sweep_allreduce_seconds(fit, 16777216), 15e-3);
  // Between two sizes: on the straight line joining them (linear in bytes, not in log bytes).
  EXPECT_NEAR(pa::sweep_allreduce_seconds(fit, 2080), 1.0e-3 + 0.5 * 0.3e-3, 1e-15);
  const double quarter = 262144 + 0.25 * (16777216 - 262144);
  EXPECT_NEAR(pa::sweep_allreduce_seconds(fit, quarter), 1.1e-3 + 0.25 * (15e-3 - 1.1e-3), 1e-15);
  // The fit's line misses the small sizes the sweep holds exactly.
  EXPECT_GT(std::fabs(pa::ring_allreduce_seconds(64, 2, pa::link_of(fit)) - 1.0e-3), 0.1e-3);
  // Outside the measured sizes: the ring on the fit's link, at the fit's rank count.
  for (double n : {8.0, 63.0, 16777217.0, 268435456.0}) {
    EXPECT_DOUBLE_EQ(pa::sweep_allreduce_seconds(fit, n), pa::ring_allreduce_seconds(n, 2, pa::link_of(fit))) << n;
  }
}

TEST(ScalingModelRing, FormulaAndOneRank) {
  const pa::Link link = pa::link_from_gbit(100, 10e-6);
  EXPECT_DOUBLE_EQ(link.bandwidth_bytes_per_s, 12.5e9);
  EXPECT_DOUBLE_EQ(pa::ring_allreduce_seconds(26214400, 8, link), 140e-6 + 1.75 * 26214400 / 12.5e9);
  EXPECT_EQ(pa::ring_allreduce_seconds(26214400, 1, link), 0);
}

TEST(ScalingModelBuckets, FollowDdpsRule) {
  // 4 MiB: fc2 and fc1's bias; fc1's 8 MiB weight alone (larger than a bucket); the convolutions.
  EXPECT_EQ(pa::buckets_from_parameters(kCnnParams, 4 << 20), (std::vector<double>{22568, 8388608, 154880}));
  EXPECT_EQ(pa::buckets_from_parameters(kCnnParams, 25 << 20), (std::vector<double>{8566056}));
  EXPECT_EQ(pa::buckets_from_parameters({10, 10, 10}, 20), (std::vector<double>{20, 10}));
  EXPECT_EQ(pa::buckets_from_parameters({10, 10, 10}, 1), (std::vector<double>{10, 10, 10}));
  EXPECT_EQ(pa::even_buckets(100e6, 25 << 20), (std::vector<double>{26214400, 26214400, 26214400, 21356800}));
  EXPECT_EQ(pa::even_buckets(1024, 1024), (std::vector<double>{1024}));
}

// The project CNN's layers in backward order, with backward FLOPs per sample (2x the forward's):
// fc2 2x2x5120, fc1 2x2x2097152, conv2 2x2x36864x256 positions (16x16), conv1 2x2x1728x1024 (32x32).
const std::vector<pa::Layer> kCnnLayers = {{"fc2", 20480, {40, 20480}},
                                           {"fc1", 8388608, {2048, 8388608}},
                                           {"conv2", 37748736, {256, 147456}},
                                           {"conv1", 7077888, {256, 6912}}};

TEST(ScalingModelReady, ByLayerFlopsInBackwardOrder) {
  const pa::Gradients g = pa::gradients_by_flops(kCnnLayers);
  EXPECT_EQ(g.bytes, kCnnParams);
  const double total = 20480.0 + 8388608 + 37748736 + 7077888;
  const double fc1_done = (20480.0 + 8388608) / total;  // 15.8% of backward
  const std::vector<double> expected = {20480 / total, 20480 / total, fc1_done, fc1_done,
                                        (total - 7077888) / total, (total - 7077888) / total, 1, 1};
  ASSERT_EQ(g.ready.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(g.ready[i], expected[i], 1e-15) << i;
  // 4 MiB buckets: {fc2, fc1's bias}, fc1's weight, the convolutions. fc1's bucket is full after
  // 16% of backward, long before the convolutions' bucket (at its end); at a steady rate of bytes
  // it would be full only after 98%.
  const std::vector<double> ready = pa::bucket_ready(g, 4 << 20);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_NEAR(ready[0], fc1_done, 1e-15);  // fc1's bias goes with its layer
  EXPECT_NEAR(ready[1], fc1_done, 1e-15);
  EXPECT_DOUBLE_EQ(ready[2], 1);
  EXPECT_LT(ready[1], 0.2);
  const std::vector<double> steady = pa::bucket_ready(pa::gradients_at_steady_rate(kCnnParams), 4 << 20);
  EXPECT_NEAR(steady[1], (22568.0 + 8388608) / 8566056, 1e-15);
  EXPECT_GT(steady[1], 0.98);
  EXPECT_EQ(pa::bucket_ready(g, 25 << 20), (std::vector<double>{1}));
  EXPECT_THROW(pa::gradients_by_flops({{"bias only", 0, {8}}}), std::invalid_argument);
}

TEST(ScalingModelReady, FlopWeightedScheduleHidesTheEarlyBucket) {
  // 180 ms compute, 120 ms backward; 1 Gbit/s: fc1's 8 MiB bucket takes ~67 ms. Ready after 16% of
  // backward, it ends long before backward does; only the convolutions' bucket is exposed. Bytes
  // at a steady rate make fc1's bucket ready at 98%, and nearly all of its all-reduce shows.
  const pa::Link link = pa::link_from_gbit(1, 50e-6);
  const auto buckets = pa::buckets_from_parameters(kCnnParams, 4 << 20);
  pa::StepModel flops{0.18, 2.0 / 3.0, buckets, true, pa::bucket_ready(pa::gradients_by_flops(kCnnLayers), 4 << 20)};
  pa::StepModel steady{0.18, 2.0 / 3.0, buckets, true};
  const pa::StepPrediction a = pa::predict_step(flops, 2, link), b = pa::predict_step(steady, 2, link);
  EXPECT_NEAR(a.exposed_s, pa::ring_allreduce_seconds(154880, 2, link), 1e-15);
  EXPECT_GT(b.exposed_s, 0.9 * pa::ring_allreduce_seconds(8388608, 2, link));
  EXPECT_NEAR(a.comm_s, b.comm_s, 1e-15);
  // Ready times from a steady rate are the schedule without ready times.
  pa::StepModel explicit_steady = steady;
  explicit_steady.ready = pa::bucket_ready(pa::gradients_at_steady_rate(kCnnParams), 4 << 20);
  EXPECT_NEAR(pa::predict_step(explicit_steady, 2, link).step_s, b.step_s, 1e-15);
  // Without overlap the ready times do not matter.
  flops.overlap = steady.overlap = false;
  EXPECT_DOUBLE_EQ(pa::predict_step(flops, 2, link).step_s, pa::predict_step(steady, 2, link).step_s);
  flops.ready.pop_back();
  EXPECT_THROW(pa::predict_step(flops, 2, link), std::invalid_argument);
}

TEST(ScalingModelSchedule, WorkedExample) {
  // 30 ms compute, backward 20 ms; 100 MB in four buckets ready at 5.24, 10.49, 15.73 and 20 ms;
  // each all-reduce ends before the next bucket is ready, so only the last one (3.13 ms) shows.
  const pa::StepModel model{30e-3, 2.0 / 3.0, pa::even_buckets(100e6, 25 << 20), true};
  const pa::StepPrediction s = pa::predict_step(model, 8, pa::link_from_gbit(100, 10e-6));
  EXPECT_NEAR(s.exposed_s, 3.129952e-3, 1e-12);
  EXPECT_NEAR(s.step_s, 33.129952e-3, 1e-12);
  EXPECT_NEAR(s.comm_s, 3 * 3.810016e-3 + 3.129952e-3, 1e-12);
  EXPECT_NEAR(s.efficiency, 30 / 33.129952, 1e-12);
}

TEST(ScalingModelSchedule, OverlapHidesCommunicationUpToTheBackwardTime) {
  // n equal buckets, each taking tau on the link, backward time T: overlapped, the wait is
  // max(tau, n*tau - T*(n-1)/n); the hidden part never exceeds T; without overlap nothing is hidden.
  const double compute = 0.03, fraction = 0.6, backward = compute * fraction;
  const int n = 10;
  for (double gbit : {0.1, 1.0, 3.0, 10.0, 25.0, 100.0, 400.0, 1e4}) {
    const pa::Link link = pa::link_from_gbit(gbit, 0);
    const pa::StepModel on{compute, fraction, std::vector<double>(n, 4e6), true};
    pa::StepModel off = on;
    off.overlap = false;
    const pa::StepPrediction with = pa::predict_step(on, 2, link), without = pa::predict_step(off, 2, link);
    const double tau = pa::ring_allreduce_seconds(4e6, 2, link);
    EXPECT_NEAR(with.comm_s, n * tau, 1e-12);
    EXPECT_NEAR(with.exposed_s, std::max(tau, n * tau - backward * (n - 1) / n), 1e-12) << gbit;
    EXPECT_LE(with.comm_s - with.exposed_s, backward + 1e-12) << gbit;
    EXPECT_NEAR(without.exposed_s, without.comm_s, 1e-12) << gbit;
    EXPECT_NEAR(without.step_s, compute + n * tau, 1e-12) << gbit;
    EXPECT_LE(with.step_s, without.step_s + 1e-15) << gbit;
  }
  // Fast enough, everything but the last bucket is hidden.
  const pa::StepPrediction fast = pa::predict_step({compute, fraction, std::vector<double>(n, 4e6), true}, 2,
                                                   pa::link_from_gbit(1e4, 0));
  EXPECT_NEAR(fast.exposed_s, fast.comm_s / n, 1e-15);
}

TEST(ScalingModelSchedule, EfficiencyIsOneOnOneRank) {
  for (bool overlap : {true, false}) {
    for (double gbit : {0.01, 10.0, 400.0}) {
      const pa::StepPrediction s = pa::predict_step({0.182, 2.0 / 3.0, pa::buckets_from_parameters(kCnnParams, 4 << 20), overlap},
                                                    1, pa::link_from_gbit(gbit, 500e-6));
      EXPECT_EQ(s.efficiency, 1.0);
      EXPECT_EQ(s.step_s, 0.182);
      EXPECT_EQ(s.comm_s, 0);
    }
  }
  EXPECT_LT(pa::predict_step({0.182, 2.0 / 3.0, {8566056}, true}, 2, pa::link_from_gbit(10, 0)).efficiency, 1.0);
}

TEST(ScalingModelSchedule, MonotoneInLinkSpeedAndLatency) {
  const std::vector<double> gbits = {0.1, 1, 10, 25, 40, 100, 200, 400, 800, 1e4};
  for (int64_t p : {2, 3, 8, 64, 256}) {
    for (bool overlap : {true, false}) {
      const pa::StepModel model{0.05, 2.0 / 3.0, pa::even_buckets(100e6, 25 << 20), overlap};
      double last_step = INFINITY, last_efficiency = 0;
      for (double gbit : gbits) {
        const pa::StepPrediction s = pa::predict_step(model, p, pa::link_from_gbit(gbit, 10e-6));
        EXPECT_LE(s.step_s, last_step) << p << " ranks, " << gbit << " Gbit/s";
        EXPECT_GE(s.efficiency, last_efficiency) << p << " ranks, " << gbit << " Gbit/s";
        last_step = s.step_s;
        last_efficiency = s.efficiency;
      }
      // A strictly slower link makes the step strictly longer when communication is exposed.
      EXPECT_GT(pa::predict_step(model, p, pa::link_from_gbit(1, 10e-6)).step_s,
                pa::predict_step(model, p, pa::link_from_gbit(100, 10e-6)).step_s);
      EXPECT_LE(pa::predict_step(model, p, pa::link_from_gbit(100, 1e-6)).step_s,
                pa::predict_step(model, p, pa::link_from_gbit(100, 1e-4)).step_s);
    }
  }
}

// ---- a report ----------------------------------------------------------------------------------

json run(const std::string& name, const json& counters, double real_time = 1.0, int repetition = 0) {
  json r = {{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"repetition_index", repetition},
            {"real_time", real_time}, {"time_unit", "ms"}, {"iterations", 1}};
  r.update(counters);
  return r;
}

json sweep(int64_t p, double alpha, double bandwidth) {
  json rows = json::array();
  for (double n : {1024.0, 1048576.0, 16777216.0}) {
    const std::string name = "allreduce_gloo/ranks:" + std::to_string(p) + "/bytes:" + std::to_string(static_cast<int64_t>(n)) +
                             "/iterations:1/manual_time";
    rows.push_back(run(name, {{"time_us", ring(n, static_cast<double>(p), alpha, bandwidth) * 1e6}}));
  }
  return rows;
}

// A bench_ddp row name; `sync` in its words: none, after_backward, overlapped.
std::string ddp(const std::string& model, int64_t ranks, int64_t threads, const std::string& sync, int64_t kib) {
  return "ddp_cpu/" + model + "/ranks:" + std::to_string(ranks) + "/threads:" + std::to_string(threads) +
         "/sync:" + sync + "/bucket_kib:" + std::to_string(kib) + "/iterations:1/manual_time";
}

TEST(ScalingModelReport, FitsEveryRankCountAndNamesAMissingSweep) {
  json rows = sweep(2, 50e-6, 1e9);
  for (const auto& r : sweep(4, 80e-6, 2e9)) rows.push_back(r);
  rows.push_back(run("allreduce_gloo/ranks:8/bytes:1024/iterations:1/manual_time", {{"time_us", 5.0}}));  // one size
  rows.push_back(run("allreduce_nccl/ranks:2/bytes:1024/iterations:1/manual_time",
                     {{"error_occurred", true}, {"error_message", "skipped: no NCCL"}}));
  const pa::Report report = pa::parse_report({{"context", json::object()}, {"benchmarks", rows}}, "r.json");
  const auto fits = pa::fit_report_sweep(report, "gloo");
  ASSERT_EQ(fits.size(), 2u);
  EXPECT_NEAR(fits.at(2).alpha_s, 50e-6, 1e-12);
  EXPECT_NEAR(fits.at(4).alpha_s, 80e-6, 1e-12);
  EXPECT_NEAR(fits.at(4).bandwidth_bytes_per_s / 2e9, 1, 1e-9);
  EXPECT_EQ(pa::nearest_fit(fits, 2).ranks, 2);
  EXPECT_EQ(pa::nearest_fit(fits, 3).ranks, 4);  // a tie goes to the larger
  EXPECT_EQ(pa::nearest_fit(fits, 256).ranks, 4);
  try {
    pa::fit_report_sweep(report, "nccl");
    FAIL() << "a report without an nccl sweep was accepted";
  } catch (const pa::ReportError& error) {
    EXPECT_STREQ(error.what(),
                 "'r.json' has no all-reduce sweep (allreduce_nccl/ranks:R/bytes:B rows at 2 or more sizes): run bench_ddp "
                 "with --allreduce-bytes");
  }
}

TEST(ScalingModelReport, PredictsEachSynchronisedPointAndJudgesOnlyStableOnes) {
  json rows = sweep(2, 50e-6, 1e9);
  const auto step = [](double ms) { return json{{"step_ms", ms}}; };
  rows.push_back(run(ddp("linear", 1, 1, "none", 25600), step(0.05)));
  rows.push_back(run(ddp("linear", 2, 1, "none", 25600), step(0.06)));
  rows.push_back(run(ddp("linear", 2, 1, "after_backward", 25600), step(0.15), 10.0, 0));  // two runs 2% apart: stable
  rows.push_back(run(ddp("linear", 2, 1, "after_backward", 25600), step(0.15), 10.2, 1));
  rows.push_back(run(ddp("linear", 2, 1, "overlapped", 4096), step(0.30), 10.0, 0));  // 40% apart: noisy
  rows.push_back(run(ddp("linear", 2, 1, "overlapped", 4096), step(0.30), 14.0, 1));
  rows.push_back(run(ddp("linear", 4, 1, "overlapped", 25600), step(0.40)));  // 4 ranks on 2 cores
  rows.push_back(run(ddp("mlp", 2, 1, "after_backward", 25600), step(0.2)));  // no 1-rank mlp row: not checked
  const pa::Report report = pa::parse_report({{"context", json::object()}, {"benchmarks", rows}}, "r.json");
  const auto fits = pa::fit_report_sweep(report, "gloo");
  const auto points = pa::ddp_points(report, "ddp_cpu");
  ASSERT_NE(pa::compute_point(points, "linear", 1), nullptr);
  EXPECT_EQ(pa::compute_point(points, "mlp", 1), nullptr);
  const std::map<std::string, pa::Gradients> params = {{"linear", pa::gradients_at_steady_rate({8, 80})},
                                                       {"mlp", pa::gradients_at_steady_rate({8, 20, 40, 200})}};
  const auto check = pa::check_against_report(points, fits, params, 2.0 / 3.0, 2);
  ASSERT_EQ(check.size(), 3u);
  EXPECT_EQ(check[0].point.sync, pa::kSyncAfterBackward);  // read from the word in the name
  EXPECT_EQ(check[1].point.sync, pa::kSyncOverlapped);
  // 0.05 ms compute + one 88-byte bucket: 2 x 50 us + 88 ns (88 B is below the swept sizes: the fit).
  EXPECT_TRUE(check[0].interpolated);
  EXPECT_NEAR(check[0].predicted_s, 0.05e-3 + 100e-6 + 88e-9, 1e-12);
  EXPECT_NEAR(check[0].error, (0.150088 - 0.15) / 0.15, 1e-9);
  EXPECT_NEAR(check[0].local_predicted_s, 0.06e-3 + 100e-6 + 88e-9, 1e-12);
  EXPECT_TRUE(check[0].counted);
  EXPECT_EQ(check[0].note, "stable: cv 1.4% over 2 runs");
  EXPECT_FALSE(check[1].counted);
  EXPECT_EQ(check[1].note, "noisy: cv 23.6% over 2 runs");
  EXPECT_FALSE(check[2].counted);
  EXPECT_EQ(check[2].note, "oversubscribed: 4 ranks x 1 thread(s) on 2 cores");
  EXPECT_EQ(check[2].fit_ranks, 2);
  EXPECT_FALSE(check[2].interpolated);  // 4 ranks, no 4-rank sweep: the ring on the 2-rank fit's link
  EXPECT_LT(check[2].local_predicted_s, 0);  // no 4-rank no-sync row
  // Unknown cores: nothing is oversubscribed.
  EXPECT_TRUE(pa::check_against_report(points, fits, params, 2.0 / 3.0, 0)[2].counted);
}

TEST(ScalingModelOutput, TablesAndNumbers) {
  const pa::Table table{{"a", "long header"}, {{"xyz", "1"}, {"x", "22"}}};
  EXPECT_EQ(pa::render_table(table, false), "a    long header\nxyz  1\nx    22\n");
  EXPECT_EQ(pa::render_table(table, true), "| a | long header |\n|---|---|\n| xyz | 1 |\n| x | 22 |\n");
  EXPECT_EQ(pa::format_ms(0.0000345), "0.0345 ms");
  EXPECT_EQ(pa::format_ms(0.19953), "199.5 ms");
  EXPECT_EQ(pa::format_ms(12.3456), "12346 ms");
  EXPECT_EQ(pa::format_signed_percent(0.0553), "+5.5%");
  EXPECT_EQ(pa::format_signed_percent(-0.5), "-50.0%");
}

}  // namespace
