// Tutorial 3, step 7 (source 002, "train"): the full training step with persistent replicas,
// and, on the CPU, whether replicas or intra-op threads make better use of the cores.
//
// Each step: zero the master's gradients, forward_backward (the master's parameters are copied
// into the replicas, the batch is split, replicas run in parallel threads, gradients are summed
// into the master), one optimizer step on the master. The replicas live across steps: nothing is
// cloned after construction. On a CPU the same cores can instead run one model with more
// intra-op threads; step 7c measures both with the same number of threads in total.
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/3_data_parallel/story.h"

int main(int argc, char** argv) {
  // Step 2's CNN and data in step 3's setting (story.h): batch 256 over 2 replicas, now on all
  // 1024 training images for 3 epochs, then the 256 held-out images.
  int64_t batch = series3::kBatch, replicas = series3::kReplicas, samples = series3::kSamples, epochs = series3::kEpochs;
  std::string device_spec = series3::kDevice;
  pb::Cli cli("tutorial_3_step7_train", "Step 7: train with persistent replicas; replicas or intra-op threads.");
  cli.option("batch", &batch, "samples per step", 1, 65536)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("samples", &samples, "training samples", 1, 10'000'000)
      .option("epochs", &epochs, "passes over the training samples", 1, 10000)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  series3::print_start(7);
  series3::announce_change(7, "batch", series3::kBatch, batch, series3::kBatch, "");
  series3::announce_change(7, "replicas", series3::kReplicas, replicas, series3::kReplicas, "");
  series3::announce_change(7, "training images", series3::kSamples, samples, series3::kSamples, "");
  series3::announce_change(7, "epochs", series3::kEpochs, epochs, series3::kEpochs, "");
  const pb::ModelKind kind = series3::kModel;
  const pb::DataSplit data = series3::step2_data(samples);
  const pb::LossFn loss_fn = series3::step3_loss();
  // One pass over the training data through `dp` and its optimizer: samples/s and mean loss.
  auto run_epoch = [&](pb::ReplicatedDataParallel& dp, torch::optim::SGD& optimizer, double* mean_loss) {
    torch::Tensor order = torch::randperm(samples, torch::kLong);
    double loss_sum = 0;
    pb::Timer timer(device);
    for (int64_t begin = 0; begin < samples; begin += batch) {
      const torch::Tensor index = order.slice(0, begin, std::min(begin + batch, samples));
      optimizer.zero_grad();
      loss_sum += dp.forward_backward(data.train.inputs.index_select(0, index), data.train.targets.index_select(0, index)) *
                  static_cast<double>(index.size(0));
      optimizer.step();
    }
    *mean_loss = loss_sum / static_cast<double>(samples);
    return static_cast<double>(samples) / timer.seconds();
  };

  // ---- Step 7a: build ------------------------------------------------------------------------
  std::cout << "\n== Step 7a: build ==\n";
  pb::ReplicatedDataParallel dp(torch::nn::AnyModule(series3::step2_model()), loss_fn, series3::step3_replicas(replicas, device));
  torch::optim::SGD optimizer(dp.master().ptr()->parameters(), pb::source_optimizer_options(kind));
  std::cout << "cnn, " << replicas << " replicas on " << device << ", batch " << batch << ", " << samples
            << " samples\n";

  // ---- Step 7b: train ------------------------------------------------------------------------
  std::cout << "\n== Step 7b: train ==\n";
  const double before = pb::evaluate(dp.master(), kind, {data.val.inputs.to(device), data.val.targets.to(device)}).loss;
  double loss = 0, rate = 0;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    rate = run_epoch(dp, optimizer, &loss);
    std::cout << "epoch " << epoch << ": mean loss " << loss << ", " << static_cast<int64_t>(rate) << " samples/s\n";
  }
  const pb::EvalResult after = pb::evaluate(dp.master(), kind, {data.val.inputs.to(device), data.val.targets.to(device)});
  std::cout << "held-out loss " << before << " -> " << after.loss << (after.loss < before ? " (learning)" : " (NOT learning)")
            << "\n";
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * after.accuracy << "% (chance: "
            << 100 / pb::output_size(kind) << "%) on " << data.val.size() << " samples never trained on\n"
            << std::defaultfloat << std::setprecision(6);

  // ---- Step 7c: replicas or intra-op threads? --------------------------------------------------
  std::cout << "\n== Step 7c: replicas or intra-op threads? ==\n";
  if (device.is_cuda()) {
    std::cout << "a CPU comparison; run with --device cpu\n";
    return after.loss < before ? 0 : 1;
  }
  // The same total thread count both ways: `replicas` x 1 thread, and 1 model x `replicas` threads.
  double rates[2] = {0, 0};
  for (int variant = 0; variant < 2; ++variant) {
    const bool use_replicas = variant == 0;
    pb::ReplicaOptions options = series3::step3_replicas(use_replicas ? replicas : 1, torch::kCPU);
    options.threads_per_replica = use_replicas ? 1 : replicas;
    pb::ReplicatedDataParallel run(torch::nn::AnyModule(series3::step2_model()), loss_fn, options);
    torch::optim::SGD opt(run.master().ptr()->parameters(), pb::source_optimizer_options(kind));
    double unused = 0;
    run_epoch(run, opt, &unused);  // warm-up
    rates[variant] = run_epoch(run, opt, &unused);
    std::cout << (use_replicas ? std::to_string(replicas) + " replicas x 1 thread:  " : "1 model x " + std::to_string(replicas) + " threads:   ")
              << static_cast<int64_t>(rates[variant]) << " samples/s\n";
  }
  std::cout << "winner: " << (rates[0] > rates[1] ? "replicas" : "intra-op threads") << ", by "
            << 100 * (std::max(rates[0], rates[1]) / std::min(rates[0], rates[1]) - 1) << "%\n";
  return after.loss < before ? 0 : 1;
}
