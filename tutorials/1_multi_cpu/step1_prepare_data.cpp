// Tutorial 1, step 1 (source 000, "prepare data"): learnable data, a held-out split and a DataLoader.
//
// The source builds 1,000 random feature rows with *random* labels and later validates on the
// very loader it trained on. Random labels carry nothing to learn, so any honest validation
// reports chance accuracy; validating on the training data hides that. Here the labels come from
// a fixed "teacher", and 20% extra samples are held out for step 5.
//
// The sizes and the seed are the series' (tutorials/1_multi_cpu/story.h): every later step
// starts from this data through series1::step1_data(), the function this step uses too.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "tutorials/1_multi_cpu/story.h"

int main(int argc, char** argv) {
  series1::Settings s;  // the source's 1,000 samples of 10 features in batches of 32, 200 held out
  int64_t workers = 0;
  pb::Cli cli("tutorial_1_step1_prepare_data", "Step 1: make learnable data, hold out a validation split, load it.");
  cli.option("train-samples", &s.train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &s.val_samples, "held-out validation samples", 1, 10'000'000)
      .option("batch-size", &s.batch_size, "samples per batch", 1, 65536)
      .option("workers", &workers, "DataLoader worker threads (0 = load on the training thread)", 0, 64)
      .option("seed", &s.seed, "data seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  const int64_t train_samples = s.train_samples;

  // ---- Step 1a: make data a model can learn --------------------------------------------------
  std::cout << "== Step 1a: make data a model can learn ==\n";
  pb::DataSplit split = series1::step1_data(s);
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
  std::cout << "every later step trains on the " << split.train.size() << " and step 5 validates on the "
            << split.val.size() << " held out\n";

  // ---- Step 1c: wrap the training split in a DataLoader --------------------------------------
  std::cout << "\n== Step 1c: wrap the training split in a DataLoader ==\n";
  // libtorch's DataLoader workers are threads in this process (Python's are processes). The
  // dataset hands out whole batches (get_batch), which avoids stacking 32 single examples.
  pb::SyntheticDataset dataset(split.train, /*load_cost_us=*/0);
  auto loader = pb::make_loader(dataset, {s.batch_size, workers, /*prefetch=*/0});
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
