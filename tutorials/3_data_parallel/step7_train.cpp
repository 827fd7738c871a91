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

// The source CNN in step 3's setting: batch 256 (8x the source's 32, so that up to 8 replicas each
// get the source's batch) over 2 replicas, the fewest that split it; 4 batches of data and 3
// epochs, so that training takes seconds, not minutes, on a 2-core CPU.
constexpr int64_t kBatch = 256;
constexpr int64_t kReplicas = 2;
constexpr int64_t kSamples = 1024;
constexpr int64_t kValSamples = 256;
constexpr int64_t kEpochs = 3;

int main(int argc, char** argv) {
  int64_t batch = kBatch, replicas = kReplicas, samples = kSamples, epochs = kEpochs;
  std::string model_name = "cnn", device_spec = "auto";
  pb::Cli cli("tutorial_3_step7_train", "Step 7: train with persistent replicas; replicas or intra-op threads.");
  cli.option("model", &model_name, "linear, mlp or cnn")
      .option("batch", &batch, "samples per step", 1, 65536)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("samples", &samples, "training samples", 1, 10'000'000)
      .option("epochs", &epochs, "passes over the training samples", 1, 10000)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto");
  pb::parse_or_exit(cli, argc, argv);
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), model_name);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  const pb::DataSplit data = pb::make_synthetic_split(kind, samples, kValSamples, 0);
  auto loss_fn = [kind](const torch::Tensor& o, const torch::Tensor& t) { return pb::compute_loss(kind, o, t); };
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
  std::cout << "== Step 7a: build ==\n";
  torch::manual_seed(0);
  pb::ReplicatedDataParallel dp(pb::make_model(kind), loss_fn,
                                {std::vector<torch::Device>(static_cast<size_t>(replicas), device), 1, true});
  torch::optim::SGD optimizer(dp.master().ptr()->parameters(), pb::source_optimizer_options(kind));
  std::cout << model_name << ", " << replicas << " replicas on " << device << ", batch " << batch << ", " << samples
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
    torch::manual_seed(0);
    const bool use_replicas = variant == 0;
    pb::ReplicatedDataParallel run(pb::make_model(kind), loss_fn,
                                   {std::vector<torch::Device>(use_replicas ? static_cast<size_t>(replicas) : 1, torch::kCPU),
                                    use_replicas ? 1 : replicas, true});
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
