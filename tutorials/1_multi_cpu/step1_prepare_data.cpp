// Tutorial 1, step 1 (source 000, "prepare data"): learnable data, a held-out split and a DataLoader.
//
// The source builds 1,000 random feature rows with *random* labels and later validates on the
// very loader it trained on. Random labels carry nothing to learn, so any honest validation
// reports chance accuracy; validating on the training data hides that. Here the labels come from
// a fixed "teacher", and 20% extra samples are held out for step 5.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"

// The source's sizes: 1,000 training samples of 10 features, read in batches of 32.
constexpr int64_t kTrainSamples = 1000;
// Held out for validation; never trained on.
constexpr int64_t kValSamples = 200;
constexpr int64_t kBatchSize = 32;
// Seeds the data generator: the same seed gives the same data in every step and every run.
constexpr int64_t kSeed = 0;

int main(int argc, char** argv) {
  int64_t train_samples = kTrainSamples, val_samples = kValSamples, batch_size = kBatchSize, seed = kSeed;
  int64_t workers = 0;
  pb::Cli cli("tutorial_1_step1_prepare_data", "Step 1: make learnable data, hold out a validation split, load it.");
  cli.option("train-samples", &train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &val_samples, "held-out validation samples", 1, 10'000'000)
      .option("batch-size", &batch_size, "samples per batch", 1, 65536)
      .option("workers", &workers, "DataLoader worker threads (0 = load on the training thread)", 0, 64)
      .option("seed", &seed, "data seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);

  // ---- Step 1a: make data a model can learn --------------------------------------------------
  std::cout << "== Step 1a: make data a model can learn ==\n";
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, train_samples, val_samples, seed);
  std::cout << "inputs " << split.train.inputs.sizes() << " float, labels " << split.train.targets.sizes()
            << " int64\n";
  const int64_t ones = split.train.targets.sum().item<int64_t>();
  std::cout << "label balance: " << train_samples - ones << " zeros, " << ones << " ones\n";
  std::cout << "labels are argmax(x * W) for a fixed random W: a Linear(10, 2) can learn them\n";

  // ---- Step 1b: hold out a validation split --------------------------------------------------
  std::cout << "\n== Step 1b: hold out a validation split ==\n";
  // Both splits are cut from one draw, so no sample can be in both. Check it anyway: distance from
  // every validation row to its nearest training row must be far from zero.
  const double nearest = torch::cdist(split.val.inputs, split.train.inputs).min().item<double>();
  std::cout << "train " << split.train.size() << " samples, validation " << split.val.size()
            << " samples, closest pair " << nearest << (nearest > 0 ? " (disjoint)" : " (OVERLAP)") << "\n";

  // ---- Step 1c: wrap the training split in a DataLoader --------------------------------------
  std::cout << "\n== Step 1c: wrap the training split in a DataLoader ==\n";
  // libtorch's DataLoader workers are threads in this process (Python's are processes). The
  // dataset hands out whole batches (get_batch), which avoids stacking 32 single examples.
  pb::SyntheticDataset dataset(split.train, /*load_cost_us=*/0);
  auto loader = pb::make_loader(dataset, {batch_size, workers, /*prefetch=*/0});
  int64_t batches = 0, samples = 0;
  for (auto& batch : *loader) {
    if (batches == 0) std::cout << "first batch: data " << batch.data.sizes() << ", target " << batch.target.sizes() << "\n";
    ++batches;
    samples += batch.data.size(0);
  }
  const bool complete = dataset.take_coverage().is_one_epoch_of(train_samples);
  std::cout << "one epoch: " << batches << " batches, " << samples << " samples, "
            << (complete ? "every sample exactly once" : "SAMPLES LOST OR DUPLICATED") << " (" << workers
            << " workers)\n";
  return complete && nearest > 0 ? 0 : 1;
}
