// Synthetic data generation, simulated loading cost and the DataLoader dataset.
#include "common/data.h"

#include <ATen/CPUGeneratorImpl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace pb {
namespace {

// The cnn's class patterns: a kPatternSize x kPatternSize Gaussian draw per class and channel,
// bilinearly upsampled to 32x32, so each class is a smooth colour pattern that 3x3 convolutions
// and 2x2 poolings keep. (A template of independent random pixels, which this data used before,
// is as separable in principle, but the source CNN stayed near chance on it, 11-18% held out,
// within the tutorials' 8-16 SGD steps.) kPatternScale is the patterns' standard deviation against
// the unit per-pixel noise: high enough that the source CNN at its SGD lr 0.001 reaches ~70% held
// out within series 4's 8 steps of 64 images, low enough that a single image stays noisy.
constexpr int64_t kPatternSize = 4;
constexpr double kPatternScale = 2.0;

// kPatternSize x kPatternSize random patterns per class, upsampled to 32x32, standard deviation 1.
torch::Tensor class_patterns(int64_t classes, at::Generator& gen) {
  torch::Tensor coarse = torch::randn({classes, 3, kPatternSize, kPatternSize}, gen);
  namespace F = torch::nn::functional;
  torch::Tensor patterns = F::interpolate(
      coarse, F::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32}).mode(torch::kBilinear).align_corners(false));
  return patterns / patterns.std();
}

}  // namespace

DataSplit make_synthetic_split(ModelKind kind, int64_t train_size, int64_t val_size, uint64_t seed) {
  TORCH_CHECK(train_size > 0 && val_size >= 0, "dataset sizes must be positive");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = train_size + val_size;
  torch::Tensor inputs, labels;
  if (kind == ModelKind::kCnn) {
    torch::Tensor patterns = class_patterns(output_size(kind), gen);
    labels = torch::randint(0, output_size(kind), {n}, gen, torch::kLong);
    inputs = torch::randn({n, 3, 32, 32}, gen) + kPatternScale * patterns.index_select(0, labels);
  } else {
    torch::Tensor teacher = torch::randn({10, output_size(kind)}, gen);
    inputs = torch::randn({n, 10}, gen);
    labels = inputs.mm(teacher).argmax(1);
  }
  torch::Tensor targets =
      kind == ModelKind::kMlp ? torch::one_hot(labels, output_size(kind)).to(torch::kFloat) : labels;
  DataSplit split;
  split.train = {inputs.slice(0, 0, train_size).contiguous(), targets.slice(0, 0, train_size).contiguous()};
  split.val = {inputs.slice(0, train_size, n).contiguous(), targets.slice(0, train_size, n).contiguous()};
  return split;
}

TensorData make_random_label_data(int64_t size, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor inputs = torch::randn({size, 10}, gen);
  torch::Tensor labels = torch::randint(0, 2, {size}, gen, torch::kLong);
  return {inputs, labels};
}

uint64_t burn_load_cost(uint64_t seed, int64_t iterations) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (int64_t i = 0; i < iterations; ++i) {  // xorshift64: each step depends on the last
    h ^= h << 13;
    h ^= h >> 7;
    h ^= h << 17;
  }
  return h;
}

int64_t load_cost_iterations_per_us() {
  static const int64_t per_us = [] {
    constexpr int64_t kProbe = 1 << 20;
    double best_us = 1e300;
    volatile uint64_t sink = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {  // best of five: ignore a descheduled attempt
      auto start = std::chrono::steady_clock::now();
      sink = sink + burn_load_cost(attempt, kProbe);
      auto stop = std::chrono::steady_clock::now();
      best_us = std::min(best_us, std::chrono::duration<double, std::micro>(stop - start).count());
    }
    return std::max<int64_t>(1, static_cast<int64_t>(kProbe / best_us));
  }();
  return per_us;
}

bool Coverage::is_one_epoch_of(int64_t n) const {
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t sum = n > 0 ? un * (un - 1) / 2 : 0;
  const uint64_t square_sum = n > 0 ? (un - 1) * un * (2 * un - 1) / 6 : 0;
  return count == n && index_sum == sum && index_square_sum == square_sum;
}

SyntheticDataset::SyntheticDataset(TensorData data, double load_cost_us)
    : data_(std::move(data)),
      load_iterations_per_sample_(static_cast<int64_t>(load_cost_us * (load_cost_us > 0 ? load_cost_iterations_per_us() : 0))),
      counters_(std::make_shared<Counters>()) {}

torch::data::Example<> SyntheticDataset::get_batch(c10::ArrayRef<size_t> indices) {
  if (worker_nice_ > 0 && std::this_thread::get_id() != creator_) {
    thread_local bool niced = false;  // a worker thread serves one loader for its whole life
    if (!niced) {
      // Linux: setpriority on a thread id changes that thread only. Raising nice needs no rights.
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), static_cast<int>(worker_nice_));
      niced = true;
    }
  }
  std::vector<int64_t> rows(indices.begin(), indices.end());
  uint64_t sum = 0, square_sum = 0, sink = 0;
  for (size_t index : indices) {
    sum += index;
    square_sum += static_cast<uint64_t>(index) * index;
    if (load_iterations_per_sample_ > 0) sink += burn_load_cost(index, load_iterations_per_sample_);
  }
  counters_->count += static_cast<int64_t>(indices.size());
  counters_->index_sum += sum;
  counters_->index_square_sum += square_sum;
  counters_->load_sink.fetch_xor(sink, std::memory_order_relaxed);  // keeps the load work observable
  torch::Tensor index = torch::from_blob(rows.data(), {static_cast<int64_t>(rows.size())}, torch::kLong);
  return {data_.inputs.index_select(0, index), data_.targets.index_select(0, index)};
}

c10::optional<size_t> SyntheticDataset::size() const { return static_cast<size_t>(data_.size()); }

Coverage SyntheticDataset::take_coverage() {
  Coverage c;
  c.count = counters_->count.exchange(0);
  c.index_sum = counters_->index_sum.exchange(0);
  c.index_square_sum = counters_->index_square_sum.exchange(0);
  return c;
}

const std::vector<LoaderPreset>& loader_presets() {
  static const std::vector<LoaderPreset> presets = {
      {"default", false, true, 0}, {"deep", true, true, 0}, {"deep-nice", true, true, 19}, {"deep-unordered", true, false, 0}};
  return presets;
}

const LoaderPreset& find_loader_preset(const std::string& name) {
  for (const LoaderPreset& preset : loader_presets()) {
    if (preset.name == name) return preset;
  }
  throw std::invalid_argument("unknown loader '" + name + "' (expected default, deep, deep-nice or deep-unordered)");
}

LoaderOptions loader_options(const LoaderPreset& preset, int64_t batch_size, int64_t workers, int64_t deep_prefetch) {
  return {batch_size, workers, preset.deep ? deep_prefetch : 0, preset.ordered, preset.worker_nice};
}

std::unique_ptr<Loader> make_loader(SyntheticDataset dataset, const LoaderOptions& options) {
  const auto size = *dataset.size();
  dataset.set_worker_nice(options.worker_nice);
  auto loader_options = torch::data::DataLoaderOptions()
                            .batch_size(static_cast<size_t>(options.batch_size))
                            .workers(static_cast<size_t>(options.workers))
                            .enforce_ordering(options.ordered);
  // Only with workers: without them libtorch never runs the queued jobs, yet queueing them still
  // drains the sampler, and the epoch would come out empty.
  if (options.prefetch > 0 && options.workers > 0) loader_options.max_jobs(static_cast<size_t>(options.prefetch));
  return std::make_unique<Loader>(std::move(dataset), torch::data::samplers::RandomSampler(size),
                                  std::move(loader_options));
}

}  // namespace pb
