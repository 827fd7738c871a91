// Series 1 so far: the settings every step shares and the state each step hands on to the next.
//
// Every step runs on its own, yet continues the story: it rebuilds the state of the steps before
// it with the functions below, which do exactly what those steps did (same seed, sizes and order
// of random draws), prints `starting from step N: ...`, and announces any setting it changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "common/data.h"
#include "common/models.h"
#include "common/train.h"

namespace series1 {

// ---- The series' settings, in one place; every step takes its defaults from here ----------
// Training samples: the source's 1,000 rows of 10 features.
constexpr int64_t kTrainSamples = 1000;
// Held-out samples, drawn with the training data in step 1 and validated on in step 5 (20% of
// the training set, a usual split); no step ever trains on them.
constexpr int64_t kValSamples = 200;
// Samples per batch: the source's 32.
constexpr int64_t kBatchSize = 32;
// Seeds the data (step 1) and the weights (step 2): the same seed gives the same story in every step.
constexpr int64_t kSeed = 0;
// The source's training: 10 epochs of cross-entropy and SGD with learning rate 0.01.
constexpr int64_t kEpochs = 10;
constexpr double kLearningRate = 0.01;
// Step 3's settings, carried into step 4: 0 DataLoader workers (gathering a cheap in-memory batch
// costs less than handing it between threads) and 1 intra-op thread (Linear(10, 2) on 32 rows is
// far too small to split). The source asks for 4 workers; step 7 measures what is best here.
constexpr int64_t kWorkers = 0;
constexpr int64_t kThreads = 1;
// The source's DataLoader(num_workers=4): step 6 times it, step 7 compares the winner with it.
constexpr int64_t kSourceWorkers = 4;
// What loading one sample costs, in microseconds: 0, the samples are in memory. Step 7b adds a
// simulated decoding cost.
constexpr double kLoadUs = 0;

// The settings as one value: CLI flags override fields, and steps hand it on.
struct Settings {
  int64_t train_samples = kTrainSamples;
  int64_t val_samples = kValSamples;
  int64_t batch_size = kBatchSize;
  int64_t seed = kSeed;
  int64_t epochs = kEpochs;
  int64_t workers = kWorkers;
  int64_t threads = kThreads;
  double load_us = kLoadUs;
};

// ---- The state each step makes, rebuilt exactly as that step made it -------------------------
// Step 1: the training and held-out splits, one draw from a generator seeded with s.seed.
pb::DataSplit step1_data(const Settings& s);
// Step 2: Linear(10, 2), its weights drawn from torch's global generator seeded with s.seed.
pb::LinearModel step2_model(const Settings& s);

// A training run as step 4 sets it up: data, model, SGD, and a shuffling DataLoader.
struct Training {
  pb::DataSplit data;
  pb::LinearModel model;
  std::unique_ptr<torch::optim::SGD> optimizer;
  pb::SyntheticDataset dataset;  // shares the loader's counters: the lost/duplicated check
  std::unique_ptr<pb::Loader> loader;
};

// The DataLoader settings of s: its batch size and workers, libtorch's defaults otherwise.
pb::LoaderOptions loader_options(const Settings& s);
// Step 4's set-up: sets s.threads intra-op threads, then builds step 2's model, SGD with
// kLearningRate, and a DataLoader over data.train whose samples cost s.load_us each to load.
// The loader's shuffle is drawn after the weights, from the same seeded generator.
Training start_training(const Settings& s, pb::DataSplit data, const pb::LoaderOptions& loader);
// One epoch of step 4's loop: for every batch zero_grad, forward, cross-entropy, backward, step.
// Returns the mean loss, the samples seen, whether each was seen once, and the time of each phase.
pb::EpochResult train_epoch(Training& t);
// Step 4: start_training on step 1's data with s's loader, then s.epochs epochs of train_epoch.
Training step4_trained(const Settings& s);
// The same recipe with other data or another loader (step 5's random labels, step 7c's best loader).
Training step4_trained(const Settings& s, pb::DataSplit data, const pb::LoaderOptions& loader);

// ---- What a step says about the story --------------------------------------------------------
// Prints `starting from step <from_step>: <what that step hands on, with the series' sizes>`.
void print_start(int from_step);
// Prints `changed from step <step>: <setting> <before> -> <after>: <why>`: the one way a step
// changes a setting the story carries.
void announce_change(int step, const std::string& setting, const std::string& before, const std::string& after,
                     const std::string& why);
// Announces every setting that differs between `before` and `after`, naming the step that chose
// it, with `why`; returns how many differ.
int announce_changes(const Settings& before, const Settings& after, const std::string& why);
// announce_changes from the story's settings to s: the flags given on the command line.
int announce_flags(const Settings& s);

}  // namespace series1
