// One DDP training step for a sync mode (ddp_step.h).
#include "common/distributed/ddp_step.h"

#include <stdexcept>

namespace pb::dist {

std::string sync_mode_name(SyncMode mode) {
  switch (mode) {
    case SyncMode::kNone: return "none";
    case SyncMode::kAfterBackward: return "after_backward";
    case SyncMode::kOverlapped: return "overlapped";
  }
  return "unknown";
}

SyncMode parse_sync_mode(const std::string& name) {
  for (SyncMode mode : {SyncMode::kNone, SyncMode::kAfterBackward, SyncMode::kOverlapped}) {
    if (name == sync_mode_name(mode)) return mode;
  }
  throw std::invalid_argument("unknown sync mode '" + name + "' (expected none, after_backward or overlapped)");
}

DdpOptions ddp_options(SyncMode mode, int64_t bucket_bytes) { return {bucket_bytes, mode == SyncMode::kOverlapped}; }

namespace {

void zero_gradients(torch::optim::Optimizer& optimizer, Zeroing zeroing) {
  if (zeroing == Zeroing::kZeroGrad) {
    optimizer.zero_grad();
    return;
  }
  for (auto& group : optimizer.param_groups()) {
    for (torch::Tensor& p : group.params()) {
      if (zeroing == Zeroing::kSetToNone) {
        p.mutable_grad() = torch::Tensor();
      } else if (p.grad().defined()) {
        p.mutable_grad().zero_();
      }
    }
  }
}

}  // namespace

DdpStepResult ddp_step(torch::nn::AnyModule& model, DistributedDataParallel& ddp, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& input, const torch::Tensor& target, int64_t global_count,
                       const DdpStepOptions& options) {
  auto lap = [&](Phase phase) {
    if (options.clock != nullptr) options.clock->lap(phase);
  };
  DdpStepResult result;
  zero_gradients(optimizer, options.zeroing);
  lap(Phase::kOptimizer);
  if (input.size(0) > 0) {
    const torch::Tensor output = model.forward(input);
    result.loss = options.sync == SyncMode::kNone ? compute_loss(options.kind, output, target)
                                                  : scaled_loss(options.kind, output, target, global_count);
    lap(Phase::kForward);
    result.loss.backward();  // with overlap, the wrapper's hooks launch each full bucket from here
    lap(Phase::kBackward);
  }
  if (options.sync != SyncMode::kNone) {
    ddp.finish_gradient_sync();
    result.wait_seconds = ddp.last_wait_seconds();
    lap(Phase::kAllReduce);
  }
  optimizer.step();
  lap(Phase::kOptimizer);
  return result;
}

}  // namespace pb::dist
