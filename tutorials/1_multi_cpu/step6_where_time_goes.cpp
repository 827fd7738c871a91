// Tutorial 1, step 6 (beyond the source): where the time of a training run goes, measured.
//
// The source closes with a pie chart: data preparation 20%, model definition 20%, training 40%,
// validation 20% "of the time". Nothing in it was measured. This step times every phase of the
// source's run with steady_clock laps (common/timer.h: a lap only reads the clock, so timing
// does not slow what it times): making the data, building the model (with its optimizer and
// DataLoader), then inside every epoch loading or waiting for each batch, forward with the loss,
// backward, the optimizer step, and finally validation on the held-out split.
//
// The run is steps 1 to 5 as the story made them (tutorials/1_multi_cpu/story.h): step 1's data,
// step 2's model, step 4's set-up and loop with step 3's settings, validation on the held-out split.
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "common/cli.h"
#include "common/data.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/1_multi_cpu/story.h"

namespace {

// The phases a run of this step has, in order, with the names the table prints.
const std::pair<pb::Phase, const char*> kRows[] = {
    {pb::Phase::kData, "data preparation"}, {pb::Phase::kModel, "model construction"},
    {pb::Phase::kLoad, "loading batches"},  {pb::Phase::kForward, "forward"},
    {pb::Phase::kBackward, "backward"},     {pb::Phase::kOptimizer, "optimizer step"},
    {pb::Phase::kValidation, "validation"},
};

// One run of the source's workflow as the story makes it: step 1's data, step 2's model with
// step 4's SGD and DataLoader, `epochs` epochs of step 4's loop, validation; returns the seconds
// of each phase and, in *accuracy, the held-out accuracy.
pb::PhaseTimes run_once(const series1::Settings& s, double* accuracy) {
  pb::PhaseClock clock;
  pb::DataSplit data = series1::step1_data(s);
  clock.lap(pb::Phase::kData);
  series1::Training training = series1::start_training(s, std::move(data), series1::loader_options(s));
  clock.lap(pb::Phase::kModel);  // the model, SGD, and the DataLoader (its worker threads start here)
  pb::PhaseTimes times = clock.times();
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) times += series1::train_epoch(training).phases;
  pb::PhaseClock validation;
  torch::nn::AnyModule model(training.model);
  *accuracy = pb::evaluate(model, pb::ModelKind::kLinear, training.data.val).accuracy;
  validation.lap(pb::Phase::kValidation);
  times += validation.times();
  return times;
}

// The mean of `runs` runs after one warm-up run (first calls into libtorch, the loading-cost
// calibration, memory first touched), printed as a table of phase, seconds, share.
pb::PhaseTimes measure_and_print(const series1::Settings& s, int64_t runs) {
  double accuracy = 0;
  run_once(s, &accuracy);  // warm-up
  pb::PhaseTimes mean;
  for (int64_t r = 0; r < runs; ++r) mean += run_once(s, &accuracy);
  for (double& seconds : mean.seconds) seconds /= static_cast<double>(runs);
  std::cout << s.train_samples << " samples (+" << s.val_samples << " held out), batch " << s.batch_size << ", "
            << s.epochs << " epochs, " << s.workers << " loader worker(s), " << s.threads << " intra-op thread(s)";
  if (s.load_us > 0) std::cout << ", " << s.load_us << " us to load a sample";
  std::cout << "; mean of " << runs << " run(s) after a warm-up run\n";
  const double total = mean.total();
  std::cout << "phase                   seconds    share\n";
  for (const auto& [phase, name] : kRows) {
    std::cout << std::left << std::setw(20) << name << std::right << std::fixed << std::setprecision(6) << std::setw(11)
              << mean[phase] << std::setprecision(1) << std::setw(8) << 100 * mean[phase] / total << "%\n";
  }
  std::cout << std::left << std::setw(20) << "total" << std::right << std::setprecision(6) << std::setw(11) << total
            << std::setprecision(1) << std::setw(8) << 100.0 << "%\n"
            << std::defaultfloat;
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: 50%)\n"
            << std::defaultfloat;
  return mean;
}

double training(const pb::PhaseTimes& t) {
  return t[pb::Phase::kLoad] + t[pb::Phase::kForward] + t[pb::Phase::kBackward] + t[pb::Phase::kOptimizer];
}

std::string percent(double part, double total) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100 * part / total << "%";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  series1::Settings s;
  int64_t compare_workers = series1::kSourceWorkers, runs = 3;
  pb::Cli cli("tutorial_1_step6_where_time_goes", "Step 6: time every phase of a training run; replace the source's pie chart.");
  cli.option("epochs", &s.epochs, "training epochs per run", 1, 100000)
      .option("train-samples", &s.train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &s.val_samples, "held-out samples", 1, 10'000'000)
      .option("batch-size", &s.batch_size, "samples per batch", 1, 65536)
      .option("threads", &s.threads, "intra-op threads", 1, 1024)
      .option("load-us", &s.load_us, "simulated loading cost per sample, microseconds", 0, 1e6)
      .option("workers", &s.workers, "loader workers of the first run (6a)", 0, 64)
      .option("compare-workers", &compare_workers, "loader workers of the second run (6b; the source's 4)", 0, 64)
      .option("runs", &runs, "timed runs per setting, averaged", 1, 1000);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(5);
  series1::announce_flags(s);
  const int64_t workers = s.workers;

  // ---- Step 6a: the source's run, phase by phase --------------------------------------------
  std::cout << "\n== Step 6a: the source's run, phase by phase ==\n";
  const pb::PhaseTimes a = measure_and_print(s, runs);
  const double total = a.total();
  std::cout << "\nthe source's pie chart: data preparation 20%, model definition 20%, training 40%, validation 20%\n"
            << "measured here:          data preparation " << percent(a[pb::Phase::kData], total) << ", model definition "
            << percent(a[pb::Phase::kModel], total) << ", training " << percent(training(a), total) << ", validation "
            << percent(a[pb::Phase::kValidation], total) << "\n";

  // ---- Step 6b: the same run with more (or fewer) loader workers ----------------------------
  std::cout << "\n== Step 6b: the same run with " << compare_workers << " loader worker(s) ==\n";
  series1::Settings compare = s;
  compare.workers = compare_workers;
  series1::announce_change(3, "loader workers", std::to_string(workers), std::to_string(compare_workers),
                           compare_workers == series1::kSourceWorkers ? "the source's num_workers=4, to see which phases workers move"
                                                             : "set with --compare-workers, to see which phases workers move");
  const pb::PhaseTimes b = measure_and_print(compare, runs);
  std::cout << "\nloading batches: " << std::fixed << std::setprecision(6) << a[pb::Phase::kLoad] << " s with " << workers
            << " worker(s), " << b[pb::Phase::kLoad] << " s with " << compare_workers << "; model construction "
            << a[pb::Phase::kModel] << " s and " << b[pb::Phase::kModel] << " s; whole run " << total << " s and "
            << b.total() << " s\n"
            << std::defaultfloat;
  // The explanation follows what was measured here, not what usually happens.
  const bool training_dominates = training(a) > 0.5 * total;
  const bool backward_dearer = a[pb::Phase::kBackward] > a[pb::Phase::kForward];
  const bool workers_lengthen = b[pb::Phase::kLoad] > a[pb::Phase::kLoad] * 1.1;
  const bool workers_shorten = b[pb::Phase::kLoad] < a[pb::Phase::kLoad] / 1.1;
  std::cout << "why: " << (training_dominates ? "training is most of the run; making data, building the model and validating are not"
                                              : "training is not most of this run: the one-off phases weigh as much")
            << ". Within training, backward costs " << (backward_dearer ? "more" : "less") << " than forward here.\n"
            << "'loading batches' is the training thread gathering each batch (0 workers) or waiting for a worker's\n"
            << "hand-over; here " << compare_workers << " worker(s) "
            << (workers_lengthen   ? "lengthened it: the hand-over costs more than gathering such cheap samples"
                : workers_shorten ? "shortened it: loading a sample costs more than a hand-over, and the workers had cores"
                                  : "left it about the same, within 10%")
            << ".\nWorkers pay off when a sample costs more to load than a hand-over and each has a free core\n"
            << "(step 7; try --load-us 50 --compare-workers 2); starting them is part of model construction.\n";
  return 0;
}
