// Benchmark family 1 (source 000): CPU training throughput over DataLoader workers x intra-op
// threads x model x per-sample loading cost x prefetch depth, with the final loss, held-out
// accuracy and a no-lost-samples check next to every figure.
#include <benchmark/benchmark.h>

#include <map>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "common/data.h"
#include "common/train.h"

namespace {

// Training samples per epoch (one benchmark iteration = one epoch): the source's 1,000 for the
// small models; fewer for the CNN, whose epoch is ~1,000x more work per sample.
constexpr int64_t kSmallModelSamples = 1000;
constexpr int64_t kCnnSamples = 128;
constexpr int64_t kValSamples = 512;
constexpr int64_t kBatchSize = 32;
// The "deep" prefetch value swept against libtorch's default (0 = 2 per worker).
constexpr int64_t kDeepPrefetch = 32;

struct Settings {
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<int64_t> workers{0, 1, 2, 4};
  std::vector<int64_t> threads;
  std::vector<int64_t> load_us{0, 50};
  std::vector<int64_t> prefetch{0, kDeepPrefetch};
  int64_t batch_size = kBatchSize;
  int64_t cnn_samples = kCnnSamples;
};

Settings& settings() {
  static Settings s;
  return s;
}

// Data is made once per model and shared by every point of the sweep.
const pb::DataSplit& data_for(pb::ModelKind kind, int64_t train_size) {
  static std::map<std::pair<pb::ModelKind, int64_t>, pb::DataSplit> cache;
  auto it = cache.find({kind, train_size});
  if (it == cache.end()) it = cache.emplace(std::make_pair(kind, train_size), pb::make_synthetic_split(kind, train_size, kValSamples, 0)).first;
  return it->second;
}

void train_epochs(benchmark::State& state, pb::ModelKind kind) {
  const int64_t workers = state.range(0), threads = state.range(1), load_us = state.range(2), prefetch = state.range(3);
  const int64_t train_size = kind == pb::ModelKind::kCnn ? settings().cnn_samples : kSmallModelSamples;
  const pb::DataSplit& data = data_for(kind, train_size);
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  pb::Trainer trainer(kind, data.train, {settings().batch_size, workers, prefetch}, static_cast<double>(load_us));
  trainer.run_epoch();  // warm-up: thread start-up, first touches of memory
  int64_t samples = 0;
  pb::EpochResult last;
  for (auto _ : state) {
    last = trainer.run_epoch();
    if (!last.complete) {
      state.SkipWithError("lost or duplicated samples: an epoch did not see every sample exactly once");
      break;
    }
    samples += last.samples;
  }
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["final_loss"] = last.mean_loss;
  state.counters["val_accuracy"] = pb::evaluate(trainer.model(), kind, data.val).accuracy;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) s.cnn_samples = std::min<int64_t>(s.cnn_samples, 32);
  for (const std::string& name : s.models) {
    const pb::ModelKind kind = pb::parse_model_kind(name);
    auto* bench = benchmark::RegisterBenchmark(("cpu_training/" + name).c_str(), train_epochs, kind);
    bench->ArgNames({"workers", "threads", "load_us", "prefetch"})->UseRealTime()->Unit(benchmark::kMillisecond);
    for (int64_t threads : s.threads)
      for (int64_t load_us : s.load_us)
        for (int64_t workers : s.workers)
          for (int64_t prefetch : s.prefetch) {
            if (workers == 0 && prefetch != s.prefetch.front()) continue;  // no queue without workers
            bench->Args({workers, threads, load_us, workers == 0 ? 0 : prefetch});
          }
    if (options.quick) bench->Iterations(2);
  }
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
        .option("prefetch", &s.prefetch, "batches requested ahead (0 = libtorch default, 2 per worker)", 0, 4096)
        .option("batch-size", &s.batch_size, "samples per batch", 1, 65536)
        .option("cnn-samples", &s.cnn_samples, "training samples per cnn epoch", 1, 1'000'000)
        .validate([&s] {
          for (const std::string& m : s.models) {
            try {
              pb::parse_model_kind(m);
            } catch (const std::invalid_argument& e) {
              throw pb::CliError(std::string("--models: ") + e.what());
            }
          }
        });
  };
  suite.register_benchmarks = register_benchmarks;
  return pb::bench::run_suite(argc, argv, suite);
}
