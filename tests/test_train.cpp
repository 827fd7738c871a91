// Tests for common/train: each source model learns its synthetic data, epochs are complete with
// any worker count, training is repeatable, evaluation runs in eval mode, and an epoch's phase
// times account for its wall time.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/train.h"

namespace {

// Linear(10, 2) behind a Dropout(0.5): in train mode every forward drops a random half of the
// inputs; in eval mode it is exactly the linear layer.
struct DropoutLinearImpl : torch::nn::Module {
  DropoutLinearImpl() {
    drop = register_module("drop", torch::nn::Dropout(0.5));
    fc = register_module("fc", torch::nn::Linear(10, 2));
  }
  torch::Tensor forward(torch::Tensor x) { return fc(drop(x)); }
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(DropoutLinear);

TEST(Train, EachModelLearnsItsData) {
  // Epochs and sample counts small enough for CI, large enough that learning is unambiguous.
  struct Case {
    pb::ModelKind kind;
    int64_t samples, epochs;
    double min_accuracy;
  };
  for (const Case& c : {Case{pb::ModelKind::kLinear, 1000, 10, 0.9}, Case{pb::ModelKind::kMlp, 1000, 30, 0.7},
                        Case{pb::ModelKind::kCnn, 256, 10, 0.5}}) {
    torch::manual_seed(0);
    pb::DataSplit split = pb::make_synthetic_split(c.kind, c.samples, 256, 0);
    pb::Trainer trainer(c.kind, split.train, {32, 0, 0}, 0);
    const double before = pb::evaluate(trainer.model(), c.kind, split.val).loss;
    for (int64_t e = 0; e < c.epochs; ++e) ASSERT_TRUE(trainer.run_epoch().complete);
    const pb::EvalResult after = pb::evaluate(trainer.model(), c.kind, split.val);
    EXPECT_LT(after.loss, before) << pb::model_name(c.kind);
    EXPECT_GT(after.accuracy, c.min_accuracy) << pb::model_name(c.kind);
  }
}

TEST(Train, EpochsAreCompleteWithWorkersAndLoadCost) {
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, 250, 1, 0);
  for (int64_t workers : {0, 2, 4}) {
    pb::Trainer trainer(pb::ModelKind::kLinear, split.train, {32, workers, 8}, /*load_cost_us=*/2);
    for (int e = 0; e < 3; ++e) {
      pb::EpochResult r = trainer.run_epoch();
      EXPECT_TRUE(r.complete) << workers << " workers";
      EXPECT_EQ(r.samples, 250);
      EXPECT_TRUE(std::isfinite(r.mean_loss));
    }
  }
}

// The phases of an epoch (load, forward, backward, optimizer) are non-negative, each one that
// happens took time, and together they are the epoch's wall time as measured around the call.
// With a loading cost and no workers, loading is the largest phase: the clock charges it there.
TEST(Train, EpochPhasesAddUpToTheEpochsWallTime) {
  const pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, 640, 1, 0);
  for (int64_t workers : {0, 2}) {
    pb::Trainer trainer(pb::ModelKind::kLinear, split.train, {32, workers, 0}, /*load_cost_us=*/20);
    trainer.run_epoch();  // warm-up
    for (int e = 0; e < 3; ++e) {
      const auto start = std::chrono::steady_clock::now();
      const pb::EpochResult r = trainer.run_epoch();
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ASSERT_TRUE(r.complete);
      for (pb::Phase p : pb::kAllPhases) EXPECT_GE(r.phases[p], 0) << pb::phase_name(p);
      for (pb::Phase p : {pb::Phase::kLoad, pb::Phase::kForward, pb::Phase::kBackward, pb::Phase::kOptimizer}) {
        EXPECT_GT(r.phases[p], 0) << pb::phase_name(p) << ", " << workers << " workers";
      }
      for (pb::Phase p : {pb::Phase::kData, pb::Phase::kModel, pb::Phase::kAllReduce, pb::Phase::kValidation}) {
        EXPECT_EQ(r.phases[p], 0) << pb::phase_name(p);
      }
      EXPECT_LE(r.phases.total(), wall) << workers << " workers";
      EXPECT_NEAR(r.phases.total(), wall, 0.02 * wall + 200e-6) << workers << " workers";
      if (workers == 0) {
        // The training thread pays each sample's loading cost itself: charged to loading, not to
        // forward (a bound from the simulated cost, not a speed: half of it, for calibration error).
        EXPECT_GE(r.phases[pb::Phase::kLoad], 0.5 * 640 * 20e-6);
      }
    }
  }
}

// A lap charges the time since the previous one to its phase; lap_until stops at a moment another
// thread saw, clamped so that no phase is negative.
TEST(Train, PhaseClockChargesEachLapToItsPhase) {
  using namespace std::chrono_literals;
  pb::PhaseClock clock;
  std::this_thread::sleep_for(3ms);
  clock.lap(pb::Phase::kForward);
  std::this_thread::sleep_for(3ms);
  clock.lap(pb::Phase::kBackward);
  clock.lap(pb::Phase::kForward);  // almost nothing more
  EXPECT_GE(clock.times()[pb::Phase::kForward], 0.003);
  EXPECT_LT(clock.times()[pb::Phase::kForward], 0.5);
  EXPECT_GE(clock.times()[pb::Phase::kBackward], 0.003);
  EXPECT_EQ(clock.times()[pb::Phase::kLoad], 0);
  const double before = clock.times().total();
  clock.lap_until(pb::Phase::kLoad, pb::PhaseClock::Clock::time_point{});  // long past: clamped to 0
  EXPECT_EQ(clock.times()[pb::Phase::kLoad], 0);
  const auto mid = pb::PhaseClock::Clock::now() + 2ms;
  std::this_thread::sleep_for(4ms);
  clock.lap_until(pb::Phase::kLoad, mid);
  clock.lap(pb::Phase::kOptimizer);
  EXPECT_GE(clock.times()[pb::Phase::kLoad], 0.002);
  EXPECT_GE(clock.times()[pb::Phase::kOptimizer], 0.001);
  EXPECT_GE(clock.times().total() - before, 0.004);
  EXPECT_STREQ(pb::phase_name(pb::Phase::kAllReduce), "allreduce");
}

TEST(Train, SameSeedSameLoss) {
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kMlp, 200, 1, 0);
  auto run = [&] {
    torch::manual_seed(42);
    pb::Trainer trainer(pb::ModelKind::kMlp, split.train, {32, 0, 0}, 0);
    trainer.run_epoch();
    return trainer.run_epoch().mean_loss;
  };
  EXPECT_DOUBLE_EQ(run(), run());
}

// evaluate() switches dropout off: its result is the dropout-free forward's, the same every call,
// and the model is left in train mode, as it found it.
TEST(Train, EvaluateRunsInEvalMode) {
  torch::manual_seed(0);
  const pb::TensorData val = pb::make_synthetic_split(pb::ModelKind::kLinear, 8, 512, 0).val;
  DropoutLinear net;
  torch::nn::AnyModule model(net);
  double expected_loss = 0, expected_accuracy = 0;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = net->fc(val.inputs);  // what eval mode computes
    expected_loss = pb::compute_loss(pb::ModelKind::kLinear, logits, val.targets).item<double>();
    expected_accuracy = static_cast<double>(pb::count_correct(pb::ModelKind::kLinear, logits, val.targets)) / 512;
  }
  ASSERT_TRUE(net->is_training());
  const pb::EvalResult first = pb::evaluate(model, pb::ModelKind::kLinear, val, 64);
  const pb::EvalResult second = pb::evaluate(model, pb::ModelKind::kLinear, val, 64);
  EXPECT_NEAR(first.loss, expected_loss, 1e-5);
  EXPECT_DOUBLE_EQ(first.accuracy, expected_accuracy);
  EXPECT_DOUBLE_EQ(first.loss, second.loss);
  EXPECT_TRUE(net->is_training());
  EXPECT_TRUE(net->drop->is_training());
}

// evaluate() gives back the mode it found: train, eval, or a mix of the two across submodules.
TEST(Train, EvaluateRestoresTheModeItFound) {
  const pb::TensorData val = pb::make_synthetic_split(pb::ModelKind::kLinear, 8, 64, 0).val;
  DropoutLinear net;
  torch::nn::AnyModule model(net);
  net->eval();
  pb::evaluate(model, pb::ModelKind::kLinear, val);
  EXPECT_FALSE(net->is_training());
  EXPECT_FALSE(net->drop->is_training());
  EXPECT_FALSE(net->fc->is_training());

  net->train();
  net->drop->eval();
  pb::evaluate(model, pb::ModelKind::kLinear, val);
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE(net->drop->is_training());
  EXPECT_TRUE(net->fc->is_training());
}

TEST(Train, SourceOptimizers) {
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kLinear).lr(), 0.01);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kMlp).lr(), 0.01);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kCnn).lr(), 0.001);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kCnn).momentum(), 0.9);
}

}  // namespace
