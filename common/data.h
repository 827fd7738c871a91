// Synthetic, learnable data for the three source models, a held-out split, a simulated per-sample
// loading cost, and the batch dataset that libtorch's DataLoader reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

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

// Data that the model of `kind` can learn, unlike the source 000's random labels. Deterministic by
// seed (same seed, bit-identical tensors).
//  - linear, mlp: 10 standard normal features, labelled by a fixed random linear "teacher":
//    label = argmax(x * W), W a 10x2 Gaussian draw.
//  - cnn: 3x32x32 images of 10 classes; each class has a fixed random low-frequency colour pattern
//    (a 3x4x4 Gaussian draw upsampled bilinearly to 32x32, standard deviation 2), and an image is
//    its class's pattern plus unit Gaussian noise on every pixel. Labels are uniform over classes.
// `train_size + val_size` samples are drawn once and cut in two, so the validation split never
// shares a sample with the training split.
// Targets: int64 labels for linear and cnn, float one-hot rows for the MSE-trained mlp.
// benchmarks/peer_python/pb_common.py repeats these draws op for op, so that the Python peer
// trains on bit-identical data: change the two together.
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
  // Called by make_loader: get_batch lowers the priority of any thread other than the one that
  // created the dataset (that is, of DataLoader workers) by `nice`, once per thread.
  void set_worker_nice(int64_t nice) { worker_nice_ = nice; }

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
  std::thread::id creator_ = std::this_thread::get_id();
  int64_t worker_nice_ = 0;
};

// DataLoader settings; both knobs matter only with workers (docs/1_multi_cpu.md, step 7).
//  - prefetch: libtorch's max_jobs, how many batches may be requested ahead of the training loop.
//    0 keeps libtorch's default of 2 per worker, which leaves the training thread waiting for a
//    wake-up on cheap batches.
//  - ordered: libtorch's enforce_ordering. With several workers, batches finish out of order;
//    ordered delivery makes the training thread wait for the one next in line (a worker that
//    was preempted holds everyone up), unordered takes whichever is ready. The batches are the
//    same random shuffle either way; only their order, and so the exact loss curve, changes.
struct LoaderOptions {
  int64_t batch_size = 32;
  int64_t workers = 0;
  int64_t prefetch = 0;
  bool ordered = true;
  // Lower the worker threads' scheduling priority (nice) so that, when there are more busy
  // threads than cores, the training thread is never the one preempted: workers then fill idle
  // core time instead of competing for it. 0 leaves them at the training thread's priority.
  int64_t worker_nice = 0;
};

// Named loader settings, compared by tutorial 1 step 7 and benchmark family 1:
//   default         libtorch's defaults: 2 batches ahead per worker, ordered, normal priority
//   deep            a deep prefetch (`deep_prefetch` batches, a whole epoch where possible)
//   deep-nice       deep, and workers at nice 19: they only use core time the trainer leaves
//   deep-unordered  deep, batches delivered as they finish
struct LoaderPreset {
  std::string name;
  bool deep;
  bool ordered;
  int64_t worker_nice;
};
const std::vector<LoaderPreset>& loader_presets();
// Throws std::invalid_argument("unknown loader 'x' (expected default, deep, deep-nice or deep-unordered)").
const LoaderPreset& find_loader_preset(const std::string& name);
LoaderOptions loader_options(const LoaderPreset& preset, int64_t batch_size, int64_t workers, int64_t deep_prefetch);

using Loader = torch::data::StatelessDataLoader<SyntheticDataset, torch::data::samplers::RandomSampler>;

// A shuffling DataLoader over `dataset`. The shuffle order comes from torch's global generator.
std::unique_ptr<Loader> make_loader(SyntheticDataset dataset, const LoaderOptions& options);

}  // namespace pb
