// A toy benchmark family written from docs/benchmarks.md's "Adding a family": squares a vector of
// `size` floats per iteration ("toy/square/size:N"), with a baseline, one derived metric and one
// chart, so that the tests can run a whole family through the harness and pb_report.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/point.h"

namespace {

// Iterations per point with --quick: enough for a rate, far below a millisecond.
constexpr int64_t kQuickIterations = 1000;

// One point of the sweep, declared once: its arguments and its name.
struct ToyPoint {
  int64_t size;  // floats squared per iteration
  std::string name() const { return pb::bench::run_name("toy/square", {{"size", std::to_string(size)}}); }
};

struct Settings {
  std::vector<int64_t> sizes{64, 256, 1024};
  std::vector<ToyPoint> points;  // built once from the lists (register_benchmarks)
};

Settings& settings() {
  static Settings s;
  return s;
}

// Every point, in the order it runs: the one place that declares them.
std::vector<ToyPoint> points(const Settings& s) {
  std::vector<ToyPoint> out;
  for (int64_t size : s.sizes) out.push_back({size});
  return out;
}

// The benchmark: values squared per second. 1 * 1 stays 1, so no value ever becomes a slow denormal.
void square(benchmark::State& state, const ToyPoint point) {
  std::vector<float> values(static_cast<size_t>(point.size), 1.0f);
  for (auto _ : state) {
    for (float& v : values) v *= v;
    benchmark::DoNotOptimize(values.data());
    benchmark::ClobberMemory();
  }
  state.counters["values_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * point.size), benchmark::Counter::kIsRate);
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  s.points = points(s);
  for (const ToyPoint& point : s.points) {
    auto* bench = benchmark::RegisterBenchmark(point.name().c_str(), square, point);
    bench->UseRealTime();
    if (options.quick) bench->Iterations(kQuickIterations);
  }
}

// Derived from the finished run's medians: each size's rate over the smallest size's.
void derive(pb::bench::Derivation& d) {
  const std::vector<ToyPoint>& all = settings().points;
  if (all.empty()) return;
  const ToyPoint base = *std::min_element(all.begin(), all.end(), [](const ToyPoint& a, const ToyPoint& b) { return a.size < b.size; });
  const std::optional<double> base_rate = d.median(base.name(), "values_per_s");
  for (const ToyPoint& p : all) {
    const std::optional<double> rate = d.median(p.name(), "values_per_s");
    if (!rate) continue;  // did not run
    if (!base_rate || *base_rate <= 0) {
      d.missing_baseline(p.name(), "speedup", "its baseline", base.name());
      continue;
    }
    d.set(p.name(), "speedup", *rate / *base_rate);
  }
}

// What pb_report draws and compares: values/s against size (log axis), the best size against the smallest.
pb::schema::ReportSpec report_spec() {
  pb::schema::ReportSpec spec;
  spec.charts = {{"toy", "size", "vector size (floats)", {}, {}, {}, false, true}};
  spec.best = {{"toy", {}, {{"size", pb::schema::kSmallest}}, {}, ""}};
  spec.derived = {"speedup"};
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  pb::bench::Suite suite;
  suite.program = "toy_family";
  suite.purpose = "A toy family: squares vectors of floats (docs/benchmarks.md, Adding a family).";
  suite.add_options = [](pb::Cli& cli) { cli.option("sizes", &settings().sizes, "vector sizes, floats", 1, 1 << 24); };
  suite.register_benchmarks = register_benchmarks;
  suite.derive = derive;
  suite.report_spec = report_spec();
  return pb::bench::run_suite(argc, argv, suite);
}
