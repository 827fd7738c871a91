// Tutorial 4, step 1: the single-process baseline that distributed training must reproduce.
//
// PyTorch recommends DistributedDataParallel over DataParallel, and libtorch has no C++ DDP; this
// series builds one on c10d, the distributed engine inside libtorch. First, the reference: one
// process trains the source CNN on global batches of `world x batch` samples. Step 4 trains the
// same batches on several processes and must end with the same parameters.
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/distributed/shard.h"
#include "common/timer.h"
#include "common/train.h"

// The source 002 CNN; 64 samples per step (as 2 ranks x 32) over a 512-sample dataset.
constexpr const char* kModel = "cnn";
constexpr int64_t kGlobalBatch = 64;
constexpr int64_t kSamples = 512;
constexpr int64_t kSteps = 8;
// Held-out samples, drawn with the training set but never trained on: the accuracy at the end.
constexpr int64_t kValSamples = 512;

int main(int argc, char** argv) {
  std::string model_name = kModel;
  int64_t global_batch = kGlobalBatch, samples = kSamples, steps = kSteps, threads = 1;
  pb::Cli cli("tutorial_4_step1_single_process", "Step 1: the single-process baseline for DDP.");
  cli.option("model", &model_name, "linear, mlp or cnn")
      .option("global-batch", &global_batch, "samples per step", 1, 65536)
      .option("samples", &samples, "dataset size", 1, 10'000'000)
      .option("steps", &steps, "training steps", 1, 1'000'000)
      .option("threads", &threads, "intra-op threads", 1, 1024);
  pb::parse_or_exit(cli, argc, argv);
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), model_name);
  torch::set_num_threads(static_cast<int>(threads));

  // ---- Step 1a: data, model, optimizer ------------------------------------------------------
  std::cout << "== Step 1a: data, model, optimizer ==\n";
  const pb::DataSplit split = pb::make_synthetic_split(kind, samples, kValSamples, 0);
  const pb::TensorData& data = split.train;
  // The sampler of step 3, with one rank: the same shuffled global batches step 4 will split.
  const pb::dist::ShardPlan plan(samples, global_batch, /*world_size=*/1, /*seed=*/0);
  torch::manual_seed(0);
  torch::nn::AnyModule model = pb::make_model(kind);
  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(kind));
  std::cout << model_name << ", " << samples << " samples, global batch " << global_batch << ", " << steps << " steps\n";

  // ---- Step 1b: train ------------------------------------------------------------------------
  std::cout << "\n== Step 1b: train ==\n";
  pb::Timer timer;
  int64_t seen = 0;
  double loss_value = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const auto s = step % plan.steps_per_epoch();
    torch::Tensor index = torch::tensor(plan.global_indices(step / plan.steps_per_epoch(), s), torch::kLong);
    optimizer.zero_grad();
    torch::Tensor loss = pb::compute_loss(kind, model.forward(data.inputs.index_select(0, index)),
                                          data.targets.index_select(0, index));
    loss.backward();
    optimizer.step();
    seen += index.size(0);
    loss_value = loss.item<double>();
  }
  const double seconds = timer.seconds();
  double checksum = 0;
  for (const auto& p : model.ptr()->parameters()) checksum += p.sum().item<double>();
  std::cout << "final loss " << loss_value << ", " << static_cast<int64_t>(seen / seconds)
            << " samples/s, parameter checksum " << checksum << "\n";
  std::cout << "step 4 must reach this checksum with several processes\n";
  const double accuracy = pb::evaluate(model, kind, split.val).accuracy;
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: "
            << 100 / pb::output_size(kind) << "%) on " << kValSamples << " samples never trained on\n";
  return 0;
}
