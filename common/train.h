// The training loop shared by the measuring tutorial step and the benchmarks: one model, one
// optimizer, one DataLoader, epochs with a lost/duplicated-sample check, held-out evaluation.
#pragma once

#include <memory>

#include <torch/torch.h>

#include "common/data.h"
#include "common/models.h"
#include "common/timer.h"

namespace pb {

// The optimizer each source uses: SGD lr 0.01 (000, 001), SGD lr 0.001 momentum 0.9 (002).
torch::optim::SGDOptions source_optimizer_options(ModelKind kind);

struct EpochResult {
  int64_t samples = 0;      // samples trained on in this epoch
  double mean_loss = 0;     // mean of the batch losses, weighted by batch size
  bool complete = false;    // every training sample seen exactly once (none lost, none duplicated)
  // Where the epoch's wall time went, from steady_clock laps on the training thread: load (the
  // loader's next batch, gathered here or waited for; the end-of-epoch check), forward (with the
  // loss), backward, optimizer (zero_grad, step, the loss bookkeeping). Together they are the whole
  // epoch; the other phases are 0.
  PhaseTimes phases;
};

struct EvalResult {
  double loss = 0;
  double accuracy = 0;  // fraction in [0, 1]
};

// Loss and accuracy of `model` on `data`, without gradients, in batches of `batch_size`, in eval
// mode; the model's modules get back the train/eval mode each had before.
EvalResult evaluate(torch::nn::AnyModule& model, ModelKind kind, const TensorData& data, int64_t batch_size = 256);

class Trainer {
 public:
  // The model is initialised from torch's global generator: seed it first for repeatability.
  Trainer(ModelKind kind, TensorData train, const LoaderOptions& loader, double load_cost_us);
  // One pass over the training data through the DataLoader.
  EpochResult run_epoch();
  torch::nn::AnyModule& model() { return model_; }

 private:
  ModelKind kind_;
  int64_t train_size_;
  torch::nn::AnyModule model_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
  SyntheticDataset dataset_;  // a handle onto the loader's copy, for the coverage counters
  std::unique_ptr<Loader> loader_;
};

}  // namespace pb
