// Tutorial 2, step 4 (source 001, "train"): the source's loop, 100 epochs of SGD on the MLP,
// once with every step copying its samples to the device and once with the data moved up front.
//
// The source trains on a single int64 sample; here the 10-5-2 MLP learns a real task (one-hot
// float targets of a fixed random teacher, common/data.h) and is checked on held-out samples.
// Its text says to move input and target to the device in every iteration. Each .to(device) of a
// CPU tensor is a host-to-device copy the step must wait for; data that fits on the GPU can be
// moved once and sliced there. Both runs take the same steps in the same order, so they must
// end at the same loss; only the time differs. (On the CPU, .to(cpu) copies nothing.)
// It trains step 2's model with step 3's optimizer, and its data, series2::step4_data(), is the
// recipe steps 5-7 draw from at larger sizes, with the same held-out samples (story.h).
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/device.h"
#include "common/models.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/2_gpu/story.h"

// The sizes (100 epochs of 96 samples, batch 1, 1000 held out) are the series' settings, in story.h.

struct Run {
  double seconds = 0;
  double final_loss = 0;  // mean training loss of the last epoch
  pb::Mlp model{nullptr};
};

int main(int argc, char** argv) {
  int64_t epochs = series2::kEpochs, samples = series2::kSamples, val_samples = series2::kValSamples, batch = series2::kBatch;
  std::string device_spec;
  pb::Cli cli("tutorial_2_step4_train", "Step 4: the source's training loop, data moved every step or once.");
  cli.option("epochs", &epochs, "passes over the training samples", 1, 100000)
      .option("samples", &samples, "training samples", 1, 10'000'000)
      .option("val-samples", &val_samples, "held-out samples", 1, 10'000'000)
      .option("batch", &batch, "samples per step (1: the source's per-sample loop)", 1, 65536);
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  series2::print_start(4, device);
  const pb::ModelKind kind = series2::kKind;
  const pb::DataSplit data = series2::step4_data(samples, val_samples);

  // One training run from the same seed; `move_each_step` copies each step's slice from the host.
  auto train = [&](bool move_each_step) {
    Run run;
    run.model = series2::step2_model();
    run.model->to(device);  // first the model, then the optimizer on its parameters (step 3a)
    torch::optim::SGD optimizer = series2::step3_optimizer(run.model);
    // Moved once: the whole training set is copied now and every step slices it on the device.
    const torch::Tensor inputs = move_each_step ? data.train.inputs : data.train.inputs.to(device);
    const torch::Tensor targets = move_each_step ? data.train.targets : data.train.targets.to(device);
    torch::Tensor loss_sum;
    pb::Timer timer(device);
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
      for (int64_t begin = 0; begin < samples; begin += batch) {
        const int64_t end = std::min(begin + batch, samples);
        // .to(device) is a no-op for tensors already there, so the same line serves both runs.
        const torch::Tensor in = inputs.slice(0, begin, end).to(device), target = targets.slice(0, begin, end).to(device);
        optimizer.zero_grad();
        torch::Tensor loss = pb::compute_loss(kind, run.model->forward(in), target);
        loss.backward();
        optimizer.step();
        // Summed on the device: reading loss.item() here would wait for the GPU every step.
        if (epoch + 1 == epochs) loss_sum += loss.detach() * static_cast<double>(end - begin);
      }
    }
    run.final_loss = loss_sum.item<double>() / static_cast<double>(samples);
    run.seconds = timer.seconds();
    return run;
  };
  auto accuracy = [&](pb::Mlp& model) {
    torch::NoGradGuard no_grad;
    const torch::Tensor out = model->forward(data.val.inputs.to(device));
    return 100.0 * static_cast<double>(pb::count_correct(kind, out, data.val.targets.to(device))) /
           static_cast<double>(val_samples);
  };

  // ---- Step 4a: the data ---------------------------------------------------------------------
  std::cout << "\n== Step 4a: the data ==\n";
  std::cout << samples << " training samples and " << val_samples << " held out, seed " << series2::kSeed << "; inputs "
            << data.train.inputs.sizes() << " float, targets " << data.train.targets.sizes() << " float one-hot rows (MSELoss)\n";
  const int64_t steps = series2::steps_of(epochs, samples, batch);
  std::cout << epochs << " epochs of batch " << batch << " on " << device << ": " << steps << " steps\n";

  // ---- Step 4b: moved every step -------------------------------------------------------------
  std::cout << "\n== Step 4b: moved every step (the source's per-iteration .to(device)) ==\n";
  const Run each = train(true);
  std::cout << "time " << each.seconds << " s (" << 1e6 * each.seconds / static_cast<double>(steps)
            << " us/step), final loss " << each.final_loss << "\n";

  // ---- Step 4c: moved once -------------------------------------------------------------------
  std::cout << "\n== Step 4c: moved once ==\n";
  Run once = train(false);
  std::cout << "time " << once.seconds << " s (" << 1e6 * once.seconds / static_cast<double>(steps)
            << " us/step), final loss " << once.final_loss << "\n";
  const bool same = each.final_loss == once.final_loss;
  std::cout << "same final loss: " << (same ? "yes" : "no") << "; moved once is " << each.seconds / once.seconds << "x as fast"
            << (device.is_cuda() ? "" : " (on the CPU .to(cpu) copies nothing: expect about 1x)") << "\n";

  // ---- Step 4d: held-out accuracy ------------------------------------------------------------
  std::cout << "\n== Step 4d: held-out accuracy ==\n";
  pb::Mlp untrained = series2::step2_model();
  untrained->to(device);
  const double before = accuracy(untrained), after = accuracy(once.model);
  std::cout << "held-out accuracy: " << before << "% untrained -> " << after << "% trained (chance: 50%)\n";
  return same && after > 70 ? 0 : 1;
}
