// Tutorial 1, step 3 (source 000, "set up multi-CPU training"): the set-up the source says is not
// needed. libtorch uses a CPU in two ways, and both have knobs:
//   - intra-op threads: one operator (a matmul, a convolution) split across cores,
//     torch::set_num_threads(n); the default may be 1 (it was on a 2-core Debian machine);
//   - DataLoader workers: threads that prepare batches while the training thread trains.
// Together they must not ask for more cores than exist (oversubscription), or they slow each other.
#include <algorithm>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"

// Side of the square matrices multiplied to show intra-op scaling: big enough to split well.
constexpr int64_t kMatrixSize = 1024;
// Repeats per timing; the best is kept, so one descheduled run does not count.
constexpr int kRepeats = 3;
// Training samples per epoch in step 3b (the source's 1,000).
constexpr int64_t kTrainSamples = 1000;

namespace {

// Best-of-kRepeats seconds for fn().
template <typename Fn>
double best_seconds(Fn&& fn) {
  double best = 1e300;
  for (int i = 0; i < kRepeats; ++i) {
    pb::Timer timer;
    fn();
    best = std::min(best, timer.seconds());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t matrix = kMatrixSize, train_samples = kTrainSamples;
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  int64_t max_threads = cores;
  pb::Cli cli("tutorial_1_step3_set_up_threads", "Step 3: intra-op threads, loader worker threads, oversubscription.");
  cli.option("matrix", &matrix, "matrix side for the intra-op demonstration", 16, 8192)
      .option("max-threads", &max_threads, "largest intra-op thread count tried", 1, 1024)
      .option("train-samples", &train_samples, "samples per epoch in step 3b", 1, 10'000'000);
  pb::parse_or_exit(cli, argc, argv);

  // ---- Step 3a: intra-op threads -------------------------------------------------------------
  std::cout << "== Step 3a: intra-op threads ==\n";
  std::cout << "cores: " << cores << ", torch::get_num_threads() by default: " << torch::get_num_threads() << "\n";
  torch::Tensor a = torch::randn({matrix, matrix}), b = torch::randn({matrix, matrix});
  double one_thread = 0, speedup = 1;
  int64_t most_threads = 1;
  for (int64_t threads = 1; threads <= max_threads; threads *= 2) {
    torch::set_num_threads(static_cast<int>(threads));
    const double seconds = best_seconds([&] { torch::mm(a, b); });
    if (threads == 1) one_thread = seconds;
    speedup = one_thread / seconds;
    most_threads = threads;
    std::cout << "  " << threads << " thread(s): " << matrix << "x" << matrix << " matmul " << seconds * 1e3
              << " ms, speed-up " << speedup << "x\n";
  }
  // What the timings say, read from them: a 1024x1024 matmul splits across idle cores (about 1.9x
  // on 2 of them), so little gain at that size means the other cores were busy.
  if (most_threads > 1) {
    std::cout << most_threads << " threads ran it " << speedup << "x as fast as 1: "
              << (speedup >= 1.2     ? "an operator this large splits across cores"
                  : matrix < kMatrixSize ? "little or no gain: an operator this small does not split well"
                                         : "little or no gain: the other cores were likely busy with other work")
              << "\n";
  }
  std::cout << "the 000 model's Linear(10,2) on 32 rows is far too small to split, so for it extra\n"
            << "intra-op threads only add synchronisation (see step 6)\n";

  // ---- Step 3b: DataLoader worker threads ----------------------------------------------------
  std::cout << "\n== Step 3b: DataLoader worker threads ==\n";
  torch::set_num_threads(1);
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, train_samples, 1, 0);
  for (int64_t workers : {0, 1, 2}) {
    torch::manual_seed(0);
    pb::Trainer trainer(pb::ModelKind::kLinear, split.train, {32, workers, /*prefetch=*/0}, /*load_cost_us=*/0);
    trainer.run_epoch();  // warm-up: first touches, thread start-up
    const double seconds = best_seconds([&] { trainer.run_epoch(); });
    std::cout << "  " << workers << " worker(s): " << static_cast<int64_t>(train_samples / seconds)
              << " samples/s\n";
  }
  std::cout << "workers hand batches to the training thread through a queue: worth it only when\n"
            << "preparing a batch costs more than handing it over (decoding, augmenting; see step 6)\n";

  // ---- Step 3c: oversubscription -------------------------------------------------------------
  std::cout << "\n== Step 3c: oversubscription ==\n";
  std::cout << "busy threads = workers + intra-op threads of the training thread; keep it <= cores ("
            << cores << " here)\n";
  std::cout << "at::get_parallel_info():\n" << at::get_parallel_info();
  return 0;
}
