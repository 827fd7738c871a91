// Benchmark family 1 (source 000): CPU training throughput over DataLoader workers x intra-op
// threads x model x per-sample loading cost x loader settings, with the final loss, held-out
// accuracy and a no-lost-samples check next to every figure.
#include <benchmark/benchmark.h>

#include <map>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"

namespace {

// Training samples per epoch (one benchmark iteration = one epoch). For the small models 8x the
// source's 1,000: every epoch starts with the loader's pipeline empty (the training thread waits
// for the first batch), and at 1,000 samples that one wait per 0.7 ms epoch is a visible share
// of a figure meant to show the steady state (tutorial step 6 keeps 1,000 and shows it). The
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

// Args: workers, threads, load_us, prefetch, ordered, nice (the last three from a loader preset).
void train_epochs(benchmark::State& state, pb::ModelKind kind) {
  const Settings& s = settings();
  const pb::LoaderOptions loader{s.batch_size, state.range(0), state.range(3), state.range(4) != 0, state.range(5)};
  measure_epochs(state, kind, kind == pb::ModelKind::kCnn ? s.cnn_samples : s.train_samples, loader, state.range(1),
                 state.range(2));
}

// The source 000 workflow exactly: 1,000 samples per epoch, batch 32, libtorch's default loader,
// one intra-op thread; args: workers. The Python peer's ratio here is the one the source's reader
// would see (its 4 worker processes start anew every epoch, which 1,000 samples cannot amortise).
void train_source_000(benchmark::State& state) {
  measure_epochs(state, pb::ModelKind::kLinear, kSourceSamples, {kBatchSize, state.range(0), 0, true, 0}, 1, 0);
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) {
    s.cnn_samples = std::min<int64_t>(s.cnn_samples, 32);
    s.train_samples = std::min<int64_t>(s.train_samples, 1000);
  }
  for (const std::string& name : s.models) {
    auto* bench = benchmark::RegisterBenchmark(("cpu_training/" + name).c_str(), train_epochs, pb::parse_model_kind(name));
    bench->ArgNames({"workers", "threads", "load_us", "prefetch", "ordered", "nice"})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    for (int64_t threads : s.threads)
      for (int64_t load_us : s.load_us)
        for (int64_t workers : s.workers)
          for (const std::string& loader : s.loaders) {
            const pb::LoaderOptions o = pb::loader_options(pb::find_loader_preset(loader), s.batch_size, workers, s.prefetch);
            if (workers == 0) {  // no workers, no queue: one point, whatever the presets
              if (loader == s.loaders.front()) bench->Args({0, threads, load_us, 0, 1, 0});
              continue;
            }
            bench->Args({workers, threads, load_us, o.prefetch, o.ordered ? 1 : 0, o.worker_nice});
          }
    if (options.quick) bench->Iterations(2);
  }
  if (std::find(s.models.begin(), s.models.end(), "linear") != s.models.end()) {
    auto* bench = benchmark::RegisterBenchmark("source_000/linear", train_source_000);
    bench->ArgNames({"workers"})->UseRealTime()->Unit(benchmark::kMillisecond);
    for (int64_t workers : kSourceWorkers) bench->Args({workers});
    if (options.quick) bench->Iterations(2);
  }
}

// The Python peer mirrors the source's own loader: libtorch's defaults (2 batches ahead per
// worker, in order, normal priority) match torch.utils.data.DataLoader's, without loading cost.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  const Settings& s = settings();
  nlohmann::json job = {{"workflow", "cpu_training"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string name = (*run)["run_name"];
    auto args = pb::bench::name_args(name);
    if (pb::bench::name_segment(name, 0) == "source_000") {
      job["points"].push_back({{"name", name}, {"model", "linear"}, {"workers", args["workers"]}, {"threads", 1},
                               {"batch_size", kBatchSize}, {"train_samples", kSourceSamples},
                               {"val_samples", kValSamples}, {"seed", 0}});
      continue;
    }
    if (pb::bench::name_segment(name, 0) != "cpu_training" || args["load_us"] != 0 || args["prefetch"] != 0 ||
        args["ordered"] != 1 || args["nice"] != 0) {
      continue;
    }
    const std::string model = pb::bench::name_segment(name, 1);
    job["points"].push_back({{"name", name}, {"model", model}, {"workers", args["workers"]}, {"threads", args["threads"]},
                             {"batch_size", s.batch_size}, {"train_samples", model == "cnn" ? s.cnn_samples : s.train_samples},
                             {"val_samples", kValSamples}, {"seed", 0}});
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
  return pb::bench::run_suite(argc, argv, suite);
}
