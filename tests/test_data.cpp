// Tests for common/data: determinism, disjoint splits, target types, CNN data a CNN can learn,
// load cost, and a DataLoader that neither loses nor duplicates samples with any worker count.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/data.h"
#include "common/train.h"

namespace {

TEST(Data, SameSeedSameDataOtherSeedOtherData) {
  for (pb::ModelKind kind : pb::all_model_kinds()) {
    pb::DataSplit a = pb::make_synthetic_split(kind, 64, 16, 7);
    pb::DataSplit b = pb::make_synthetic_split(kind, 64, 16, 7);
    pb::DataSplit c = pb::make_synthetic_split(kind, 64, 16, 8);
    EXPECT_TRUE(torch::equal(a.train.inputs, b.train.inputs)) << pb::model_name(kind);
    EXPECT_TRUE(torch::equal(a.val.targets, b.val.targets)) << pb::model_name(kind);
    EXPECT_FALSE(torch::equal(a.train.inputs, c.train.inputs)) << pb::model_name(kind);
  }
}

TEST(Data, ValidationNeverOverlapsTraining) {
  for (pb::ModelKind kind : pb::all_model_kinds()) {
    pb::DataSplit split = pb::make_synthetic_split(kind, 200, 50, 0);
    ASSERT_EQ(split.train.size(), 200);
    ASSERT_EQ(split.val.size(), 50);
    torch::Tensor train = split.train.inputs.flatten(1), val = split.val.inputs.flatten(1);
    EXPECT_GT(torch::cdist(val, train).min().item<double>(), 1e-3) << pb::model_name(kind);
  }
}

TEST(Data, ShapesAndTargetTypesMatchEachSource) {
  pb::DataSplit linear = pb::make_synthetic_split(pb::ModelKind::kLinear, 10, 2, 0);
  EXPECT_EQ(linear.train.inputs.sizes(), (std::vector<int64_t>{10, 10}));
  EXPECT_EQ(linear.train.targets.scalar_type(), torch::kLong);  // CrossEntropyLoss takes class indices
  pb::DataSplit mlp = pb::make_synthetic_split(pb::ModelKind::kMlp, 10, 2, 0);
  EXPECT_EQ(mlp.train.inputs.scalar_type(), torch::kFloat);  // source 001 fed int64 to Linear
  EXPECT_EQ(mlp.train.targets.scalar_type(), torch::kFloat);  // and int64 targets to MSELoss
  EXPECT_TRUE(torch::equal(mlp.train.targets.sum(1), torch::ones({10})));
  pb::DataSplit cnn = pb::make_synthetic_split(pb::ModelKind::kCnn, 10, 2, 0);
  EXPECT_EQ(cnn.train.inputs.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_LT(cnn.train.targets.max().item<int64_t>(), 10);
}

TEST(Data, LabelsAreBalancedEnoughToLearn) {
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, 2000, 1, 0);
  const double ones = split.train.targets.to(torch::kDouble).mean().item<double>();
  EXPECT_GT(ones, 0.3);
  EXPECT_LT(ones, 0.7);
}

// The cnn data: the same seed gives bit-identical tensors (whatever the intra-op thread count), and
// each class is a smooth, strong spatial pattern under unit noise. The mean image of a class
// averages the noise away and leaves 2 x its pattern: neighbouring pixels of it nearly equal
// (a 4x4 pattern upsampled to 32x32), its standard deviation about 2.
TEST(Data, CnnDataIsDeterministicSmoothClassPatternsPlusNoise) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  pb::DataSplit a = pb::make_synthetic_split(pb::ModelKind::kCnn, 2000, 100, 3);
  torch::set_num_threads(2);
  pb::DataSplit b = pb::make_synthetic_split(pb::ModelKind::kCnn, 2000, 100, 3);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(a.train.inputs, b.train.inputs));
  EXPECT_TRUE(torch::equal(a.train.targets, b.train.targets));
  EXPECT_TRUE(torch::equal(a.val.inputs, b.val.inputs));
  EXPECT_TRUE(torch::equal(a.val.targets, b.val.targets));
  EXPECT_FALSE(torch::equal(a.train.inputs, pb::make_synthetic_split(pb::ModelKind::kCnn, 2000, 100, 4).train.inputs));
  for (int64_t c = 0; c < 10; ++c) {
    const torch::Tensor members = a.train.targets.eq(c).nonzero().flatten();
    ASSERT_GT(members.numel(), 100) << "class " << c;
    const torch::Tensor mean = a.train.inputs.index_select(0, members).mean(0);  // [3, 32, 32]
    const torch::Tensor left = mean.slice(2, 0, 31).flatten(), right = mean.slice(2, 1, 32).flatten();
    const double correlation = torch::corrcoef(torch::stack({left, right})).index({0, 1}).item<double>();
    EXPECT_GT(correlation, 0.8) << "class " << c << ": neighbouring pixels of its mean image";
    EXPECT_GT(mean.std().item<double>(), 1.4) << "class " << c << ": pattern strength";
  }
}

// The source CNN, with its optimizer (SGD lr 0.001, momentum 0.9), learns the cnn data within
// tutorial series 4's budget: 8 steps of 64 images. Chance is 10%.
TEST(Data, SourceCnnLearnsCnnDataWithinEightSteps) {
  const pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kCnn, 512, 512, 0);
  torch::manual_seed(0);
  pb::Trainer trainer(pb::ModelKind::kCnn, split.train, {64, 0, 0}, 0);
  ASSERT_TRUE(trainer.run_epoch().complete);  // 512 / 64 = 8 steps
  EXPECT_GT(pb::evaluate(trainer.model(), pb::ModelKind::kCnn, split.val).accuracy, 0.4);
}

TEST(LoadCost, IsCalibratedAndDeterministic) {
  EXPECT_GT(pb::load_cost_iterations_per_us(), 0);
  EXPECT_EQ(pb::burn_load_cost(3, 1000), pb::burn_load_cost(3, 1000));
  EXPECT_NE(pb::burn_load_cost(3, 1000), pb::burn_load_cost(4, 1000));
}

TEST(Coverage, DetectsLostAndDuplicatedSamples) {
  pb::Coverage full{4, 0 + 1 + 2 + 3, 0 + 1 + 4 + 9};
  EXPECT_TRUE(full.is_one_epoch_of(4));
  EXPECT_FALSE(full.is_one_epoch_of(5));
  // Same count and same index sum as 0,1,2,3: only the sum of squares tells them apart.
  pb::Coverage one_twice{4, 0 + 1 + 1 + 4, 0 + 1 + 1 + 16};  // 1 twice, 2 and 3 lost, 4 out of range
  EXPECT_FALSE(one_twice.is_one_epoch_of(4));
  pb::Coverage two_thrice{4, 0 + 2 + 2 + 2, 0 + 4 + 4 + 4};  // 2 three times, 1 and 3 lost
  EXPECT_FALSE(two_thrice.is_one_epoch_of(4));
}

class LoaderTest : public testing::TestWithParam<std::tuple<int64_t, int64_t, bool>> {};

TEST_P(LoaderTest, EveryEpochSeesEverySampleOnce) {
  const auto [workers, prefetch, ordered] = GetParam();
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, 103, 1, 0);  // 103 = 3 x 32 + 7
  pb::SyntheticDataset dataset(split.train, /*load_cost_us=*/1);
  auto loader = pb::make_loader(dataset, {32, workers, prefetch, ordered});
  for (int epoch = 0; epoch < 3; ++epoch) {
    int64_t samples = 0, batches = 0;
    torch::Tensor label_sum = torch::zeros({}, torch::kLong);
    for (auto& batch : *loader) {
      samples += batch.data.size(0);
      label_sum += batch.target.sum();
      ++batches;
    }
    EXPECT_EQ(samples, 103);
    EXPECT_EQ(batches, 4);
    EXPECT_EQ(label_sum.item<int64_t>(), split.train.targets.sum().item<int64_t>());
    EXPECT_TRUE(dataset.take_coverage().is_one_epoch_of(103)) << "workers " << workers << " epoch " << epoch;
  }
}

INSTANTIATE_TEST_SUITE_P(WorkersPrefetchOrder, LoaderTest,
                         testing::Combine(testing::Values(0, 1, 2, 3), testing::Values(0, 32), testing::Bool()));

}  // namespace

namespace {

// Nice values of this process's threads, read from /proc (field 19 of /proc/self/task/*/stat).
std::vector<int> thread_nice_values() {
  std::vector<int> values;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // skip "pid (comm) "
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) values.push_back(std::stoi(field));
    }
  }
  return values;
}

TEST(LoaderPresets, NamesAndOptions) {
  EXPECT_EQ(pb::loader_presets().size(), 4u);
  const pb::LoaderOptions deep_nice = pb::loader_options(pb::find_loader_preset("deep-nice"), 32, 2, 64);
  EXPECT_EQ(deep_nice.prefetch, 64);
  EXPECT_EQ(deep_nice.worker_nice, 19);
  EXPECT_TRUE(deep_nice.ordered);
  EXPECT_EQ(pb::loader_options(pb::find_loader_preset("default"), 32, 2, 64).prefetch, 0);
  EXPECT_FALSE(pb::loader_options(pb::find_loader_preset("deep-unordered"), 32, 2, 64).ordered);
  try {
    pb::find_loader_preset("fast");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown loader 'fast' (expected default, deep, deep-nice or deep-unordered)");
  }
}

TEST(LoaderPresets, NiceLowersWorkersOnlyNeverTheTrainingThread) {
  const int own_before = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  pb::DataSplit split = pb::make_synthetic_split(pb::ModelKind::kLinear, 256, 1, 0);
  for (int64_t workers : {0, 3}) {
    // 3 ms of loading per batch keeps a worker busy long enough that every worker gets a batch.
    auto loader = pb::make_loader(pb::SyntheticDataset(split.train, 100), {32, workers, 8, true, /*worker_nice=*/7});
    for (auto& batch : *loader) (void)batch;
    const std::vector<int> nice = thread_nice_values();
    // Each worker served batches from its own thread: all of them, and only them, are at nice 7.
    EXPECT_EQ(std::count(nice.begin(), nice.end(), 7), workers) << workers << " workers";
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))), own_before);
  }
}

}  // namespace
