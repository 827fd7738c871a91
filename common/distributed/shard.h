// The distributed sampler: every epoch, one shuffled order of the whole dataset is cut into
// global batches, and each global batch is dealt out across the ranks. Every sample is seen
// exactly once per epoch across all ranks, for any dataset size, world size and batch size:
// nothing is dropped, and, unlike PyTorch's DistributedSampler, nothing is padded with duplicates.
#pragma once

#include <cstdint>
#include <vector>

namespace pb::dist {

class ShardPlan {
 public:
  // `global_batch` samples per step across all ranks (split as evenly as possible).
  ShardPlan(int64_t dataset_size, int64_t global_batch, int64_t world_size, uint64_t seed);

  int64_t steps_per_epoch() const;
  // The dataset indices of one global batch (all ranks together), in the epoch's shuffled order.
  // A single process training on these trains on exactly the same samples per step.
  std::vector<int64_t> global_indices(int64_t epoch, int64_t step) const;
  // This rank's part of that batch: positions rank, rank + world, ... of the global batch.
  // May be empty for the last, short batch when there are more ranks than samples left.
  std::vector<int64_t> local_indices(int64_t epoch, int64_t step, int64_t rank) const;
  // How many samples every rank together trains on at this step (the gradient's denominator).
  int64_t global_batch_size(int64_t step) const;

 private:
  const std::vector<int64_t>& permutation(int64_t epoch) const;
  int64_t dataset_size_, global_batch_, world_size_;
  uint64_t seed_;
  mutable int64_t cached_epoch_ = -1;  // the last epoch's order, reused by its every step
  mutable std::vector<int64_t> cached_order_;
};

}  // namespace pb::dist
