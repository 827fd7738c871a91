// Tutorial 1, step 3 (source 000, "set up multi-CPU training"): the set-up the source says is not
// needed. libtorch uses a CPU in two ways, and both have knobs:
//   - intra-op threads: one operator (a matmul, a convolution) split across cores,
//     torch::set_num_threads(n); the default may be 1 (it was on a 2-core Debian machine);
//   - DataLoader workers: threads that prepare batches while the training thread trains.
// Together they must not ask for more cores than exist (oversubscription), or they slow each other.
// It starts from step 2's model on step 1's data (tutorials/1_multi_cpu/story.h) and ends with the
// two settings the story carries into step 4.
#include <algorithm>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/1_multi_cpu/story.h"

// Side of the square matrices multiplied to show intra-op scaling: big enough to split well.
constexpr int64_t kMatrixSize = 1024;
// Repeats per timing; the best is kept, so one descheduled run does not count.
constexpr int kRepeats = 3;

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
  int64_t matrix = kMatrixSize;
  series1::Settings s;
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  int64_t max_threads = cores;
  pb::Cli cli("tutorial_1_step3_set_up_threads", "Step 3: intra-op threads, loader worker threads, oversubscription.");
  cli.option("matrix", &matrix, "matrix side for the intra-op demonstration", 16, 8192)
      .option("max-threads", &max_threads, "largest intra-op thread count tried", 1, 1024)
      .option("train-samples", &s.train_samples, "samples per epoch in step 3b", 1, 10'000'000);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(2);
  series1::announce_flags(s);

  // ---- Step 3a: intra-op threads -------------------------------------------------------------
  std::cout << "\n== Step 3a: intra-op threads ==\n";
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
            << "intra-op threads only add synchronisation (see step 7)\n";

  // ---- Step 3b: DataLoader worker threads ----------------------------------------------------
  std::cout << "\n== Step 3b: DataLoader worker threads ==\n";
  // One epoch of step 2's model on step 1's data, the way step 4 will train it, per worker count.
  const pb::DataSplit data = series1::step1_data(s);
  double fastest = 0;
  int64_t fastest_workers = 0;
  for (int64_t workers : {0, 1, 2}) {
    series1::Settings run = s;
    run.workers = workers;
    series1::Training training = series1::start_training(run, data, series1::loader_options(run));
    series1::train_epoch(training);  // warm-up: first touches, thread start-up
    const double seconds = best_seconds([&] { series1::train_epoch(training); });
    const double rate = static_cast<double>(s.train_samples) / seconds;
    if (rate > fastest) {
      fastest = rate;
      fastest_workers = workers;
    }
    std::cout << "  " << workers << " worker(s): " << static_cast<int64_t>(rate) << " samples/s\n";
  }
  std::cout << "workers hand batches to the training thread through a queue: worth it only when\n"
            << "preparing a batch costs more than handing it over (decoding, augmenting; see step 7)\n";

  // ---- Step 3c: oversubscription -------------------------------------------------------------
  std::cout << "\n== Step 3c: oversubscription ==\n";
  std::cout << "busy threads = workers + intra-op threads of the training thread; keep it <= cores ("
            << cores << " here)\n";
  std::cout << "at::get_parallel_info():\n" << at::get_parallel_info();

  // ---- Step 3d: the settings step 4 starts from ----------------------------------------------
  std::cout << "\n== Step 3d: the settings step 4 starts from ==\n";
  std::cout << "carried into step 4: " << series1::kWorkers << " loader workers, " << series1::kThreads
            << " intra-op thread (series1::kWorkers, series1::kThreads in story.h)\n"
            << "  " << series1::kThreads << " thread: Linear(10, 2) on " << s.batch_size
            << " rows is too small to split (3a)\n"
            << "  " << series1::kWorkers << " workers: a cheap in-memory batch costs less to gather than to hand over;"
            << " 3b measured " << fastest_workers << " worker(s) fastest just now\n"
            << "  the source asks for 4 workers; step 7 measures which setting is best on this machine\n";
  return 0;
}
