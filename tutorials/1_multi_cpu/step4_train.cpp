// Tutorial 1, step 4 (source 000, "train the model"): the source's loop in C++: cross-entropy,
// SGD lr 0.01, 10 epochs over a shuffling DataLoader.
//
// Two changes from the source: it prints the loss of the *last batch* of each epoch, a noisy
// number from one batch of 8 (1,000 = 31 x 32 + 8); this prints the mean over the epoch. And it
// ends with the accuracy on held-out samples the loop never trained on (step 5 says why those).
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/train.h"

// The source's settings.
constexpr int64_t kEpochs = 10;
constexpr int64_t kBatchSize = 32;
constexpr double kLearningRate = 0.01;
constexpr int64_t kTrainSamples = 1000;
constexpr int64_t kValSamples = 1000;
// The source asks for 4 loader workers; 0 is faster for these cheap in-memory samples (step 6).
constexpr int64_t kWorkers = 0;
constexpr int64_t kSeed = 0;

int main(int argc, char** argv) {
  int64_t epochs = kEpochs, batch_size = kBatchSize, train_samples = kTrainSamples, val_samples = kValSamples;
  int64_t workers = kWorkers;
  int64_t threads = 1, seed = kSeed;
  pb::Cli cli("tutorial_1_step4_train", "Step 4: train Linear(10, 2) with cross-entropy and SGD.");
  cli.option("epochs", &epochs, "passes over the training data", 1, 100000)
      .option("batch-size", &batch_size, "samples per batch", 1, 65536)
      .option("train-samples", &train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &val_samples, "held-out samples, never trained on", 1, 10'000'000)
      .option("workers", &workers, "DataLoader worker threads", 0, 64)
      .option("threads", &threads, "intra-op threads (torch::set_num_threads)", 1, 1024)
      .option("seed", &seed, "data and weight seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(seed));

  // ---- Step 4a: data, model, loss, optimizer -------------------------------------------------
  std::cout << "== Step 4a: data, model, loss, optimizer ==\n";
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, train_samples, val_samples, static_cast<uint64_t>(seed));
  pb::SyntheticDataset dataset(split.train, /*load_cost_us=*/0);
  auto loader = pb::make_loader(dataset, {batch_size, workers, /*prefetch=*/0});
  pb::LinearModel model;
  torch::nn::CrossEntropyLoss criterion;
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(kLearningRate));
  std::cout << train_samples << " samples, batch " << batch_size << ", " << workers << " workers, " << threads
            << " intra-op thread(s), SGD lr " << kLearningRate << "\n";

  // ---- Step 4b: the training loop ------------------------------------------------------------
  std::cout << "\n== Step 4b: the training loop ==\n";
  double first_loss = 0, last_loss = 0;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    int64_t seen = 0;
    for (auto& batch : *loader) {
      optimizer.zero_grad();                                     // clear last step's gradients
      torch::Tensor loss = criterion(model->forward(batch.data), batch.target);
      loss.backward();                                           // gradients of the loss
      optimizer.step();                                          // w -= lr * grad
      loss_sum += loss.item<double>() * batch.data.size(0);
      seen += batch.data.size(0);
    }
    last_loss = loss_sum / seen;
    if (epoch == 1) first_loss = last_loss;
    std::cout << "Epoch " << epoch << ", mean loss: " << last_loss << "\n";
  }
  std::cout << "loss " << first_loss << " -> " << last_loss << (last_loss < first_loss ? " (learning)" : " (NOT LEARNING)")
            << "\n";

  // ---- Step 4c: held-out accuracy ------------------------------------------------------------
  std::cout << "\n== Step 4c: held-out accuracy ==\n";
  torch::nn::AnyModule trained(model);
  const double accuracy = pb::evaluate(trained, pb::ModelKind::kLinear, split.val).accuracy;
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: 50%) on "
            << val_samples << " samples never trained on\n";
  return last_loss < first_loss || epochs == 1 ? 0 : 1;
}
