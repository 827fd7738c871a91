// Tutorial 4, step 3: give every rank its own part of each batch (the distributed sampler).
//
// Every rank computes the same shuffled order of the dataset (same seed, same epoch: no
// communication needed), cuts it into global batches of world x batch samples, and takes every
// world-th sample of each. Across ranks every sample is trained on exactly once per epoch.
// PyTorch's DistributedSampler instead pads the epoch with repeated samples so that every rank
// gets the same count; here the last, short batch is simply split unevenly (a rank may even get
// none), and step 4's loss scaling keeps the gradient exact.
#include <iostream>

#include "common/cli.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "common/distributed/shard.h"

// A small, uneven example: 10 samples, 4 per global batch: the last batch has 2.
constexpr int64_t kSamples = 10;
constexpr int64_t kGlobalBatch = 4;

int main(int argc, char** argv) {
  int64_t nproc = 0, samples = kSamples, global_batch = kGlobalBatch;
  pb::Cli cli("tutorial_4_step3_shard_data", "Step 3: shard each epoch across ranks, no sample lost or repeated.");
  cli.option("nproc", &nproc, "start this many local ranks", 0, 64)
      .option("samples", &samples, "dataset size", 1, 1'000'000)
      .option("global-batch", &global_batch, "samples per step across all ranks", 1, 65536);
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;
  pb::dist::DistEnv env;  // step 2 showed what connecting involves
  const pb::dist::Group group = pb::dist::connect_or_exit(cli.program(), torch::kCPU, std::chrono::seconds(30), &env);

  // ---- Step 3a: this rank's samples, step by step --------------------------------------------
  const pb::dist::ShardPlan plan(samples, global_batch, env.world_size, /*seed=*/0);
  std::ostringstream mine;
  torch::Tensor counts = torch::zeros({samples}, torch::kLong);  // how often each sample was used
  for (int64_t step = 0; step < plan.steps_per_epoch(); ++step) {
    mine << " step " << step << ": [";
    for (int64_t i : plan.local_indices(/*epoch=*/0, step, env.rank)) {
      mine << " " << i;
      counts[i] += 1;
    }
    mine << " ]";
  }
  std::cout << "== Step 3a: rank " << env.rank << "'s samples in epoch 0 ==\n" << mine.str() << "\n";

  // ---- Step 3b: check across ranks: every sample exactly once ---------------------------------
  std::vector<torch::Tensor> total{counts};
  try {
    group.group->allreduce(total)->wait();
  } catch (const std::exception& e) {  // a peer died or timed out: one line naming it
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
  const bool exact = torch::equal(total[0], torch::ones({samples}, torch::kLong));
  std::cout << "== Step 3b: across " << env.world_size << " ranks ==\nevery one of " << samples
            << " samples used exactly once: " << (exact ? "yes" : "NO") << "\n";
  try {
    group.group->barrier()->wait();
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
  return exact ? 0 : 1;
}
