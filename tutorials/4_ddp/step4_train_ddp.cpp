// Tutorial 4, step 4: distributed data parallel training, and why it beats DataParallel.
//
// Each rank: a full copy of the model (made once, then kept: no per-step replication), its shard
// of each global batch (step 3), forward and backward on its own core or GPU, then the gradients
// are summed across ranks (common/distributed/ddp.h): in buckets, each launched from an autograd
// hook as soon as backward has produced it, so communication overlaps the rest of backward. Every
// rank then takes the same optimizer step: no master copy, no gather on one device. At the end
// the ranks evaluate the trained model on held-out samples, each on its own share, and sum the
// counts: the accuracy step 1 prints. Everything it starts from is the series so far (story.h):
// step 1's data, model and settings, step 2's rendezvous, step 3's shards; and it checks its
// result against step 1's training, run again on every rank.
#include <cmath>
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/distributed/ddp.h"
#include "common/distributed/ddp_step.h"
#include "common/distributed/launcher.h"
#include "common/distributed/shard.h"
#include "common/timer.h"
#include "common/train.h"
#include "story.h"

int main(int argc, char** argv) {
  int64_t nproc = 0;
  series4::Settings settings;  // step 1's model, samples, global batch and steps; the bucket size
  bool no_overlap = false;
  pb::Cli cli("tutorial_4_step4_train_ddp", "Step 4: train with DDP on several processes; compare with step 1.");
  cli.option("nproc", &nproc, "start this many local ranks", 0, 64)
      .option("model", &settings.model, "linear, mlp or cnn")
      .option("global-batch", &settings.global_batch, "samples per step across all ranks", 1, 65536)
      .option("samples", &settings.samples, "dataset size", 1, 10'000'000)
      .option("steps", &settings.steps, "training steps", 1, 1'000'000)
      .option("bucket-bytes", &settings.bucket_bytes, "gradient bucket size", 1, int64_t{1} << 40)
      .flag("no-overlap", &no_overlap, "all-reduce after backward instead of during it");
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), settings.model);
  pb::dist::DistEnv env;
  const pb::dist::Group group = series4::step2_connect(cli.program(), &env);  // step 2's rendezvous
  series4::print_start(4, settings, env.world_size);
  series4::announce_command_line(settings);
  torch::set_num_threads(static_cast<int>(settings.threads));  // one core per rank: ranks use the others

  // ---- Step 4a: the same model on every rank --------------------------------------------------
  const pb::DataSplit split = series4::step1_data(kind, settings.samples);  // every rank holds it all
  const pb::TensorData& data = split.train;
  const pb::dist::ShardPlan plan = series4::step3_shards(settings.samples, settings.global_batch, env.world_size);
  torch::manual_seed(series4::kSeed + static_cast<uint64_t>(env.rank));  // deliberately different...
  torch::nn::AnyModule model = pb::make_model(kind);
  std::vector<torch::Tensor> params = model.ptr()->parameters();
  const pb::dist::SyncMode sync = no_overlap ? pb::dist::SyncMode::kAfterBackward : pb::dist::SyncMode::kOverlapped;
  pb::dist::DistributedDataParallel ddp(params, group.group, pb::dist::ddp_options(sync, settings.bucket_bytes));
  // A peer that dies (or hangs past the timeout) fails the collectives below: one line naming it.
  // The catch is inside the wrapper's scope, so it exits without unwinding through it.
  try {
    if (env.rank == 0) {  // ...then rank 0's weights, step 1's initial ones, are broadcast to all (step 2)
      torch::nn::AnyModule reference = series4::step1_model(kind);
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
    for (int64_t step = 0; step < settings.steps; ++step) {
      const int64_t s = step % plan.steps_per_epoch();
      const std::vector<int64_t> mine = plan.local_indices(step / plan.steps_per_epoch(), s, env.rank);
      // One DDP step (common/distributed/ddp_step.cpp, the step bench_ddp times and ddp_check
      // checks): zero the gradients, forward, the loss scaled by the *global* batch (summed over
      // ranks it is the full batch's mean loss), backward, whose hooks all-reduce each full bucket,
      // finish_gradient_sync() to wait for the last buckets, then the optimizer step. A rank with
      // no samples in the last short batch still joins the all-reduce, or the others would wait.
      const torch::Tensor index = torch::tensor(mine, torch::kLong);
      const pb::dist::DdpStepResult result =
          pb::dist::ddp_step(model, ddp, optimizer, data.inputs.index_select(0, index), data.targets.index_select(0, index),
                             plan.global_batch_size(s), {kind, sync});
      if (result.loss.defined()) loss_sum = result.loss.item<double>();
      wait += result.wait_seconds;
    }
    const double seconds = timer.seconds();
    std::vector<torch::Tensor> loss{torch::full({1}, loss_sum)};  // the global batch's loss is the sum
    group.group->allreduce(loss)->wait();
    const double steps = static_cast<double>(settings.steps);
    std::cout << "== Step 4b: rank " << env.rank << " ==\nfinal loss " << loss[0].item<double>() << ", "
              << static_cast<int64_t>(steps * static_cast<double>(settings.global_batch) / seconds) << " samples/s, "
              << 1e3 * wait / steps << " ms/step waiting for gradients, parameter checksum "
              << series4::parameter_checksum(params) << "\n";

    // ---- Step 4c: compare with step 1, then score the held-out samples -------------------------
    // Every rank trains step 1's single process again (series4::step1_trained, the loop step 1 ran)
    // and compares: DDP must change where the work happens, not what is learnt.
    const series4::Step1Trained reference = series4::step1_trained(kind, data, settings);
    const double difference = series4::max_difference(params, reference.model.ptr()->parameters());
    const bool same = difference <= series4::kTolerance;
    const double checksum = series4::parameter_checksum(reference.model.ptr()->parameters());
    std::cout << "== Step 4c: rank " << env.rank << " against step 1 ==\nstep 1's single process: final loss "
              << reference.final_loss << ", parameter checksum " << checksum << "; largest parameter difference " << difference << " (tolerance " << series4::kTolerance
              << "): " << (same ? "the same" : "DIFFERENT") << "\n";
    // Every rank holds the same parameters: each scores every world-th held-out sample, and one
    // all-reduce sums the correct answers and the counts.
    const int64_t val = split.val.size();
    const pb::TensorData shard{split.val.inputs.slice(0, env.rank, val, env.world_size),
                               split.val.targets.slice(0, env.rank, val, env.world_size)};
    const double local = pb::evaluate(model, kind, shard).accuracy * static_cast<double>(shard.size());
    std::vector<torch::Tensor> counts{
        torch::tensor({std::round(local), static_cast<double>(shard.size())}, torch::kDouble)};
    group.group->allreduce(counts)->wait();
    const double correct = counts[0][0].item<double>(), total = counts[0][1].item<double>();
    std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * correct / total << "% (chance: "
              << 100 / pb::output_size(kind) << "%) on " << static_cast<int64_t>(total) << " samples never trained on, "
              << shard.size() << " of them scored on this rank\n";
    group.group->barrier()->wait();
    return same ? 0 : 1;
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
}
