// Tests for common/train: each source model learns its synthetic data, epochs are complete with
// any worker count, and training is repeatable.
#include <gtest/gtest.h>

#include "common/train.h"

namespace {

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

TEST(Train, SourceOptimizers) {
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kLinear).lr(), 0.01);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kMlp).lr(), 0.01);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kCnn).lr(), 0.001);
  EXPECT_DOUBLE_EQ(pb::source_optimizer_options(pb::ModelKind::kCnn).momentum(), 0.9);
}

}  // namespace
