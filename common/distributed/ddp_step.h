// One DDP training step (zero, forward, loss, backward with the wrapper's hooks, gradient sync,
// optimizer step) for a given sync mode: the step bench_ddp's ranks time, tests/ddp_check checks
// against single-process training and tutorial 4 step 4 teaches, written once.
#pragma once

#include <string>

#include <torch/torch.h>

#include "common/distributed/ddp.h"
#include "common/models.h"
#include "common/timer.h"

namespace pb::dist {

// How a step synchronises gradients across ranks.
enum class SyncMode {
  kNone,           // no communication: each rank trains alone on its shard (the overhead baseline)
  kAfterBackward,  // every bucket all-reduced once backward has finished
  kOverlapped,     // each bucket all-reduced from backward's hooks as soon as it is full
};
// "none", "after_backward", "overlapped": the words of bench_ddp's run names (sync:overlapped).
std::string sync_mode_name(SyncMode mode);
// The inverse; throws std::invalid_argument "unknown sync mode 'x' (expected none, after_backward
// or overlapped)".
SyncMode parse_sync_mode(const std::string& name);
// The wrapper options a mode needs: hooks (overlap) only for kOverlapped.
DdpOptions ddp_options(SyncMode mode, int64_t bucket_bytes);

// How the step clears the previous gradients. libtorch 1.13's zero_grad() zeroes in place; 2.x's
// sets them to none, so backward allocates new ones and the wrapper must point them back at their
// buckets: ddp_check runs all three to show the gradients stay bucket views either way.
enum class Zeroing { kZeroGrad, kSetToNone, kInPlace };

struct DdpStepOptions {
  ModelKind kind = ModelKind::kLinear;
  SyncMode sync = SyncMode::kOverlapped;
  Zeroing zeroing = Zeroing::kZeroGrad;
  // When set, the step's phases are charged to it: zeroing and the optimizer step to kOptimizer,
  // forward with the loss to kForward, backward to kBackward, the wait for gradients to kAllReduce
  // (the caller charges loading the batch, kLoad, before the call).
  PhaseClock* clock = nullptr;
};

struct DdpStepResult {
  // The loss backward ran on: without sync this rank's mean loss; with sync this rank's share of
  // the global batch's mean loss (summed over ranks it is that mean). Undefined when the rank had
  // no samples this step.
  torch::Tensor loss;
  double wait_seconds = 0;  // what finish_gradient_sync() waited: communication backward did not hide
};

// One step on this rank's part (`input`, `target`: possibly no rows, the last short batch) of a
// global batch of `global_count` samples. With sync, the loss is scaled by the global batch
// (scaled_loss), so the summed gradients are the global batch's mean-loss gradient, and a rank
// without samples still joins the all-reduce with zero gradients (else the others wait forever).
// `ddp` must wrap the model's parameters with ddp_options(options.sync, ...). Collective failures
// throw (DistError, c10::Error), as the wrapper's do.
DdpStepResult ddp_step(torch::nn::AnyModule& model, DistributedDataParallel& ddp, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& input, const torch::Tensor& target, int64_t global_count,
                       const DdpStepOptions& options);

}  // namespace pb::dist
