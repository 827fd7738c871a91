// Series 1 so far: the settings, the state each step hands on, and what steps say about it.
#include "tutorials/1_multi_cpu/story.h"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <utility>

#include "common/timer.h"

namespace series1 {

pb::DataSplit step1_data(const Settings& s) {
  return pb::make_synthetic_split(pb::ModelKind::kLinear, s.train_samples, s.val_samples, static_cast<uint64_t>(s.seed));
}

pb::LinearModel step2_model(const Settings& s) {
  torch::manual_seed(static_cast<uint64_t>(s.seed));
  return pb::LinearModel();
}

pb::LoaderOptions loader_options(const Settings& s) {
  pb::LoaderOptions options;
  options.batch_size = s.batch_size;
  options.workers = s.workers;
  return options;
}

Training start_training(const Settings& s, pb::DataSplit data, const pb::LoaderOptions& loader) {
  torch::set_num_threads(static_cast<int>(s.threads));
  pb::LinearModel model = step2_model(s);
  auto optimizer = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(kLearningRate));
  pb::SyntheticDataset dataset(data.train, s.load_us);
  auto shuffled = pb::make_loader(dataset, loader);  // draws the first shuffle: after the weights
  return {std::move(data), model, std::move(optimizer), dataset, std::move(shuffled)};
}

pb::EpochResult train_epoch(Training& t) {
  torch::nn::CrossEntropyLoss criterion;
  pb::EpochResult result;
  double loss_sum = 0;
  t.dataset.take_coverage();  // forget anything from before this epoch
  pb::PhaseClock clock;       // a lap only reads the clock, so timing does not slow the loop
  for (auto& batch : *t.loader) {
    clock.lap(pb::Phase::kLoad);  // gathered here (0 workers) or waited for from a worker
    t.optimizer->zero_grad();     // clear last step's gradients
    clock.lap(pb::Phase::kOptimizer);
    torch::Tensor loss = criterion(t.model->forward(batch.data), batch.target);
    clock.lap(pb::Phase::kForward);
    loss.backward();  // gradients of the loss
    clock.lap(pb::Phase::kBackward);
    t.optimizer->step();  // w -= lr * grad
    loss_sum += loss.item<double>() * static_cast<double>(batch.data.size(0));
    result.samples += batch.data.size(0);
    clock.lap(pb::Phase::kOptimizer);
  }
  const int64_t n = t.data.train.size();
  result.mean_loss = loss_sum / static_cast<double>(std::max<int64_t>(1, result.samples));
  result.complete = t.dataset.take_coverage().is_one_epoch_of(n) && result.samples == n;
  clock.lap(pb::Phase::kLoad);  // the loader's end of the epoch, and the check that it lost nothing
  result.phases = clock.times();
  return result;
}

Training step4_trained(const Settings& s, pb::DataSplit data, const pb::LoaderOptions& loader) {
  Training t = start_training(s, std::move(data), loader);
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) train_epoch(t);
  return t;
}

Training step4_trained(const Settings& s) { return step4_trained(s, step1_data(s), loader_options(s)); }

void print_start(int from_step) {
  std::cout << "starting from step " << from_step << ": ";
  switch (from_step) {
    case 1:
      std::cout << "its " << kTrainSamples << " training + " << kValSamples << " held-out samples (seed " << kSeed
                << "), batches of " << kBatchSize;
      break;
    case 2:
      std::cout << "its Linear(10, 2) (weights from seed " << kSeed << ") on step 1's " << kTrainSamples
                << " training samples, batches of " << kBatchSize;
      break;
    case 3:
      std::cout << kWorkers << " loader workers, " << kThreads << " intra-op thread, with step 2's Linear(10, 2) on step 1's "
                << kTrainSamples << " + " << kValSamples << " samples, batches of " << kBatchSize;
      break;
    case 4:
      std::cout << "its Linear(10, 2) trained " << kEpochs << " epochs (SGD lr " << kLearningRate << ", batches of "
                << kBatchSize << ", " << kWorkers << " loader workers, " << kThreads << " intra-op thread) on "
                << kTrainSamples << " samples; " << kValSamples << " held out";
      break;
    case 5:
      std::cout << "step 4's run (" << kTrainSamples << " samples, " << kEpochs << " epochs, batches of " << kBatchSize
                << ", " << kWorkers << " loader workers, " << kThreads << " intra-op thread) and its validation on the "
                << kValSamples << " held-out samples";
      break;
    default:
      std::cout << "the run it timed phase by phase (" << kTrainSamples << " samples, batches of " << kBatchSize << ", "
                << kWorkers << " loader workers, " << kThreads << " intra-op thread), and what moved the phases";
      break;
  }
  std::cout << "\n";
}

void announce_change(int step, const std::string& setting, const std::string& before, const std::string& after,
                     const std::string& why) {
  std::cout << "changed from step " << step << ": " << setting << " " << before << " -> " << after << ": " << why << "\n";
}

int announce_changes(const Settings& before, const Settings& after, const std::string& why) {
  int changed = 0;
  // Integers print as integers (1000000, not 1e+06), the loading cost as a decimal.
  const auto check = [&](int step, const char* setting, auto from, auto to) {
    if (from == to) return;
    std::ostringstream a, b;
    a << from;
    b << to;
    announce_change(step, setting, a.str(), b.str(), why);
    ++changed;
  };
  check(1, "training samples", before.train_samples, after.train_samples);
  check(1, "held-out samples", before.val_samples, after.val_samples);
  check(1, "batch size", before.batch_size, after.batch_size);
  check(1, "seed", before.seed, after.seed);
  check(1, "loading cost per sample (us)", before.load_us, after.load_us);
  check(3, "loader workers", before.workers, after.workers);
  check(3, "intra-op threads", before.threads, after.threads);
  check(4, "epochs", before.epochs, after.epochs);
  return changed;
}

int announce_flags(const Settings& s) { return announce_changes(Settings(), s, "set on the command line"); }

}  // namespace series1
