// ShardPlan: a deterministic per-epoch permutation (std::mt19937_64 seeded by seed and epoch,
// identical on every rank without communication) cut into batches and dealt round-robin.
#include "common/distributed/shard.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

namespace pb::dist {

ShardPlan::ShardPlan(int64_t dataset_size, int64_t global_batch, int64_t world_size, uint64_t seed)
    : dataset_size_(dataset_size), global_batch_(global_batch), world_size_(world_size), seed_(seed) {
  if (dataset_size < 1 || global_batch < 1 || world_size < 1) {
    throw std::invalid_argument("ShardPlan needs a dataset, a batch and a world of at least 1");
  }
}

int64_t ShardPlan::steps_per_epoch() const { return (dataset_size_ + global_batch_ - 1) / global_batch_; }

int64_t ShardPlan::global_batch_size(int64_t step) const {
  return std::min(global_batch_, dataset_size_ - step * global_batch_);
}

const std::vector<int64_t>& ShardPlan::permutation(int64_t epoch) const {
  if (epoch == cached_epoch_) return cached_order_;
  std::vector<int64_t>& order = cached_order_;
  order.resize(static_cast<size_t>(dataset_size_));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed_ * 1000003ULL + static_cast<uint64_t>(epoch));
  // Fisher-Yates by hand: std::shuffle's algorithm is not specified, so results could differ
  // between standard libraries, and every rank must compute the same order.
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
  }
  cached_epoch_ = epoch;
  return order;
}

std::vector<int64_t> ShardPlan::global_indices(int64_t epoch, int64_t step) const {
  if (step < 0 || step >= steps_per_epoch()) throw std::out_of_range("step out of range");
  const std::vector<int64_t>& order = permutation(epoch);
  const auto begin = order.begin() + step * global_batch_;
  return std::vector<int64_t>(begin, begin + global_batch_size(step));
}

std::vector<int64_t> ShardPlan::local_indices(int64_t epoch, int64_t step, int64_t rank) const {
  const std::vector<int64_t> batch = global_indices(epoch, step);
  std::vector<int64_t> mine;
  for (size_t i = static_cast<size_t>(rank); i < batch.size(); i += static_cast<size_t>(world_size_)) {
    mine.push_back(batch[i]);
  }
  return mine;
}

}  // namespace pb::dist
