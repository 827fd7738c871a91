// Tutorial 1, step 4 (source 000, "train the model"): the source's loop in C++: cross-entropy,
// SGD lr 0.01, 10 epochs over a shuffling DataLoader.
//
// Two changes from the source: it prints the loss of the *last batch* of each epoch, a noisy
// number from one batch of 8 (1,000 = 31 x 32 + 8); this prints the mean over the epoch. And it
// ends with the accuracy on held-out samples the loop never trained on (step 5 says why those).
//
// It starts from step 3's settings (0 loader workers, 1 intra-op thread), step 2's model and
// step 1's data; the set-up is the story's (tutorials/1_multi_cpu/story.cpp: start_training),
// the loop is below.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/train.h"
#include "tutorials/1_multi_cpu/story.h"

int main(int argc, char** argv) {
  series1::Settings s;  // the source's 10 epochs, batch 32, 1,000 samples; step 3's workers and threads
  pb::Cli cli("tutorial_1_step4_train", "Step 4: train Linear(10, 2) with cross-entropy and SGD.");
  cli.option("epochs", &s.epochs, "passes over the training data", 1, 100000)
      .option("batch-size", &s.batch_size, "samples per batch", 1, 65536)
      .option("train-samples", &s.train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &s.val_samples, "held-out samples, never trained on", 1, 10'000'000)
      .option("workers", &s.workers, "DataLoader worker threads", 0, 64)
      .option("threads", &s.threads, "intra-op threads (torch::set_num_threads)", 1, 1024)
      .option("seed", &s.seed, "data and weight seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(3);
  series1::announce_flags(s);

  // ---- Step 4a: data, model, loss, optimizer -------------------------------------------------
  std::cout << "\n== Step 4a: data, model, loss, optimizer ==\n";
  // Sets the intra-op threads, then: step 1's data, step 2's model, SGD, a DataLoader with s.workers.
  series1::Training training = series1::start_training(s, series1::step1_data(s), series1::loader_options(s));
  std::cout << s.train_samples << " samples, batch " << s.batch_size << ", " << s.workers << " workers, "
            << torch::get_num_threads() << " intra-op thread(s), cross-entropy, SGD lr " << series1::kLearningRate
            << "\n";

  // ---- Step 4b: the training loop ------------------------------------------------------------
  std::cout << "\n== Step 4b: the training loop ==\n";
  // The source's loop. Steps 5 to 7 repeat it through series1::train_epoch (story.cpp), the same
  // calls in the same order, so their model is this one (a test compares their accuracies).
  torch::nn::CrossEntropyLoss criterion;
  double first_loss = 0, last_loss = 0;
  bool complete = true;
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    double loss_sum = 0;
    int64_t seen = 0;
    for (auto& batch : *training.loader) {
      training.optimizer->zero_grad();  // clear last step's gradients
      torch::Tensor loss = criterion(training.model->forward(batch.data), batch.target);
      loss.backward();                  // gradients of the loss
      training.optimizer->step();       // w -= lr * grad
      loss_sum += loss.item<double>() * static_cast<double>(batch.data.size(0));
      seen += batch.data.size(0);
    }
    // The loader's counters: every training sample exactly once per epoch, none lost or repeated.
    complete = complete && training.dataset.take_coverage().is_one_epoch_of(s.train_samples) && seen == s.train_samples;
    last_loss = loss_sum / static_cast<double>(std::max<int64_t>(1, seen));  // the epoch's mean, not its last batch
    if (epoch == 1) first_loss = last_loss;
    std::cout << "Epoch " << epoch << ", mean loss: " << last_loss << "\n";
  }
  std::cout << "loss " << first_loss << " -> " << last_loss << (last_loss < first_loss ? " (learning)" : " (NOT LEARNING)")
            << "; every epoch saw every sample exactly once: " << (complete ? "yes" : "NO") << "\n";

  // ---- Step 4c: held-out accuracy ------------------------------------------------------------
  std::cout << "\n== Step 4c: held-out accuracy ==\n";
  torch::nn::AnyModule trained(training.model);
  const double accuracy = pb::evaluate(trained, pb::ModelKind::kLinear, training.data.val).accuracy;
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: 50%) on "
            << s.val_samples << " samples never trained on (step 5 shows how it is measured)\n";
  return complete && (last_loss < first_loss || s.epochs == 1) ? 0 : 1;
}
