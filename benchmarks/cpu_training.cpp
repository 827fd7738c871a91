// Benchmark family 1 (source 000): CPU training throughput over DataLoader workers x intra-op
// threads x model x per-sample loading cost x loader settings, with the final loss, held-out
// accuracy and a no-lost-samples check next to every figure.
#include <benchmark/benchmark.h>

#include <map>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/point.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"

namespace {

// Training samples per epoch (one benchmark iteration = one epoch). For the small models 8x the
// source's 1,000: every epoch starts with the loader's pipeline empty (the training thread waits
// for the first batch), and at 1,000 samples that one wait per 0.7 ms epoch is a visible share
// of a figure meant to show the steady state (tutorial 1 step 7 keeps 1,000 and shows it). The
// CNN's epoch is ~1,000x more work per sample, so it needs fewer.
constexpr int64_t kSmallModelSamples = 8192;
constexpr int64_t kCnnSamples = 128;
constexpr int64_t kValSamples = 512;
constexpr int64_t kBatchSize = 32;
// The source 000's epoch and its loader worker counts (0, and the 4 it recommends).
constexpr int64_t kSourceSamples = 1000;
const std::vector<int64_t> kSourceWorkers = {0, 4};
// Batches requested ahead by the "deep" loader presets: a whole 8,192-sample epoch of batches of
// 32 is requested at its start, so the training thread never has to wake a worker.
constexpr int64_t kDeepPrefetch = 256;

// One point of the sweep, declared once: it names the run, sets up the loader and builds the
// Python peer's job, so nothing reads a run name back into arguments.
struct CpuPoint {
  // The source 000 workflow exactly (source_000/linear/workers:W): 1,000 samples per epoch, batch
  // 32, libtorch's default loader, one intra-op thread. The Python peer's ratio here is the one
  // the source's reader would see (its 4 worker processes start anew every epoch, which 1,000
  // samples cannot amortise).
  bool source_000;
  pb::ModelKind model;
  int64_t workers, threads, load_us;
  std::string loader;  // a loader preset (pb::loader_presets); "default" without workers
  int64_t prefetch;    // batches requested ahead by a deep preset; 0 = libtorch's 2 per worker
  int64_t batch_size, train_samples;
  // "cpu_training/linear/workers:4/threads:1/load_us:0/loader:deep-nice/prefetch:256": the
  // preset by its name, and the depth of a deep preset's prefetch, a quantity; and
  // "source_000/linear/workers:4".
  std::string name() const {
    if (source_000) return pb::bench::run_name("source_000/" + pb::model_name(model), {{"workers", std::to_string(workers)}});
    std::vector<pb::bench::NamePart> parts = {{"workers", std::to_string(workers)},
                                              {"threads", std::to_string(threads)},
                                              {"load_us", std::to_string(load_us)},
                                              {"loader", loader}};
    if (prefetch > 0) parts.emplace_back("prefetch", std::to_string(prefetch));
    return pb::bench::run_name("cpu_training/" + pb::model_name(model), parts);
  }
  pb::LoaderOptions loader_options() const {
    if (workers == 0) return {batch_size, 0, 0, true, 0};  // no workers, no queue: nothing to set
    return pb::loader_options(pb::find_loader_preset(loader), batch_size, workers, prefetch);
  }
};

// What pb_report draws and compares for these points (report_spec.h): samples/s against loader
// workers (one chart per model and loading cost, a line per preset) and against intra-op threads,
// where an epoch's time goes, and the best setting per model and loading cost (a cost is the
// workload, not a choice) against the plain loop: no workers, one thread, the default loader.
pb::schema::ReportSpec report_spec() {
  pb::schema::ReportSpec spec;
  spec.charts = {
      {"cpu_training", "workers", "loader worker threads", {"load_us"}, {"loader"}, {{"threads", 1}}, true},
      {"cpu_training", "threads", "intra-op threads", {}, {"load_us"}, {{"workers", 0}}, true},
  };
  spec.phase_charts = {{"cpu_training", {"load_us"}, "epoch"}, {"source_000", {}, "epoch"}};
  spec.best = {
      {"cpu_training", {{"load_us", ", {} µs loading per sample"}}, {{"workers", "0"}, {"threads", "1"}, {"loader", "default"}}, {}, ""},
      {"source_000", {}, {{"workers", "0"}}, {}, ""},
  };
  return spec;
}

struct Settings {
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<int64_t> workers{0, 1, 2, 4};
  std::vector<int64_t> threads;  // 1, 2, 4, ... up to the core count (at most 8), set in main
  std::vector<int64_t> load_us{0, 50};
  std::vector<std::string> loaders{"default", "deep", "deep-nice"};
  int64_t prefetch = kDeepPrefetch;
  int64_t batch_size = kBatchSize;
  int64_t train_samples = kSmallModelSamples;
  int64_t cnn_samples = kCnnSamples;
  std::vector<CpuPoint> points;  // the sweep, built once from the lists (register_benchmarks)
};

Settings& settings() {
  static Settings s;
  return s;
}

// Data made once per model and shared by every point of the sweep, with the seconds making it took.
struct TimedSplit {
  pb::DataSplit split;
  double seconds = 0;
};

const TimedSplit& data_for(pb::ModelKind kind, int64_t train_size) {
  static std::map<std::pair<pb::ModelKind, int64_t>, TimedSplit> cache;
  auto it = cache.find({kind, train_size});
  if (it == cache.end()) {
    pb::PhaseClock clock;
    pb::DataSplit split = pb::make_synthetic_split(kind, train_size, kValSamples, 0);
    clock.lap(pb::Phase::kData);
    it = cache.emplace(std::make_pair(kind, train_size), TimedSplit{std::move(split), clock.times()[pb::Phase::kData]}).first;
  }
  return it->second;
}

// The phases of one epoch (pb::Trainer::run_epoch times them), recorded per point as
// phase_<name>_s: seconds per epoch, averaged over the timed epochs. Plain values, not rates.
constexpr pb::Phase kEpochPhases[] = {pb::Phase::kLoad, pb::Phase::kForward, pb::Phase::kBackward, pb::Phase::kOptimizer};
// The phases a point goes through once, recorded as once_<name>_s: seconds, not per epoch.
constexpr pb::Phase kOncePhases[] = {pb::Phase::kData, pb::Phase::kModel, pb::Phase::kValidation};

// Times whole epochs of `train_size` samples after a warm-up epoch; records the rate, where the
// time went, and the correctness counters (and fails the point if an epoch lost or duplicated a
// sample).
void measure_epochs(benchmark::State& state, pb::ModelKind kind, int64_t train_size, const pb::LoaderOptions& loader,
                    int64_t threads, int64_t load_us) {
  const TimedSplit& data = data_for(kind, train_size);
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  if (load_us > 0) pb::load_cost_iterations_per_us();  // calibrated once per process, not in a point's model time
  pb::PhaseClock once;  // data (made earlier, its time carried over), model, validation
  pb::Trainer trainer(kind, data.split.train, loader, static_cast<double>(load_us));
  once.lap(pb::Phase::kModel);  // the model, its optimizer, the loader and its worker threads
  trainer.run_epoch();  // warm-up: thread start-up, first touches of memory
  int64_t samples = 0;
  pb::EpochResult last;
  pb::PhaseTimes epochs;  // summed over the timed epochs
  for (auto _ : state) {
    last = trainer.run_epoch();
    if (!last.complete) {
      pb::bench::skip_point(state, "lost or duplicated samples: an epoch did not see every sample exactly once");
      break;
    }
    samples += last.samples;
    epochs += last.phases;
  }
  once.restart();
  const double accuracy = pb::evaluate(trainer.model(), kind, data.split.val).accuracy;
  once.lap(pb::Phase::kValidation);
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["final_loss"] = last.mean_loss;
  state.counters["val_accuracy"] = accuracy;
  const double iterations = static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
  for (pb::Phase p : kEpochPhases) state.counters[std::string("phase_") + pb::phase_name(p) + "_s"] = epochs[p] / iterations;
  pb::PhaseTimes once_times = once.times();
  once_times[pb::Phase::kData] = data.seconds;
  for (pb::Phase p : kOncePhases) state.counters[std::string("once_") + pb::phase_name(p) + "_s"] = once_times[p];
}

void train_epochs(benchmark::State& state, const CpuPoint point) {
  measure_epochs(state, point.model, point.train_samples, point.loader_options(), point.threads, point.load_us);
}

// Every point of the sweep, in the order it runs: the one place that declares them.
std::vector<CpuPoint> points(const Settings& s) {
  std::vector<CpuPoint> out;
  for (const std::string& name : s.models) {
    const pb::ModelKind model = pb::parse_model_kind(name);
    const int64_t samples = model == pb::ModelKind::kCnn ? s.cnn_samples : s.train_samples;
    for (int64_t threads : s.threads)
      for (int64_t load_us : s.load_us)
        for (int64_t workers : s.workers)
          for (const std::string& loader : s.loaders) {
            if (workers == 0) {  // no workers, no queue: one point, whatever the presets
              if (loader == s.loaders.front()) out.push_back({false, model, 0, threads, load_us, "default", 0, s.batch_size, samples});
              continue;
            }
            const pb::LoaderOptions o = pb::loader_options(pb::find_loader_preset(loader), s.batch_size, workers, s.prefetch);
            out.push_back({false, model, workers, threads, load_us, loader, o.prefetch, s.batch_size, samples});
          }
  }
  if (std::find(s.models.begin(), s.models.end(), "linear") != s.models.end()) {
    for (int64_t workers : kSourceWorkers) {
      out.push_back({true, pb::ModelKind::kLinear, workers, 1, 0, "default", 0, kBatchSize, kSourceSamples});
    }
  }
  return out;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) {
    s.cnn_samples = std::min<int64_t>(s.cnn_samples, 32);
    s.train_samples = std::min<int64_t>(s.train_samples, 1000);
  }
  s.points = points(s);
  for (const CpuPoint& point : s.points) {
    auto* bench = benchmark::RegisterBenchmark(point.name().c_str(), train_epochs, point);
    bench->UseRealTime()->Unit(benchmark::kMillisecond);
    if (options.quick) bench->Iterations(2);
  }
}

// The Python peer mirrors the source's own loader: libtorch's defaults (2 batches ahead per
// worker, in order, normal priority) match torch.utils.data.DataLoader's, without loading cost.
// Each row is matched to its point, whose fields (not the row's name) make the peer's point.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  const Settings& s = settings();
  nlohmann::json job = {{"workflow", "cpu_training"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string run_name = run->value("run_name", std::string());
    const CpuPoint* point = pb::bench::find_point(s.points, run_name);
    if (point == nullptr || point->load_us != 0 || point->loader != "default") continue;
    job["points"].push_back({{"name", run_name}, {"model", pb::model_name(point->model)}, {"workers", point->workers},
                             {"threads", point->threads}, {"batch_size", point->batch_size},
                             {"train_samples", point->train_samples}, {"val_samples", kValSamples}, {"seed", 0}});
  }
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  for (int64_t t = 1; t <= cores && t <= 8; t *= 2) settings().threads.push_back(t);
  pb::bench::Suite suite;
  suite.program = "bench_cpu_training";
  suite.purpose = "Family 1: CPU training samples/s over loader workers x intra-op threads x model x loading cost.";
  suite.add_options = [](pb::Cli& cli) {
    Settings& s = settings();
    cli.option("models", &s.models, "models to train: linear (000), mlp (001), cnn (002)")
        .option("workers", &s.workers, "DataLoader worker thread counts", 0, 64)
        .option("threads", &s.threads, "intra-op thread counts", 1, 1024)
        .option("load-us", &s.load_us, "simulated loading costs per sample, microseconds", 0, 1'000'000)
        .option("loaders", &s.loaders, "loader presets: default, deep, deep-nice, deep-unordered")
        .option("prefetch", &s.prefetch, "batches requested ahead by the deep presets", 1, 65536)
        .option("batch-size", &s.batch_size, "samples per batch", 1, 65536)
        .option("train-samples", &s.train_samples, "training samples per linear/mlp epoch", 1, 100'000'000)
        .option("cnn-samples", &s.cnn_samples, "training samples per cnn epoch", 1, 1'000'000)
        .validate([&s] {
          pb::bench::check_models(s.models);
          try {
            for (const std::string& l : s.loaders) pb::find_loader_preset(l);
          } catch (const std::invalid_argument& e) {
            throw pb::CliError(e.what());
          }
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  suite.report_spec = report_spec();
  return pb::bench::run_suite(argc, argv, suite);
}
