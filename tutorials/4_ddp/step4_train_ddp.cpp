// Tutorial 4, step 4: distributed data parallel training, and why it beats DataParallel.
//
// Each rank: a full copy of the model (made once, then kept: no per-step replication), its shard
// of each global batch (step 3), forward and backward on its own core or GPU, then the gradients
// are summed across ranks (common/distributed/ddp.h): in buckets, each launched from an autograd
// hook as soon as backward has produced it, so communication overlaps the rest of backward. Every
// rank then takes the same optimizer step: no master copy, no gather on one device. At the end
// the ranks evaluate the trained model on held-out samples, each on its own share, and sum the
// counts: the accuracy step 1 prints.
#include <cmath>
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/distributed/ddp.h"
#include "common/distributed/launcher.h"
#include "common/distributed/shard.h"
#include "common/timer.h"
#include "common/train.h"

// Step 1's set-up: the source CNN, 64 samples per step, 512 samples, 8 steps.
constexpr const char* kModel = "cnn";
constexpr int64_t kGlobalBatch = 64;
constexpr int64_t kSamples = 512;
constexpr int64_t kSteps = 8;
// Step 1's held-out samples: drawn with the training set, never trained on.
constexpr int64_t kValSamples = 512;
// Gradient bucket: a few MiB lets the large fc1 gradient travel while the convolutions' backward
// still runs; PyTorch's default is 25 MiB.
constexpr int64_t kBucketBytes = 4 << 20;

int main(int argc, char** argv) {
  std::string model_name = kModel;
  int64_t nproc = 0, global_batch = kGlobalBatch, samples = kSamples, steps = kSteps, bucket = kBucketBytes;
  bool no_overlap = false;
  pb::Cli cli("tutorial_4_step4_train_ddp", "Step 4: train with DDP on several processes; compare with step 1.");
  cli.option("nproc", &nproc, "start this many local ranks", 0, 64)
      .option("model", &model_name, "linear, mlp or cnn")
      .option("global-batch", &global_batch, "samples per step across all ranks", 1, 65536)
      .option("samples", &samples, "dataset size", 1, 10'000'000)
      .option("steps", &steps, "training steps", 1, 1'000'000)
      .option("bucket-bytes", &bucket, "gradient bucket size", 1, int64_t{1} << 40)
      .flag("no-overlap", &no_overlap, "all-reduce after backward instead of during it");
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), model_name);
  pb::dist::DistEnv env;  // step 2 showed what connecting involves
  const pb::dist::Group group = pb::dist::connect_or_exit(cli.program(), torch::kCPU, std::chrono::seconds(60), &env);
  torch::set_num_threads(1);  // one core per rank: ranks, not intra-op threads, use the others

  // ---- Step 4a: the same model on every rank --------------------------------------------------
  const pb::DataSplit split = pb::make_synthetic_split(kind, samples, kValSamples, 0);
  const pb::TensorData& data = split.train;
  const pb::dist::ShardPlan plan(samples, global_batch, env.world_size, /*seed=*/0);
  torch::manual_seed(static_cast<uint64_t>(env.rank));  // deliberately different...
  torch::nn::AnyModule model = pb::make_model(kind);
  std::vector<torch::Tensor> params = model.ptr()->parameters();
  pb::dist::DistributedDataParallel ddp(params, group.group, {bucket, !no_overlap});
  // A peer that dies (or hangs past the timeout) fails the collectives below: one line naming it.
  // The catch is inside the wrapper's scope, so it exits without unwinding through it.
  try {
    torch::manual_seed(0);  // ...then rank 0's weights, those of step 1, are broadcast to all
    if (env.rank == 0) {
      torch::nn::AnyModule reference = pb::make_model(kind);
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(reference.ptr()->parameters()[i]);
    }
    ddp.broadcast_parameters();
    torch::optim::SGD optimizer(params, pb::source_optimizer_options(kind));
    std::cout << "== Step 4a: rank " << env.rank << " of " << env.world_size << ": " << ddp.bucket_count()
              << " gradient bucket(s), overlap " << (no_overlap ? "off" : "on") << " ==\n";

    // ---- Step 4b: train on this rank's shard, synchronise gradients ------------------------------
    pb::Timer timer;
    double wait = 0, loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t s = step % plan.steps_per_epoch();
      const std::vector<int64_t> mine = plan.local_indices(step / plan.steps_per_epoch(), s, env.rank);
      optimizer.zero_grad();
      if (!mine.empty()) {
        torch::Tensor index = torch::tensor(mine, torch::kLong);
        // Scaled by the *global* batch: the sum over ranks is the full batch's mean-loss gradient.
        torch::Tensor loss = pb::dist::scaled_loss(kind, model.forward(data.inputs.index_select(0, index)),
                                                   data.targets.index_select(0, index), plan.global_batch_size(s));
        loss.backward();
        loss_sum = loss.item<double>();
      }
      ddp.finish_gradient_sync();
      wait += ddp.last_wait_seconds();
      optimizer.step();
    }
    const double seconds = timer.seconds();
    std::vector<torch::Tensor> loss{torch::full({1}, loss_sum)};  // the global batch's loss is the sum
    group.group->allreduce(loss)->wait();
    double checksum = 0;
    for (const auto& p : params) checksum += p.sum().item<double>();
    std::cout << "== Step 4b: rank " << env.rank << " ==\nfinal loss " << loss[0].item<double>() << ", "
              << static_cast<int64_t>(static_cast<double>(steps * global_batch) / seconds) << " samples/s, "
              << 1e3 * wait / static_cast<double>(steps) << " ms/step waiting for gradients, parameter checksum "
              << checksum << " (step 1 prints the single-process one)\n";

    // Held-out accuracy, evaluated in shards. Every rank holds the same parameters: each scores
    // every world-th held-out sample, and one all-reduce sums the correct answers and the counts.
    const pb::TensorData shard{split.val.inputs.slice(0, env.rank, kValSamples, env.world_size),
                               split.val.targets.slice(0, env.rank, kValSamples, env.world_size)};
    const double local = pb::evaluate(model, kind, shard).accuracy * static_cast<double>(shard.size());
    std::vector<torch::Tensor> counts{torch::tensor({std::round(local), static_cast<double>(shard.size())}, torch::kDouble)};
    group.group->allreduce(counts)->wait();
    const double correct = counts[0][0].item<double>(), total = counts[0][1].item<double>();
    std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * correct / total << "% (chance: "
              << 100 / pb::output_size(kind) << "%) on " << static_cast<int64_t>(total) << " samples never trained on, "
              << shard.size() << " of them scored on this rank\n";
    group.group->barrier()->wait();
    return 0;
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
}
