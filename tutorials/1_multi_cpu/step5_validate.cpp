// Tutorial 1, step 5 (source 000, "validate the model"): accuracy on data the model never saw.
//
// The source validates by looping over its training `loader` again, with random labels. Both
// are errors: accuracy on training data measures memory, not generalisation, and random labels
// have nothing to generalise, so a held-out split scores about 50%. This step shows all three
// numbers side by side.
//
// It starts from step 4's trained model and step 1's held-out split (series1::step4_trained in
// tutorials/1_multi_cpu/story.h rebuilds them exactly), and validates it here, batch by batch.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "tutorials/1_multi_cpu/story.h"

namespace {

// Percentage of `data` that `model` labels correctly: the validation the source gets wrong.
double accuracy_percent(pb::LinearModel& model, const pb::TensorData& data, int64_t batch_size) {
  model->eval();               // evaluation behaviour (dropout off, batch norm frozen; Linear has neither)
  torch::NoGradGuard no_grad;  // record no graph for backward: validation never trains
  int64_t correct = 0;
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, data.size());
    torch::Tensor logits = model->forward(data.inputs.slice(0, begin, end));
    // The predicted class is the larger of the two scores.
    correct += logits.argmax(1).eq(data.targets.slice(0, begin, end)).sum().item<int64_t>();
  }
  model->train();  // back to training mode, as step 4 left it
  return 100.0 * static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, data.size()));
}

}  // namespace

int main(int argc, char** argv) {
  series1::Settings s;
  pb::Cli cli("tutorial_1_step5_validate", "Step 5: validate on a held-out split; see why the source's validation misleads.");
  cli.option("epochs", &s.epochs, "training epochs", 1, 100000)
      .option("train-samples", &s.train_samples, "training samples", 1, 10'000'000)
      .option("val-samples", &s.val_samples, "held-out samples", 1, 10'000'000)
      .option("batch-size", &s.batch_size, "samples per batch, in training and in validation", 1, 65536)
      .option("seed", &s.seed, "data and weight seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(4);
  series1::announce_flags(s);
  std::cout << std::fixed << std::setprecision(1);

  // ---- Step 5a: validate step 4's model on the held-out split --------------------------------
  std::cout << "\n== Step 5a: validate step 4's model on the held-out split ==\n";
  series1::Training trained = series1::step4_trained(s);
  const double train_accuracy = accuracy_percent(trained.model, trained.data.train, s.batch_size);
  const double val_accuracy = accuracy_percent(trained.model, trained.data.val, s.batch_size);
  std::cout << "accuracy on the training split (" << trained.data.train.size() << " samples): " << train_accuracy << "%\n";
  std::cout << "accuracy on the held-out split (" << trained.data.val.size() << " samples): " << val_accuracy
            << "%  <- the number to report\n";

  // ---- Step 5b: the source's set-up: random labels ------------------------------------------
  std::cout << "\n== Step 5b: the source's set-up: random labels ==\n";
  std::cout << "step 4's recipe again, on the source's random labels (same sizes, seeds " << s.seed + 1 << " and "
            << s.seed + 2 << ")\n";
  pb::DataSplit random_labels{pb::make_random_label_data(s.train_samples, static_cast<uint64_t>(s.seed) + 1),
                              pb::make_random_label_data(s.val_samples, static_cast<uint64_t>(s.seed) + 2)};
  series1::Training guesser = series1::step4_trained(s, random_labels, series1::loader_options(s));
  std::cout << "accuracy on its own training data (what the source prints): "
            << accuracy_percent(guesser.model, guesser.data.train, s.batch_size) << "%\n";
  std::cout << "accuracy on held-out random labels: " << accuracy_percent(guesser.model, guesser.data.val, s.batch_size)
            << "%  <- chance: there was nothing to learn\n";
  return val_accuracy > 50.0 ? 0 : 1;
}
