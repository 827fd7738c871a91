// Tutorial series 3 so far: the series' settings in one place, and the state each step hands on.
//
// Every step from 3 on starts from step 2's CNN (same seed) and the series' data, wrapped the way
// step 3 wraps it. A step that needs another size says so through announce_change(); the command
// line may change a setting too, and announce_change() says that as well.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "common/data.h"
#include "common/data_parallel.h"
#include "common/models.h"

namespace series3 {

// The model of the whole series: the source's CNN, with step 2's pooling fix.
constexpr pb::ModelKind kModel = pb::ModelKind::kCnn;
// Seed of the CNN's initial weights (torch's global generator) and of the data.
constexpr uint64_t kSeed = 0;
// The series' data, drawn once: training images (4 batches of kBatch, so that step 7 trains in
// seconds on a 2-core CPU) and images held out for step 7's accuracy. Steps 2-6 take their batch
// from the front of the training images.
constexpr int64_t kSamples = 1024;
constexpr int64_t kValSamples = 256;
// The source's batch: step 2 shows its model failing and the fix working on it.
constexpr int64_t kSourceBatch = 32;
// The batch from step 3 on: 8x the source's 32, so that even 8 replicas (the most benchmark
// family 3 runs) each get the source's batch.
constexpr int64_t kBatch = 256;
// Replicas from step 3 on: the fewest that split the batch (one per core on a 2-core machine,
// one per GPU on a 2-GPU one).
constexpr int64_t kReplicas = 2;
// Where the replicas live: cuda:0 when usable, else the CPU, where each replica is a thread.
constexpr const char* kDevice = "auto";
// Step 5 only: 7 samples over 3 replicas split unevenly (3, 2, 2), the case a wrong scaling of
// each replica's loss would get wrong.
constexpr int64_t kUnevenBatch = 7;
constexpr int64_t kUnevenReplicas = 3;
// Step 6: timed training steps per variant, after one untimed warm-up step; the cost measured
// is paid on every step, so a few show it.
constexpr int64_t kTimedSteps = 4;
constexpr int64_t kWarmupSteps = 1;
// Step 7: passes over the training images.
constexpr int64_t kEpochs = 3;

// Step 2's data, the series' data: make_synthetic_split's CNN images (10 classes, each a fixed
// random colour pattern plus noise), `samples` for training and kValSamples held out, seed kSeed.
pb::DataSplit step2_data(int64_t samples = kSamples);
// The first `n` training samples of `data`: the batch a step works on.
pb::TensorData first_batch(const pb::DataSplit& data, int64_t n);
// Step 2's model: the fixed CNN, initialised right after torch::manual_seed(kSeed), so every call
// gives the same weights.
pb::Cnn step2_model();
// Step 3's wrapping: `replicas` replicas on `device`, 1 intra-op thread each, kept across steps.
pb::ReplicaOptions step3_replicas(int64_t replicas, const torch::Device& device);
// The series' loss: the source's cross-entropy, computed inside each replica.
pb::LossFn step3_loss();

// Prints `starting from step <step-1>: <what this step takes over, with its sizes>`.
void print_start(int step);
// Prints `changed from step <step-1>: <setting> <previous> -> <value>: <why>` when the two differ:
// `why` when `value` is what the series plans for this step (`planned`), otherwise that the
// command line set it. Nothing when `value` equals `previous`.
void announce_change(int step, const std::string& setting, int64_t previous, int64_t value, int64_t planned,
                     const std::string& why);

}  // namespace series3
