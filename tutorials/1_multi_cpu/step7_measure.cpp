// Tutorial 1, step 7 (beyond the source): measure samples/s across loader workers, intra-op
// threads, loader settings and per-sample loading cost on this machine, say what wins and why,
// and end the series training with the settings that won.
//
// The source asks for 4 workers on faith; on a 2-core machine its Python loop ran 20x slower with
// them (13.56k against 272.0k samples/s, results/cpu-2core-debian/cpu_training.json). Whether
// workers help depends on what a sample costs to load, so this step measures both cheap in-memory
// samples and samples with a simulated decode cost. Every point is step 4's recipe on step 1's
// data (tutorials/1_multi_cpu/story.h); only the knobs step 6 showed to matter change.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/1_multi_cpu/story.h"

// Batches requested ahead by the "deep" loader presets: the whole 1,000-sample epoch. libtorch's
// default, 2 per worker, makes the training thread wake a sleeping worker for every batch.
constexpr int64_t kDeepPrefetch = 32;
// Each setting is timed for at least this long, three times, and the best rate is kept.
constexpr double kMinSeconds = 0.2;
constexpr int kRepeats = 3;
// A batch that costs this long to load (microseconds) costs far more than a hand-over between
// threads, so loader workers should pay for it when cores are free.
constexpr double kCostlyBatchUs = 100;
// Loading cost per sample in the second sweep (7b), microseconds: a batch of 32 then costs 1.6 ms.
constexpr double kCostlyLoadUs = 50;

namespace {

// The loader presets compared for every worker count (LoaderPreset in common/data.h): libtorch's
// defaults; a deep prefetch; a deep prefetch with workers at low priority (nice 19).
const char* const kPresets[] = {"default", "deep", "deep-nice"};

struct Point {
  int64_t workers, threads;
  std::string loader;  // "-" without workers
  const pb::LoaderPreset* preset;
  double samples_per_s, loss;
  bool complete;
  double accuracy;  // on the held-out split, after the last timed epoch
};

// Trains step 4's run (s, with these workers and threads) on `split` and measures its best rate.
Point measure(series1::Settings s, const pb::DataSplit& split, int64_t workers, int64_t threads,
              const pb::LoaderPreset& preset, int64_t prefetch, double min_seconds) {
  s.workers = workers;
  s.threads = threads;
  series1::Training training =
      series1::start_training(s, split, pb::loader_options(preset, s.batch_size, workers, prefetch));
  pb::EpochResult last = series1::train_epoch(training);  // warm-up
  bool complete = last.complete;
  double best = 0;
  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    pb::Timer timer;
    int64_t samples = 0;
    do {
      last = series1::train_epoch(training);
      complete = complete && last.complete;
      samples += last.samples;
    } while (timer.seconds() < min_seconds);
    best = std::max(best, static_cast<double>(samples) / timer.seconds());
  }
  torch::nn::AnyModule model(training.model);
  const double accuracy = pb::evaluate(model, pb::ModelKind::kLinear, split.val).accuracy;
  return {workers, threads, workers == 0 ? "-" : preset.name, &preset, best, last.mean_loss, complete, accuracy};
}

// The fastest of the points that keep(point) accepts; nullptr if none.
template <typename Keep>
const Point* fastest(const std::vector<Point>& points, Keep keep) {
  const Point* best = nullptr;
  for (const Point& p : points) {
    if (keep(p) && (best == nullptr || p.samples_per_s > best->samples_per_s)) best = &p;
  }
  return best;
}

// Says why the sweep came out as it did, reading it from the measurements: did loader workers pay
// against none, did a deep prefetch pay against libtorch's default (both at the fewest intra-op
// threads), did more intra-op threads pay? Within 10% counts as a tie: runs on a busy machine vary.
// load_us is what one sample costs to load; handing a batch between threads costs a few us.
void explain(const std::vector<Point>& points, int64_t cores, double load_us, int64_t batch_size) {
  const int64_t fewest = std::min_element(points.begin(), points.end(), [](const Point& a, const Point& b) {
                           return a.threads < b.threads;
                         })->threads;
  const auto verdict = [](double ratio, const char* paid, const char* tie, const char* lost) {
    return ratio >= 1.1 ? paid : ratio > 1 / 1.1 ? tie : lost;
  };
  std::cout << std::fixed << std::setprecision(2);
  const Point* none = fastest(points, [&](const Point& p) { return p.workers == 0 && p.threads == fewest; });
  const Point* workers = fastest(points, [&](const Point& p) { return p.workers > 0 && p.threads == fewest; });
  if (none != nullptr && workers != nullptr) {
    const double ratio = workers->samples_per_s / none->samples_per_s;
    std::cout << "workers: the best (" << workers->workers << ", " << workers->loader << ") ran " << ratio
              << "x as fast as none:\n  ";
    if (load_us * static_cast<double>(batch_size) >= kCostlyBatchUs) {
      std::cout << "loading a batch takes " << load_us * static_cast<double>(batch_size) / 1e3 << " ms, far more than handing it over; "
                << (ratio >= 1.1 ? "workers load batches in parallel while the training thread trains"
                                 : "they did not pay: the cores they need were likely busy with other work")
                << "\n";
    } else {
      std::cout << verdict(ratio, "handing a batch between threads cost less than gathering it here",
                           "a tie: gathering a batch costs about as much as handing it between threads",
                           "gathering a batch costs less than handing it between threads")
                << "\n";
    }
  }
  const Point* by_default = fastest(points, [&](const Point& p) {
    return p.workers > 0 && p.threads == fewest && p.loader == kPresets[0];
  });
  const Point* deep = fastest(points, [&](const Point& p) {
    return p.workers > 0 && p.threads == fewest && p.loader != kPresets[0];
  });
  if (by_default != nullptr && deep != nullptr) {
    const double ratio = deep->samples_per_s / by_default->samples_per_s;
    std::cout << "prefetch: the best deep loader (" << deep->loader << ") ran " << ratio << "x as fast as libtorch's default:\n  "
              << verdict(ratio, "the training thread no longer wakes a sleeping worker for every batch",
                         "a tie: waking workers is not what limits these runs", "the default's shallow queue did better here")
              << "\n";
  }
  const Point* few = fastest(points, [&](const Point& p) { return p.threads == fewest; });
  const Point* more = fastest(points, [&](const Point& p) { return p.threads > fewest; });
  if (few != nullptr && more != nullptr) {
    const double ratio = more->samples_per_s / few->samples_per_s;
    std::cout << "intra-op threads: the best with " << more->threads << " ran " << ratio << "x as fast as the best with "
              << fewest << ":\n  "
              << (ratio >= 1.1 ? std::string("they paid: the step's operators were large enough to split")
                               : "no gain: Linear(10,2) is too small to split, and busy threads beyond the " +
                                     std::to_string(cores) + " cores take turns")
              << "\n";
  }
  std::cout << std::defaultfloat;
}

// Says why step 7c trains with `best`, the fastest point of the cheap sweep, from that sweep's
// numbers: against step 3's settings and the source's 4 workers, and what the winner tells.
void explain_best(const std::vector<Point>& points, const Point& best) {
  const Point* step3 = fastest(points, [](const Point& p) {
    return p.workers == series1::kWorkers && p.threads == series1::kThreads;
  });
  const Point* source = fastest(points, [](const Point& p) {
    return p.workers == series1::kSourceWorkers && p.threads == 1 && p.loader == kPresets[0];
  });
  std::cout << std::fixed << std::setprecision(2) << "why: " << best.workers << " workers (" << best.loader << "), "
            << best.threads << " intra-op thread(s): the fastest of the " << points.size() << " settings in 7a";
  if (source != nullptr && source != &best) std::cout << ", " << best.samples_per_s / source->samples_per_s << "x the source's 4 workers";
  const double vs_step3 = step3 == nullptr ? 1 : best.samples_per_s / step3->samples_per_s;
  if (step3 != nullptr && step3 != &best) std::cout << ", " << vs_step3 << "x step 3's 0 workers, 1 thread";
  std::cout << "\n  "
            << (step3 != &best && vs_step3 < 1.1 ? "within 10% of step 3's settings: on a busy machine either can win a run"
                : best.workers == 0 ? "no workers: gathering a cheap in-memory batch costs less than a hand-over between threads"
                                    : "workers: handing batches over cost less than gathering them on the training thread")
            << "; " << (best.threads == 1 ? "1 thread: Linear(10, 2) is too small to split across cores"
                                          : "more threads: the operators split well enough to pay")
            << "\n" << std::defaultfloat;
}

}  // namespace

int main(int argc, char** argv) {
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int64_t> workers_list{0, 1, 2, series1::kSourceWorkers}, threads_list{1};
  for (int64_t t = 2; t <= cores && t <= 8; t *= 2) threads_list.push_back(t);
  series1::Settings s;
  int64_t prefetch = kDeepPrefetch;
  double load_us = kCostlyLoadUs, min_seconds = kMinSeconds;
  pb::Cli cli("tutorial_1_step7_measure", "Step 7: measure loader workers x intra-op threads x loading cost; train with the best.");
  cli.option("workers", &workers_list, "loader worker counts", 0, 64)
      .option("threads", &threads_list, "intra-op thread counts", 1, 1024)
      .option("prefetch", &prefetch, "batches requested ahead by the deep loader presets", 1, 4096)
      .option("load-us", &load_us, "simulated loading cost per sample in the second sweep, microseconds", 0, 1e6)
      .option("train-samples", &s.train_samples, "samples per epoch", 1, 10'000'000)
      .option("min-seconds", &min_seconds, "minimum time per measurement", 0, 60);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(6);
  series1::announce_flags(s);
  const pb::DataSplit split = series1::step1_data(s);

  bool all_complete = true;
  int64_t models = 0;
  double lowest_accuracy = 1;
  std::vector<Point> cheap;  // 7a's points: step 7c trains with the fastest
  for (double cost : {0.0, load_us}) {
    // ---- Step 7a / 7b: sweep with cheap samples, then with costly samples --------------------
    series1::Settings run = s;
    if (cost == 0) {
      std::cout << "\n== Step 7a: cheap in-memory samples ==\n";
    } else {
      std::cout << "\n== Step 7b: samples that cost " << cost << " us each to load ==\n";
      run.load_us = cost;
      series1::announce_changes(s, run, "stands in for decoding and augmenting (real CPU work), in this sweep only");
    }
    std::cout << "workers  threads  loader            samples/s  vs 0 workers  final loss\n";
    std::vector<Point> points;
    for (int64_t threads : threads_list) {
      for (int64_t workers : workers_list) {
        for (const char* preset : kPresets) {
          if (workers == 0 && preset != kPresets[0]) continue;  // no queue without workers
          points.push_back(measure(run, split, workers, threads, pb::find_loader_preset(preset), prefetch, min_seconds));
        }
      }
    }
    const double baseline = points.front().samples_per_s;  // 0 workers (or the first count), 1 thread
    for (const Point& p : points) {
      all_complete = all_complete && p.complete;
      lowest_accuracy = std::min(lowest_accuracy, p.accuracy);
      ++models;
      std::cout << std::setw(7) << p.workers << std::setw(9) << p.threads << "  " << std::left << std::setw(16)
                << p.loader << std::right << std::setw(11) << static_cast<int64_t>(p.samples_per_s) << std::setw(13)
                << std::fixed << std::setprecision(2) << p.samples_per_s / baseline << "x" << std::setw(12)
                << std::setprecision(4) << p.loss << (p.complete ? "" : "  SAMPLES LOST") << "\n"
                << std::defaultfloat;
    }
    const Point& best = *fastest(points, [](const Point&) { return true; });
    std::cout << "winner: " << best.workers << " workers (" << best.loader << "), " << best.threads
              << " intra-op thread(s), " << std::fixed << std::setprecision(2) << best.samples_per_s / baseline
              << "x the first row" << std::defaultfloat << "\n";
    explain(points, cores, cost, s.batch_size);
    if (cost == 0) cheap = points;
  }
  std::cout << "\nevery epoch saw every sample exactly once: " << (all_complete ? "yes" : "NO") << "\n";
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * lowest_accuracy
            << "% (chance: 50%), the lowest of the " << models << " models trained above, on " << s.val_samples
            << " samples none of them trained on\n" << std::defaultfloat;

  // ---- Step 7c: train with what was measured best ---------------------------------------------
  std::cout << "\n== Step 7c: train with what was measured best ==\n";
  const Point& best = *fastest(cheap, [](const Point&) { return true; });
  series1::Settings tuned = s;  // in-memory samples, as in 7a
  tuned.workers = best.workers;
  tuned.threads = best.threads;
  if (series1::announce_changes(s, tuned, "the fastest in 7a") == 0) {
    std::cout << "kept from step 3: " << s.workers << " loader workers, " << s.threads << " intra-op thread: the fastest in 7a\n";
  }
  // Step 4's recipe (step 1's data, step 2's model, the series' epochs and learning rate), tuned.
  series1::Training trained = series1::step4_trained(
      tuned, series1::step1_data(tuned), pb::loader_options(*best.preset, tuned.batch_size, tuned.workers, prefetch));
  torch::nn::AnyModule model(trained.model);
  const double accuracy = pb::evaluate(model, pb::ModelKind::kLinear, trained.data.val).accuracy;
  std::cout << "trained " << tuned.epochs << " epochs with " << tuned.workers << " workers (" << best.loader << "), "
            << tuned.threads << " intra-op thread(s): held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy
            << "% (chance: 50%) on " << tuned.val_samples << " samples never trained on\n" << std::defaultfloat;
  explain_best(cheap, best);
  return all_complete ? 0 : 1;
}
