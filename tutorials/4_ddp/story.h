// Series 4 so far: its settings in one place, and the state each step hands on to the next.
//
// Every step starts from what the previous steps made, rebuilt here exactly as they made it (same
// seed, sizes and order of random draws), so each step still runs on its own. Step 1 trains one
// process; step 2 connects the ranks and shares step 1's model; step 3 deals step 1's global
// batches out to them; step 4 is step 1's training split across step 3's shards over step 2's
// connection, checked against step1_trained().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/data.h"
#include "common/distributed/dist_env.h"
#include "common/distributed/process_group.h"
#include "common/distributed/shard.h"
#include "common/models.h"

namespace series4 {

// The model: the source 002 CNN.
constexpr const char* kModel = "cnn";
// Training samples: 8 global batches of 64, so one epoch is step 1's whole run.
constexpr int64_t kSamples = 512;
// Held-out samples, drawn with the training set but never trained on: the accuracy at the end.
constexpr int64_t kValSamples = 512;
// Samples per step across all ranks (2 ranks x 32): DDP splits it, it does not grow it.
constexpr int64_t kGlobalBatch = 64;
// Training steps: long enough for the CNN to learn (~70% held out), short enough for a test.
constexpr int64_t kSteps = 8;
// Seeds the data, step 1's initial weights and the sampler's shuffle: every rank agrees on them.
constexpr uint64_t kSeed = 0;
// Intra-op threads per process: one, so that step 4's ranks, not threads, use the other cores.
constexpr int64_t kThreads = 1;
// Gradient bucket: a few MiB lets the large fc1 gradient travel while the convolutions' backward
// still runs; PyTorch's default is 25 MiB.
constexpr int64_t kBucketBytes = 4 << 20;
// Rendezvous and collectives give up after this long, so a missing rank is an error, not a hang.
constexpr double kTimeoutSeconds = 30;
// Two ranks' parameters count as the same within this (relative to each tensor's largest value):
// float32 sums taken in another order differ in the last digits, never by this much.
constexpr double kTolerance = 1e-5;

// The settings a step may take from its command line; each defaults to the story's.
struct Settings {
  std::string model = kModel;
  int64_t samples = kSamples;
  int64_t global_batch = kGlobalBatch;
  int64_t steps = kSteps;
  int64_t threads = kThreads;
  int64_t bucket_bytes = kBucketBytes;
};

// Step 1's data: `samples` training and kValSamples held-out images, drawn together (seed kSeed).
pb::DataSplit step1_data(pb::ModelKind kind, int64_t samples);
// Step 1's model as initialised before training (seeded with kSeed just before it is made).
torch::nn::AnyModule step1_model(pb::ModelKind kind);
// Step 1's sampler: the shuffled global batches of every epoch, with one rank.
pb::dist::ShardPlan step1_batches(int64_t samples, int64_t global_batch);

// Step 1's run: its model trained `steps` SGD steps on step1_batches(), one global batch each.
struct Step1Trained {
  torch::nn::AnyModule model;
  double final_loss = 0;    // the last step's mean loss over its global batch
  int64_t samples_seen = 0;
  double seconds = 0;       // the training loop alone
};
Step1Trained step1_trained(pb::ModelKind kind, const pb::TensorData& train, const Settings& settings);

// Step 2's connection: reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT into `env` and joins the
// Gloo process group; a bad environment or a failed rendezvous is one line and exit code 2.
pb::dist::Group step2_connect(const std::string& program, pb::dist::DistEnv* env, double timeout_s = kTimeoutSeconds);

// Step 3's shards: step 1's global batches (same seed, same order), dealt out to `world_size` ranks.
pb::dist::ShardPlan step3_shards(int64_t samples, int64_t global_batch, int64_t world_size);

// Sum of all parameters: a quick fingerprint to compare runs by eye.
double parameter_checksum(const std::vector<torch::Tensor>& params);
// Largest difference between two models' parameters, relative to each tensor's largest value.
double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b);

// "starting from step <step - 1>: <what this step takes over, with its sizes>", one line.
// `world_size` is the number of ranks (steps 2-4).
void print_start(int step, const Settings& settings, int64_t world_size = 1);
// "changed from step <from_step>: <setting> <before> -> <after>: <why>": a setting changed on purpose.
void announce_change(int from_step, const std::string& setting, const std::string& before, const std::string& after,
                     const std::string& why);
// announce_change() for every setting the command line moved away from the story's value.
void announce_command_line(const Settings& settings);

}  // namespace series4
