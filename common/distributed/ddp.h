// Distributed data parallel for libtorch (which has no C++ DistributedDataParallel): parameters
// broadcast from rank 0, gradients summed across ranks in buckets, each bucket's all-reduce
// launched from autograd hooks while backward is still running, so communication overlaps
// computation; or, for comparison, all buckets reduced after backward.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "common/distributed/process_group.h"
#include "common/models.h"

namespace pb::dist {

// PyTorch DDP's default bucket size.
constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

struct DdpOptions {
  int64_t bucket_bytes = kDefaultBucketBytes;
  bool overlap = true;  // launch each bucket from backward; false: reduce everything afterwards
};

// Gradients are SUMMED across ranks, not averaged: every rank scales its loss by the size of the
// *global* batch (see scaled_loss), so the sum is exactly the gradient of the mean loss over the
// global batch, even when ranks hold different numbers of samples (the last, short batch).
//
// With overlap, the constructor hooks each parameter's gradient accumulator and the destructor
// removes those hooks again (as PyTorch's reducer does), so the model may outlive the wrapper, be
// trained without it or be wrapped anew. Do not destroy the wrapper while a backward is running.
class DistributedDataParallel {
 public:
  DistributedDataParallel(std::vector<torch::Tensor> parameters, c10::intrusive_ptr<Collectives> group,
                          DdpOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // Copies rank 0's parameters to every rank (call once, before training).
  void broadcast_parameters();
  // Call after loss.backward(): launches what backward did not, waits for every bucket and writes
  // the summed gradients into each parameter's grad(). A rank with no samples this step calls it
  // without a backward: its zero gradients still take part, so no rank waits forever.
  // With overlap, a second backward before this call throws DistError from backward: "backward ran
  // again before finish_gradient_sync(): call finish_gradient_sync() after every backward".
  void finish_gradient_sync();

  size_t bucket_count() const { return buckets_.size(); }
  // True when every parameter's grad() is a view of its bucket (the state after construction and
  // after each finish_gradient_sync(), whatever zeroing replaced the gradients in between).
  bool grads_are_bucket_views() const;
  // Seconds the last finish_gradient_sync() spent waiting: the communication backward did not hide.
  double last_wait_seconds() const { return last_wait_seconds_; }

 private:
  struct Bucket {
    std::vector<size_t> params;   // indices into parameters_
    std::vector<int64_t> offsets;  // element offset of each parameter in `flat`
    torch::Tensor flat;
    size_t ready = 0;
    bool launched = false;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_gradient_ready(size_t param);
  void remove_hooks() noexcept;
  // Where parameter i of bucket b lives in the bucket's memory, and a view of it shaped like the parameter.
  static void* bucket_address(const Bucket& b, size_t i);
  torch::Tensor bucket_view(const Bucket& b, size_t i) const;
  void launch_ready_buckets(bool force);

  std::vector<torch::Tensor> parameters_;
  c10::intrusive_ptr<Collectives> group_;
  DdpOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  size_t next_launch_ = 0;  // buckets launch strictly in index order, identical on every rank
  // Each hooked gradient accumulator with its hook's key for del_post_hook(). Held, not weak: a
  // tensor holds its accumulator only weakly, and a new one would come without the hook.
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
  std::vector<bool> gradient_ready_;  // per parameter: its hook fired since the last finish_gradient_sync()
  double last_wait_seconds_ = 0;
};

// The loss of this rank's part of a global batch, scaled so that summing gradients across ranks
// gives the mean-loss gradient over the whole global batch of `global_count` samples.
torch::Tensor scaled_loss(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target, int64_t global_count);

}  // namespace pb::dist
