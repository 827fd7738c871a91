// Tutorial 1, step 5 (source 000, "validate the model"): accuracy on data the model never saw.
//
// The source validates by looping over its training `loader` again, with random labels. Both
// are errors: accuracy on training data measures memory, not generalisation, and random labels
// have nothing to generalise, so a held-out split scores about 50%. This step shows all three
// numbers side by side. The training loop is step 4's, reused from common/train.h.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/train.h"

constexpr int64_t kEpochs = 10;
constexpr int64_t kTrainSamples = 1000;
constexpr int64_t kValSamples = 1000;
constexpr int64_t kBatchSize = 32;
constexpr int64_t kSeed = 0;

namespace {

// Trains a fresh Linear(10, 2) for `epochs` on `train` and returns it.
torch::nn::AnyModule train_model(const pb::TensorData& train, int64_t epochs, int64_t batch_size) {
  pb::Trainer trainer(pb::ModelKind::kLinear, train, {batch_size, /*workers=*/0, /*prefetch=*/0}, 0);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) trainer.run_epoch();
  return trainer.model();
}

double percent(const torch::nn::AnyModule& model, const pb::TensorData& data) {
  torch::nn::AnyModule m = model;
  return 100.0 * pb::evaluate(m, pb::ModelKind::kLinear, data).accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t epochs = kEpochs, train_samples = kTrainSamples, val_samples = kValSamples, batch_size = kBatchSize;
  int64_t seed = kSeed;
  pb::Cli cli("tutorial_1_step5_validate", "Step 5: validate on a held-out split; see why the source's validation misleads.");
  cli.option("epochs", &epochs, "training epochs", 1, 100000)
      .option("train-samples", &train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &val_samples, "held-out samples", 1, 10'000'000)
      .option("batch-size", &batch_size, "samples per batch", 1, 65536)
      .option("seed", &seed, "data and weight seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  torch::manual_seed(static_cast<uint64_t>(seed));

  // ---- Step 5a: train on learnable data, validate on the held-out split -----------------------
  std::cout << "== Step 5a: train on learnable data, validate on the held-out split ==\n";
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, train_samples, val_samples, static_cast<uint64_t>(seed));
  torch::nn::AnyModule model = train_model(split.train, epochs, batch_size);
  const double train_accuracy = percent(model, split.train);
  const double val_accuracy = percent(model, split.val);
  std::cout << "accuracy on the training split: " << train_accuracy << "%\n";
  std::cout << "accuracy on the held-out split: " << val_accuracy << "%  <- the number to report\n";

  // ---- Step 5b: the source's set-up: random labels ------------------------------------------
  std::cout << "\n== Step 5b: the source's set-up: random labels ==\n";
  pb::TensorData random_train = pb::make_random_label_data(train_samples, static_cast<uint64_t>(seed) + 1);
  pb::TensorData random_val = pb::make_random_label_data(val_samples, static_cast<uint64_t>(seed) + 2);
  torch::nn::AnyModule guesser = train_model(random_train, epochs, batch_size);
  std::cout << "accuracy on its own training data (what the source prints): " << percent(guesser, random_train)
            << "%\n";
  std::cout << "accuracy on held-out random labels: " << percent(guesser, random_val)
            << "%  <- chance: there was nothing to learn\n";
  return val_accuracy > 50.0 ? 0 : 1;
}
