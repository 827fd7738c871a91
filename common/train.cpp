// Training loop, evaluation and the source optimizers.
#include "common/train.h"

#include <memory>
#include <utility>
#include <vector>

namespace pb {

torch::optim::SGDOptions source_optimizer_options(ModelKind kind) {
  if (kind == ModelKind::kCnn) return torch::optim::SGDOptions(0.001).momentum(0.9);
  return torch::optim::SGDOptions(0.01);
}

namespace {

// Puts a module and all its submodules in eval mode (dropout off, batch norm on its running
// statistics) for the guard's lifetime, then gives every one of them back the mode it had, even
// when the modes were mixed or an exception leaves early.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& module) {
    for (const auto& m : module.modules()) modes_.emplace_back(m, m->is_training());  // root first
    module.eval();
  }
  ~EvalModeGuard() {
    // Module::train(on) sets a whole subtree, so restore root first and descendants after.
    for (auto& [m, was_training] : modes_) m->train(was_training);
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, bool>> modes_;
};

}  // namespace

EvalResult evaluate(torch::nn::AnyModule& model, ModelKind kind, const TensorData& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  EvalModeGuard eval_mode(*model.ptr());
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, data.size());
    torch::Tensor output = model.forward(data.inputs.slice(0, begin, end));
    torch::Tensor target = data.targets.slice(0, begin, end);
    loss_sum += compute_loss(kind, output, target).item<double>() * static_cast<double>(end - begin);
    correct += count_correct(kind, output, target);
  }
  const auto n = static_cast<double>(std::max<int64_t>(1, data.size()));
  return {loss_sum / n, static_cast<double>(correct) / n};
}

Trainer::Trainer(ModelKind kind, TensorData train, const LoaderOptions& loader, double load_cost_us)
    : kind_(kind),
      train_size_(train.size()),
      model_(make_model(kind)),
      optimizer_(std::make_unique<torch::optim::SGD>(model_.ptr()->parameters(), source_optimizer_options(kind))),
      dataset_(std::move(train), load_cost_us),
      loader_(make_loader(dataset_, loader)) {}

EpochResult Trainer::run_epoch() {
  EpochResult result;
  double loss_sum = 0;
  // From here to the end every moment is charged to a phase; a lap only reads the clock.
  PhaseClock clock;
  dataset_.take_coverage();  // forget anything from before this epoch
  for (auto& batch : *loader_) {
    clock.lap(Phase::kLoad);  // the loader's next batch: gathered here (0 workers) or waited for
    optimizer_->zero_grad();
    clock.lap(Phase::kOptimizer);
    torch::Tensor loss = compute_loss(kind_, model_.forward(batch.data), batch.target);
    clock.lap(Phase::kForward);
    loss.backward();
    clock.lap(Phase::kBackward);
    optimizer_->step();
    const int64_t n = batch.data.size(0);
    loss_sum += loss.item<double>() * static_cast<double>(n);
    result.samples += n;
    clock.lap(Phase::kOptimizer);
  }
  result.mean_loss = loss_sum / static_cast<double>(std::max<int64_t>(1, result.samples));
  result.complete = dataset_.take_coverage().is_one_epoch_of(train_size_) && result.samples == train_size_;
  clock.lap(Phase::kLoad);  // the loader's end of the epoch, and the check that it lost nothing
  result.phases = clock.times();
  return result;
}

}  // namespace pb
