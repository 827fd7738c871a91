// ddp_check: trains with pb::dist::DistributedDataParallel on N ranks and checks the result against
// single-process training on the same global batches. Run by the distributed tests in
// CMakeLists.txt; also the failure cases (a rank that dies, a bad environment).
#include <csignal>

#include <chrono>
#include <cmath>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/distributed/ddp.h"
#include "common/distributed/ddp_step.h"
#include "common/distributed/launcher.h"
#include "common/distributed/shard.h"

namespace {

// Parameters of all ranks must agree with single-process training to float32 rounding (the
// all-reduce sums in another order than one process would).
constexpr double kTolerance = 1e-5;

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double scale = std::max(1.0, b[i].abs().max().item<double>());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nproc = 0, samples = 103, global_batch = 32, steps = 6, bucket_bytes = 256, fail_rank = -1, fail_step = -1,
          seed = 0;
  double timeout_s = 30, stop_timeout_s = 5;
  std::string model_name = "linear", zero = "default";
  bool no_overlap = false, fail_early = false;
  pb::Cli cli("ddp_check", "Checks DDP training against single-process training on the same global batches.");
  cli.option("nproc", &nproc, "start this many local ranks (0: this process is a rank)", 0, 64)
      .option("model", &model_name, "linear, mlp or cnn")
      .option("samples", &samples, "dataset size", 1, 1'000'000)
      .option("global-batch", &global_batch, "samples per step across all ranks", 1, 1'000'000)
      .option("steps", &steps, "training steps", 1, 100'000)
      .option("bucket-bytes", &bucket_bytes, "DDP bucket size", 1, int64_t{1} << 40)
      .flag("no-overlap", &no_overlap, "all-reduce after backward instead of from its hooks")
      .option("zero", &zero, "how gradients are zeroed: default (this libtorch's zero_grad()), none, in-place")
      .option("fail-rank", &fail_rank, "this rank exits with code 3 after connecting (tests the launcher)", -1, 64)
      .flag("fail-early", &fail_early, "the --fail-rank fails before the rendezvous: the others wait for it")
      .option("fail-step", &fail_step, "the --fail-rank is killed (SIGKILL) at this training step: a peer lost mid-run",
              -1, 100'000)
      .option("timeout", &timeout_s, "rendezvous and collective timeout, seconds", 0.1, 3600)
      .option("stop-timeout", &stop_timeout_s, "launcher: seconds the other ranks get after one fails", 0, 3600)
      .option("seed", &seed, "data and weight seed", 0, INT64_MAX);
  pb::parse_or_exit(cli, argc, argv);
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), model_name);
  if (zero != "default" && zero != "none" && zero != "in-place") {
    pb::fail_usage(cli.program(), "--zero: unknown mode '" + zero + "' (expected default, none or in-place)");
  }
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc, stop_timeout_s)) return *code;

  if (fail_early && std::getenv("RANK") != nullptr &&
      pb::or_exit(cli.program(), [] { return pb::parse_integer("RANK", std::getenv("RANK"), 0, 4095); }) == fail_rank) {
    std::cout << "rank " << fail_rank << " failing before the rendezvous" << std::endl;
    return 3;
  }
  pb::dist::DistEnv env;
  const pb::dist::Group group = pb::dist::connect_or_exit(
      cli.program(), torch::kCPU, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), &env);
  if (env.rank == fail_rank && fail_step < 0) {
    std::cout << "rank " << env.rank << " failing on purpose" << std::endl;
    return 3;
  }
  torch::set_num_threads(1);
  const pb::TensorData data = pb::make_synthetic_split(kind, samples, 1, static_cast<uint64_t>(seed)).train;
  const pb::dist::ShardPlan plan(samples, global_batch, env.world_size, static_cast<uint64_t>(seed));
  const auto lr = torch::optim::SGDOptions(0.05).momentum(0.9);

  // DDP: every rank starts from different weights; broadcast makes them rank 0's.
  torch::manual_seed(static_cast<uint64_t>(seed) + static_cast<uint64_t>(env.rank));
  torch::nn::AnyModule model = pb::make_model(kind);
  std::vector<torch::Tensor> params = model.ptr()->parameters();
  const pb::dist::SyncMode sync = no_overlap ? pb::dist::SyncMode::kAfterBackward : pb::dist::SyncMode::kOverlapped;
  pb::dist::DistributedDataParallel ddp(params, group.group, pb::dist::ddp_options(sync, bucket_bytes));
  // From here on every collective can fail (a peer died or timed out). The catch below is inside
  // the wrapper's scope: it exits without unwinding through DDP and the group, which would wait on
  // collectives that failed or are still stuck.
  try {
  ddp.broadcast_parameters();
  torch::optim::SGD optimizer(params, lr);
  int64_t local_samples = 0;
  bool bucket_views = ddp.grads_are_bucket_views();
  // The step bench_ddp times and tutorial 4 teaches (common/distributed/ddp_step.h).
  const pb::dist::DdpStepOptions step_options{
      kind, sync,
      zero == "default" ? pb::dist::Zeroing::kZeroGrad
                        : zero == "none" ? pb::dist::Zeroing::kSetToNone : pb::dist::Zeroing::kInPlace};
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t epoch = step / plan.steps_per_epoch(), s = step % plan.steps_per_epoch();
    const std::vector<int64_t> mine = plan.local_indices(epoch, s, env.rank);
    if (env.rank == fail_rank && step == fail_step) {
      std::cout << "rank " << env.rank << " killing itself at step " << step << std::endl;
      std::raise(SIGKILL);  // as kill -9 would: no exit handler runs, the kernel closes its sockets
    }
    // An empty share (the last, short batch on many ranks) still joins the gradient all-reduce.
    torch::Tensor index = torch::tensor(mine, torch::kLong);
    pb::dist::ddp_step(model, ddp, optimizer, data.inputs.index_select(0, index), data.targets.index_select(0, index),
                       plan.global_batch_size(s), step_options);
    bucket_views = bucket_views && ddp.grads_are_bucket_views();
    local_samples += static_cast<int64_t>(mine.size());
  }

  // Reference: one process, the same initial weights (rank 0's seed), the whole global batches.
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::nn::AnyModule reference = pb::make_model(kind);
  torch::optim::SGD reference_optimizer(reference.ptr()->parameters(), lr);
  for (int64_t step = 0; step < steps; ++step) {
    const std::vector<int64_t> all = plan.global_indices(step / plan.steps_per_epoch(), step % plan.steps_per_epoch());
    torch::Tensor index = torch::tensor(all, torch::kLong);
    reference_optimizer.zero_grad();
    pb::compute_loss(kind, reference.forward(data.inputs.index_select(0, index)), data.targets.index_select(0, index))
        .backward();
    reference_optimizer.step();
  }
  const double difference = max_difference(params, reference.ptr()->parameters());
  std::cout << "rank " << env.rank << "/" << env.world_size << " " << group.backend << ": " << ddp.bucket_count()
            << " bucket(s), " << local_samples << " local samples, max parameter difference from single-process "
            << difference << (difference < kTolerance ? " (match)" : " (MISMATCH)") << ", gradients "
            << (bucket_views ? "stayed bucket views" : "LEFT their buckets") << " (zero: " << zero << ")" << std::endl;
  group.group->barrier()->wait();
  return difference < kTolerance && bucket_views ? 0 : 1;
  } catch (const std::exception& error) {
    pb::dist::exit_on_collective_failure(cli.program(), group, error);
  }
}
