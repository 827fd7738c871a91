// Series 2 so far: its settings in one place, and the state each step hands on to the next.
//
// The series is one story: step 1 picks the device, step 2 makes the model, step 3 fixes the
// order (model moved, then the optimizer) and the dtypes, step 4 trains on its data, and steps 5-7
// measure how that data reaches the device. Each function below rebuilds one piece of state
// exactly as the step named in it made it (same flag, seed, sizes, order of random draws), so a
// step can still run on its own and yet continue the story. A step that needs a different size
// says so with announce_change(); none uses a different constant silently.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/models.h"

namespace series2 {

// ---- The series' settings ----------------------------------------------------------------------
// Step 1: the source's rule, cuda:0 when CUDA is usable, else the CPU.
inline const std::string kDeviceSpec = "auto";
// Step 2: the source 001's model (the 10-5-2 MLP) and its loss (MSELoss on one-hot float rows).
constexpr pb::ModelKind kKind = pb::ModelKind::kMlp;
// Step 2 and 4: the seed of the model's initial weights (torch::manual_seed) and of the data draw.
constexpr uint64_t kSeed = 0;
// Step 3: the source's optimizer, plain SGD with learning rate 0.01.
constexpr double kLearningRate = 0.01;
// Step 4: the source's 100 iterations, as epochs over a training set small enough for 100
// per-sample epochs in about a second on a 2-core CPU; one sample per step, the source's loop.
constexpr int64_t kEpochs = 100;
constexpr int64_t kSamples = 96;
constexpr int64_t kBatch = 1;
// Step 4: held-out samples, never trained on: the same 1000 in steps 4-7, whatever the training size.
constexpr int64_t kValSamples = 1000;
// Step 5, announced: step 4's recipe at 262144 samples in batches of 16384 (a copy of 96 samples
// is too small to time; a batch of 16384 is 768 KiB), 40 timed epochs after one warm-up epoch
// (656 steps: enough for the MLP to learn the task, a fraction of a second per mode on 2 cores).
constexpr int64_t kTransferSamples = 262144;
constexpr int64_t kTransferBatch = 16384;
constexpr int64_t kTransferEpochs = 40;
// Step 6, announced: 8 batches of 262144 (12 MiB each, a copy about as long as a step of the
// MLP, so there is something to overlap), 50 timed steps per variant after 2 warm-up steps.
constexpr int64_t kOverlapBatch = 262144;
constexpr int64_t kOverlapBatches = 8;
constexpr int64_t kOverlapSteps = 50;
constexpr int64_t kOverlapWarmupSteps = 2;
// Step 7, announced: 16 batches of 256, where launch overhead dominates and a graph helps most,
// trained for 2000 steps (the first 3 are the graph's warm-up, as the PyTorch documentation's).
constexpr int64_t kGraphBatch = 256;
constexpr int64_t kGraphBatches = 16;
constexpr int64_t kGraphSteps = 2000;

// Training steps of `epochs` passes over `samples` in batches of `batch` (a partial last batch counts).
constexpr int64_t steps_of(int64_t epochs, int64_t samples, int64_t batch) { return epochs * ((samples + batch - 1) / batch); }
// Step 5's training steps per mode, warm-up epoch included: 656.
constexpr int64_t kTransferSteps = steps_of(kTransferEpochs + 1, kTransferSamples, kTransferBatch);

// ---- The state each step hands on --------------------------------------------------------------
// Step 1: adds the series' --device flag (default kDeviceSpec) to a step's command line.
void add_device_option(pb::Cli& cli, std::string* device_spec);
// Step 1: the device that --device names (pb::parse_device), or a one-line error and exit 2.
torch::Device step1_device(const std::string& program, const std::string& device_spec);
// Step 1: why the step cannot use CUDA on `device`, or "" when it can: libtorch's reason, or the
// flag that asked for the CPU.
std::string step1_why_not_cuda(const torch::Device& device, const std::string& device_spec);
// Step 2: the 10-5-2 MLP from seed kSeed, on the CPU as made; step 2 moves it to the device, and so
// does every later step, before building its optimizer (step 3a).
pb::Mlp step2_model();
// Step 3: the optimizer, built on the model's parameters *after* model->to(device) (step 3a's
// fix): the source's SGD, learning rate kLearningRate. Step 3a adds momentum to show its state.
torch::optim::SGD step3_optimizer(pb::Mlp& model, double momentum = 0);
// Step 4: `samples` training and `val_samples` held-out samples of the teacher task
// (pb::make_synthetic_split, seed kSeed), float inputs and one-hot float targets, on the CPU.
// Drawn held-out first: a larger training set (steps 5-7) keeps the same held-out samples and
// extends step 4's training samples instead of redrawing them.
pb::DataSplit step4_data(int64_t samples = kSamples, int64_t val_samples = kValSamples);
// Steps 5-7: checks that `data` holds step 4's held-out samples and starts with step 4's training
// samples, prints "step 4's data inside: <held-out> held-out samples the same, its <n> training
// samples first: yes|no", and returns whether it does.
bool print_holds_step4_data(const pb::DataSplit& data);

// ---- Telling the story -------------------------------------------------------------------------
// Prints "starting from step <step - 1>: <what step `step` takes over, with its sizes>", near
// the top of every step after the first.
void print_start(int step, const torch::Device& device);
// Prints "changed from step <from_step>: <setting> <before> -> <after>: <why>", where `before`
// is the setting in step <from_step> and `planned` the story's value for this step. A value set on
// the command line (`after` other than `planned`) is announced as such instead of with `why`;
// nothing is printed when the value stays what it was and the story keeps it.
void announce_change(int from_step, const std::string& setting, int64_t before, int64_t after, int64_t planned,
                     const std::string& why);

}  // namespace series2
