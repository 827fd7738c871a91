// Tutorial 1, step 2 (source 000, "define model"): the source's Linear(10, 2) as a libtorch module.
//
// The module lives in common/models.h (LinearModelImpl) because every series and benchmark uses
// it. It derives from torch::nn::Cloneable, not just torch::nn::Module: clone() gives a deep
// copy with its own parameters, which data-parallel replicas (tutorial series 3) need.
//
// It starts from step 1's data (series1::step1_data) and builds the model the way every later
// step does, through series1::step2_model: torch's generator seeded with the series' seed.
#include <iostream>

#include "common/cli.h"
#include "common/models.h"
#include "tutorials/1_multi_cpu/story.h"

int main(int argc, char** argv) {
  series1::Settings s;
  pb::Cli cli("tutorial_1_step2_define_model", "Step 2: define the source's Linear(10, 2) model and run it once.");
  cli.option("batch-size", &s.batch_size, "samples in the demonstration batch", 1, 65536)
      .option("seed", &s.seed, "weight initialisation seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  series1::print_start(1);
  series1::announce_flags(s);
  const pb::DataSplit data = series1::step1_data(s);

  // ---- Step 2a: build the model --------------------------------------------------------------
  std::cout << "\n== Step 2a: build the model ==\n";
  pb::LinearModel model = series1::step2_model(s);
  std::cout << *model << "\n";
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  std::cout << "parameters: " << parameters << " (10 x 2 weights + 2 biases)\n";

  // ---- Step 2b: run a forward pass -----------------------------------------------------------
  std::cout << "\n== Step 2b: run a forward pass ==\n";
  // The first batch of step 1's training samples (the first rows; the loader would shuffle them).
  torch::Tensor x = data.train.inputs.slice(0, 0, s.batch_size);
  torch::Tensor logits = model->forward(x);
  std::cout << "input " << x.sizes() << " -> logits " << logits.sizes()
            << ": one score per class; CrossEntropyLoss applies the softmax itself\n";

  // ---- Step 2c: clone it ---------------------------------------------------------------------
  std::cout << "\n== Step 2c: clone it ==\n";
  auto copy = std::dynamic_pointer_cast<pb::LinearModelImpl>(model->clone());
  const bool same_values = torch::equal(copy->fc->weight, model->fc->weight);
  const bool separate_storage = copy->fc->weight.data_ptr() != model->fc->weight.data_ptr();
  std::cout << "clone has equal weights: " << (same_values ? "yes" : "no")
            << ", its own storage: " << (separate_storage ? "yes" : "no") << "\n";
  return same_values && separate_storage && logits.size(1) == 2 ? 0 : 1;
}
