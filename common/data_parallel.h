// Single-process data parallelism with replicas that live across steps: the master's parameters
// are copied into each replica, the batch is split, replicas run forward and backward in parallel
// threads (on CPU cores or GPUs), and their gradients are summed into the master, which the one
// optimizer then steps. The fix for libtorch's data_parallel, which clones every replica again on
// every call (pytorch/pytorch#40581; docs/3_data_parallel.md).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/error.h"

namespace pb {

// More replicas than this is a typo, not a configuration (and a thread each).
constexpr int64_t kMaxReplicas = 64;

struct DataParallelError : Error {
  using Error::Error;
};

struct ReplicaOptions {
  // One entry per replica; a device may repeat (replicas then share it: on one GPU this measures
  // the overhead of the strategy; on the CPU each replica is a thread). The master lives on the
  // first device and is replica 0.
  std::vector<torch::Device> devices{torch::kCPU};
  // Intra-op threads inside each replica's thread (CPU replicas): replicas x threads should not
  // exceed the cores.
  int64_t threads_per_replica = 1;
  // false: clone every replica from the master on every step, as upstream data_parallel does (a
  // clone re-runs the module's reset(), that is its random initialisation, then copies the
  // weights). Kept to measure that cost on any device, including the CPU where upstream cannot run.
  bool persistent = true;
};

// A mean-reduced loss of (output, target); each replica's loss is scaled by its share of the batch.
using LossFn = std::function<torch::Tensor(const torch::Tensor& output, const torch::Tensor& target)>;

// How a batch of `batch` samples is split over `replicas`: sizes differ by at most one, larger
// first (5 over 3 -> 2, 2, 1); with fewer samples than replicas the last replicas get 0. Throws
// DataParallelError for replicas < 1 or batch < 0.
std::vector<int64_t> split_sizes(int64_t batch, int64_t replicas);

// The largest difference between the gradients of `a` and `b` (same structure), relative to the
// largest gradient of `b`: the check that data-parallel training computes what one device does.
double relative_gradient_difference(torch::nn::Module& a, torch::nn::Module& b);

class ReplicatedDataParallel {
 public:
  // `master` must be cloneable (derive from torch::nn::Cloneable<T>); it is moved to
  // options.devices[0]. Throws DataParallelError for no devices, more than kMaxReplicas, threads
  // per replica below 1, or a module that cannot be cloned.
  ReplicatedDataParallel(torch::nn::AnyModule master, LossFn loss, ReplicaOptions options = {});
  ~ReplicatedDataParallel();
  ReplicatedDataParallel(const ReplicatedDataParallel&) = delete;
  ReplicatedDataParallel& operator=(const ReplicatedDataParallel&) = delete;

  // Forward and backward of one batch across the replicas. Like loss.backward(), it ACCUMULATES
  // into the master's grad(): zero them first (optimizer.zero_grad()). The result equals
  // single-device backward of the mean loss over the whole batch, up to float rounding. Returns
  // that loss. Inputs and targets may be on any device; each replica copies its slice. When a
  // replica throws, the exception reaches the caller and the master's gradients are partial:
  // zero them before the next step.
  double forward_backward(const torch::Tensor& inputs, const torch::Tensor& targets);

  torch::nn::AnyModule& master() { return master_; }
  int64_t replica_count() const { return static_cast<int64_t>(options_.devices.size()); }
  // Intra-op threads each replica thread reported at start-up (tests check the setting took).
  std::vector<int64_t> replica_thread_counts() const;

 private:
  class Threads;
  torch::nn::AnyModule clone_to(const torch::Device& device) const;
  // Copies the master's parameters, buffers and train/eval mode into the other replicas, and
  // drops their old gradients.
  void broadcast();
  void run_replica(size_t r, const torch::Tensor& inputs, const torch::Tensor& targets, int64_t begin, int64_t count,
                   int64_t batch);

  torch::nn::AnyModule master_;
  LossFn loss_;
  ReplicaOptions options_;
  std::vector<torch::nn::AnyModule> replicas_;  // [0] is the master itself when persistent
  std::vector<double> losses_;                  // scaled loss of each replica, last step
  std::unique_ptr<Threads> threads_;
};

}  // namespace pb
