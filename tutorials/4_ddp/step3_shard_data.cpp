// Tutorial 4, step 3: give every rank its own part of each batch (the distributed sampler).
//
// Every rank computes the same shuffled order of the dataset (same seed, same epoch: no
// communication needed), cuts it into global batches of world x batch samples, and takes every
// world-th sample of each. Across ranks every sample is trained on exactly once per epoch.
// PyTorch's DistributedSampler instead pads the epoch with repeated samples so that every rank
// gets the same count; here the last, short batch is simply split unevenly (a rank may even get
// none), and step 4's loss scaling keeps the gradient exact. The data is step 1's (story.h): its
// 512 samples, its global batches of 64, its seed, so each rank's part is a part of step 1's batch.
#include <algorithm>
#include <iostream>
#include <sstream>

#include "common/cli.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "common/distributed/shard.h"
#include "story.h"

// Indices shown of the first step's shard; the rest are counted.
constexpr size_t kShown = 8;

int main(int argc, char** argv) {
  int64_t nproc = 0;
  series4::Settings settings;  // step 1's samples and global batch (story.h)
  pb::Cli cli("tutorial_4_step3_shard_data", "Step 3: shard each epoch across ranks, no sample lost or repeated.");
  cli.option("nproc", &nproc, "start this many local ranks", 0, 64)
      .option("samples", &settings.samples, "dataset size", 1, 1'000'000)
      .option("global-batch", &settings.global_batch, "samples per step across all ranks", 1, 65536);
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;
  pb::dist::DistEnv env;
  const pb::dist::Group group = series4::step2_connect(cli.program(), &env);
  series4::print_start(3, settings, env.world_size);
  series4::announce_command_line(settings);
  const int64_t samples = settings.samples;

  // ---- Step 3a: this rank's samples, step by step --------------------------------------------
  const pb::dist::ShardPlan plan = series4::step3_shards(samples, settings.global_batch, env.world_size);
  const pb::dist::ShardPlan batches = series4::step1_batches(samples, settings.global_batch);  // step 1's
  std::ostringstream sizes, first;
  torch::Tensor counts = torch::zeros({samples}, torch::kLong);  // how often each sample was used
  bool in_step1_batch = true;  // is every sample this rank gets at step s in step 1's batch s?
  for (int64_t step = 0; step < plan.steps_per_epoch(); ++step) {
    const std::vector<int64_t> mine = plan.local_indices(/*epoch=*/0, step, env.rank);
    const std::vector<int64_t> global = batches.global_indices(/*epoch=*/0, step);
    sizes << " " << mine.size();
    for (size_t k = 0; k < mine.size(); ++k) {
      counts[mine[k]] += 1;
      in_step1_batch = in_step1_batch && std::find(global.begin(), global.end(), mine[k]) != global.end();
      if (step == 0 && k < kShown) first << " " << mine[k];
    }
    if (step == 0 && mine.size() > kShown) first << " ... (" << mine.size() - kShown << " more)";
  }
  std::cout << "== Step 3a: rank " << env.rank << "'s samples in epoch 0 ==\nsamples per step:" << sizes.str()
            << "\nstep 0: [" << first.str() << " ]\n";

  // ---- Step 3b: check across ranks: every sample exactly once ---------------------------------
  std::vector<torch::Tensor> total{counts};
  try {
    group.group->allreduce(total)->wait();
  } catch (const std::exception& e) {  // a peer died or timed out: one line naming it
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
  const bool exact = torch::equal(total[0], torch::ones({samples}, torch::kLong));
  std::cout << "== Step 3b: across " << env.world_size << " ranks ==\nevery one of " << samples
            << " samples used exactly once: " << (exact ? "yes" : "NO") << "\nrank " << env.rank
            << "'s samples of each step are in step 1's global batch of that step: " << (in_step1_batch ? "yes" : "NO")
            << "\n";
  try {
    group.group->barrier()->wait();
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
  return exact && in_step1_batch ? 0 : 1;
}
