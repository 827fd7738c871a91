// Tests for common/models: shapes, cloning, names and losses of the three source models.
#include <gtest/gtest.h>

#include "common/models.h"

namespace {

TEST(Models, OutputShapes) {
  for (pb::ModelKind kind : pb::all_model_kinds()) {
    torch::nn::AnyModule model = pb::make_model(kind);
    std::vector<int64_t> shape{5};
    for (int64_t d : pb::input_shape(kind)) shape.push_back(d);
    torch::Tensor out = model.forward(torch::randn(shape));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, pb::output_size(kind)})) << pb::model_name(kind);
  }
}

TEST(Models, ParameterCountsMatchTheSources) {
  auto count = [](pb::ModelKind kind) {
    int64_t n = 0;
    for (const auto& p : pb::make_model(kind).ptr()->parameters()) n += p.numel();
    return n;
  };
  EXPECT_EQ(count(pb::ModelKind::kLinear), 10 * 2 + 2);
  EXPECT_EQ(count(pb::ModelKind::kMlp), 10 * 5 + 5 + 5 * 2 + 2);
  EXPECT_EQ(count(pb::ModelKind::kCnn), (3 * 9 * 64 + 64) + (64 * 9 * 64 + 64) + (4096 * 512 + 512) + (512 * 10 + 10));
}

TEST(Models, CloneIsADeepCopy) {
  for (pb::ModelKind kind : pb::all_model_kinds()) {
    torch::nn::AnyModule model = pb::make_model(kind);
    torch::nn::AnyModule copy = model.clone();
    auto original = model.ptr()->parameters(), cloned = copy.ptr()->parameters();
    ASSERT_EQ(original.size(), cloned.size());
    for (size_t i = 0; i < original.size(); ++i) {
      EXPECT_TRUE(torch::equal(original[i], cloned[i]));
      EXPECT_NE(original[i].data_ptr(), cloned[i].data_ptr());
    }
    torch::NoGradGuard no_grad;
    cloned[0].add_(1);
    EXPECT_FALSE(torch::equal(original[0], cloned[0])) << pb::model_name(kind);
  }
}

TEST(Models, NamesRoundTripAndUnknownNamesFail) {
  for (pb::ModelKind kind : pb::all_model_kinds()) EXPECT_EQ(pb::parse_model_kind(pb::model_name(kind)), kind);
  try {
    pb::parse_model_kind("resnet");
    FAIL() << "no exception";
  } catch (const pb::Error& e) {
    EXPECT_STREQ(e.what(), "unknown model 'resnet' (expected linear, mlp or cnn)");
  }
}

TEST(Models, LossesAndCorrectCounts) {
  torch::Tensor logits = torch::tensor({{2.0f, 0.0f}, {0.0f, 2.0f}, {2.0f, 0.0f}});
  torch::Tensor labels = torch::tensor({0, 1, 1}, torch::kLong);
  EXPECT_EQ(pb::count_correct(pb::ModelKind::kLinear, logits, labels), 2);
  EXPECT_NEAR(pb::compute_loss(pb::ModelKind::kLinear, logits, labels).item<double>(),
              torch::nn::functional::cross_entropy(logits, labels).item<double>(), 1e-7);
  torch::Tensor one_hot = torch::one_hot(labels, 2).to(torch::kFloat);
  EXPECT_EQ(pb::count_correct(pb::ModelKind::kMlp, logits, one_hot), 2);
  EXPECT_NEAR(pb::compute_loss(pb::ModelKind::kMlp, logits, one_hot).item<double>(),
              (logits - one_hot).pow(2).mean().item<double>(), 1e-7);
}

}  // namespace
