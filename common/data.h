// Synthetic, learnable data for the three source models, a held-out split, a simulated per-sample
// loading cost, and the batch dataset that libtorch's DataLoader reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "common/models.h"

namespace pb {

// Inputs and targets of one split, both on the CPU, first dimension = samples.
struct TensorData {
  torch::Tensor inputs;
  torch::Tensor targets;
  int64_t size() const { return inputs.size(0); }
};

struct DataSplit {
  TensorData train;
  TensorData val;
};

// Data that the model of `kind` can learn, unlike the source 000's random labels: a fixed random
// "teacher" (a linear map for linear/mlp, one image template per class for cnn) labels random
// inputs. Deterministic by seed. `train_size + val_size` samples are drawn once and cut in two,
// so the validation split never shares a sample with the training split.
// Targets: int64 labels for linear and cnn, float one-hot rows for the MSE-trained mlp.
DataSplit make_synthetic_split(ModelKind kind, int64_t train_size, int64_t val_size, uint64_t seed);

// The source 000's data, kept to show its error: random features with random labels. There is
// nothing to learn, so a held-out split scores chance accuracy (about 50%) however long one trains.
TensorData make_random_label_data(int64_t size, uint64_t seed);

// Simulated per-sample loading cost (decode, augmentation): a fixed amount of real CPU work,
// calibrated once per process so that `us` microseconds of it take about `us` on this machine.
// Work, not sleep: a worker thread that is descheduled must not get its "loading" done for free.
int64_t load_cost_iterations_per_us();
// Burns `iterations` steps of a dependent integer hash; returns it so it cannot be optimised away.
uint64_t burn_load_cost(uint64_t seed, int64_t iterations);

// How many samples and which ones a dataset handed out since the last take(): the check that a
// loader lost or duplicated nothing. Sums of indices and of their squares catch a swap of one
// lost index for one duplicated index that a plain count would miss.
struct Coverage {
  int64_t count = 0;
  uint64_t index_sum = 0;
  uint64_t index_square_sum = 0;
  // True when the counts equal exactly one pass over indices 0..n-1.
  bool is_one_epoch_of(int64_t n) const;
};

// A batch-level dataset: the DataLoader hands it a whole batch of indices at once, which avoids
// building and stacking one Example per sample (measured ~1.6x faster on the 000 workflow).
// get_batch is thread-safe, so DataLoader worker threads may call it concurrently.
class SyntheticDataset : public torch::data::datasets::BatchDataset<SyntheticDataset, torch::data::Example<>> {
 public:
  SyntheticDataset(TensorData data, double load_cost_us);
  torch::data::Example<> get_batch(c10::ArrayRef<size_t> indices) override;
  c10::optional<size_t> size() const override;
  // Returns the coverage since the last call and resets it. Shared by copies of this dataset, so
  // it still works after the DataLoader has taken the dataset by value.
  Coverage take_coverage();

 private:
  struct Counters {
    std::atomic<int64_t> count{0};
    std::atomic<uint64_t> index_sum{0};
    std::atomic<uint64_t> index_square_sum{0};
    std::atomic<uint64_t> load_sink{0};  // results of the load work, so the compiler must do it
  };
  TensorData data_;
  int64_t load_iterations_per_sample_;
  std::shared_ptr<Counters> counters_;
};

// DataLoader settings. `prefetch` is libtorch's max_jobs: how many batches may be requested
// ahead of the training loop. 0 keeps libtorch's default of 2 per worker, which leaves the main
// thread waiting for a wake-up on cheap batches; see docs/1_multi_cpu.md. Ignored without workers.
struct LoaderOptions {
  int64_t batch_size = 32;
  int64_t workers = 0;
  int64_t prefetch = 0;
};

using Loader = torch::data::StatelessDataLoader<SyntheticDataset, torch::data::samplers::RandomSampler>;

// A shuffling DataLoader over `dataset`. The shuffle order comes from torch's global generator.
std::unique_ptr<Loader> make_loader(SyntheticDataset dataset, const LoaderOptions& options);

}  // namespace pb
