// Tests for common/data_parallel: persistent replicas give the gradients and the updates of
// single-device training on the whole batch, for every model, replica count and split; the
// errors are clear. Cases named Cuda* need a GPU and are skipped with the reason without one.
#include <gtest/gtest.h>

#include <atomic>

#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/train.h"

// A module that derives from Module, not Cloneable: libtorch cannot copy it. Outside the
// anonymous namespace so that its name, which the error message quotes, is plain.
struct UncloneableNet : torch::nn::Module {
  UncloneableNet() { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) { return fc(x); }
  torch::nn::Linear fc{nullptr};
};

namespace {

pb::LossFn loss_of(pb::ModelKind kind) {
  return [kind](const torch::Tensor& out, const torch::Tensor& target) { return pb::compute_loss(kind, out, target); };
}

std::vector<torch::Tensor> grads(torch::nn::AnyModule& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.ptr()->parameters()) out.push_back(p.grad().to(torch::kCPU));
  return out;
}

// Largest absolute difference between matching tensors, relative to the largest magnitude.
double relative_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, (a[i] - b[i]).abs().max().item<double>());
    scale = std::max(scale, b[i].abs().max().item<double>());
  }
  return diff / scale;
}

// Gradients of single-device backward on the whole batch, and of `devices.size()` replicas.
// The reference runs on the first replica's device. On GPUs cuDNN may use TF32 (libtorch's
// default), whose rounding depends on the shapes, so the tolerance there is wider.
void expect_same_gradients(pb::ModelKind kind, int64_t batch, const std::vector<torch::Device>& devices,
                           bool persistent = true) {
  pb::TensorData data = pb::make_synthetic_split(kind, batch, 1, 0).train;
  const double tolerance = devices.front().is_cuda() ? 1e-2 : 1e-5;
  torch::manual_seed(0);
  torch::nn::AnyModule single = pb::make_model(kind);
  torch::nn::AnyModule master = single.clone();
  single.ptr()->to(devices.front());
  data.inputs = data.inputs.to(devices.front());
  data.targets = data.targets.to(devices.front());
  pb::compute_loss(kind, single.forward(data.inputs), data.targets).backward();

  pb::ReplicatedDataParallel dp(master, loss_of(kind), {devices, 1, persistent});
  const double loss = dp.forward_backward(data.inputs, data.targets);
  const std::string what = pb::model_name(kind) + ", batch " + std::to_string(batch) + ", " +
                           std::to_string(devices.size()) + " replicas";
  EXPECT_LT(relative_difference(grads(dp.master()), grads(single)), tolerance) << what;
  EXPECT_NEAR(loss, pb::compute_loss(kind, single.forward(data.inputs), data.targets).item<double>(), tolerance) << what;
}

TEST(DataParallel, SplitSizesCoverTheBatch) {
  EXPECT_EQ(pb::split_sizes(6, 2), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(pb::split_sizes(5, 3), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(pb::split_sizes(2, 3), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_THROW(pb::split_sizes(4, 0), pb::DataParallelError);
}

TEST(DataParallel, RelativeGradientDifferenceMeasuresTheLargestGap) {
  torch::manual_seed(0);
  torch::nn::AnyModule a = pb::make_model(pb::ModelKind::kLinear), b = a.clone();
  const pb::TensorData data = pb::make_synthetic_split(pb::ModelKind::kLinear, 8, 1, 0).train;
  pb::compute_loss(pb::ModelKind::kLinear, a.forward(data.inputs), data.targets).backward();
  pb::compute_loss(pb::ModelKind::kLinear, b.forward(data.inputs), data.targets).backward();
  EXPECT_EQ(pb::relative_gradient_difference(*a.ptr(), *b.ptr()), 0.0);
  double largest = 0;
  for (const auto& p : b.ptr()->parameters()) largest = std::max(largest, p.grad().abs().max().item<double>());
  a.ptr()->parameters()[1].mutable_grad()[0] += 0.5 * largest;  // one bias gradient off by half the largest
  EXPECT_NEAR(pb::relative_gradient_difference(*a.ptr(), *b.ptr()), 0.5, 1e-6);
}

TEST(DataParallel, GradientsEqualSingleDeviceForEveryModel) {
  for (pb::ModelKind kind : pb::all_model_kinds()) {
    for (int64_t replicas : {1, 2, 3}) {
      // 12 splits evenly over 2 and 3; 7 does not over either.
      for (int64_t batch : {12, 7}) {
        expect_same_gradients(kind, batch, std::vector<torch::Device>(static_cast<size_t>(replicas), torch::kCPU));
      }
    }
  }
}

TEST(DataParallel, ReclonedReplicasGiveTheSameGradients) {
  expect_same_gradients(pb::ModelKind::kCnn, 7, {torch::kCPU, torch::kCPU}, /*persistent=*/false);
  expect_same_gradients(pb::ModelKind::kMlp, 7, {torch::kCPU, torch::kCPU, torch::kCPU}, /*persistent=*/false);
}

TEST(DataParallel, BatchSmallerThanReplicaCount) {
  expect_same_gradients(pb::ModelKind::kCnn, 2, {torch::kCPU, torch::kCPU, torch::kCPU});
  expect_same_gradients(pb::ModelKind::kLinear, 1, std::vector<torch::Device>(4, torch::kCPU));
}

// Several optimizer steps: replicas must pick up the master's new parameters every step.
TEST(DataParallel, ParameterUpdatesMatchSingleDeviceOverSteps) {
  const pb::ModelKind kind = pb::ModelKind::kCnn;
  const pb::TensorData data = pb::make_synthetic_split(kind, 30, 1, 0).train;
  torch::manual_seed(0);
  torch::nn::AnyModule single = pb::make_model(kind);
  torch::nn::AnyModule master = single.clone();
  torch::optim::SGD single_opt(single.ptr()->parameters(), pb::source_optimizer_options(kind));
  pb::ReplicatedDataParallel dp(master, loss_of(kind), {{torch::kCPU, torch::kCPU, torch::kCPU}, 1, true});
  torch::optim::SGD dp_opt(dp.master().ptr()->parameters(), pb::source_optimizer_options(kind));
  for (int64_t step = 0; step < 3; ++step) {
    const torch::Tensor x = data.inputs.narrow(0, step * 10, 10), y = data.targets.narrow(0, step * 10, 10);
    single_opt.zero_grad();
    pb::compute_loss(kind, single.forward(x), y).backward();
    single_opt.step();
    dp_opt.zero_grad();
    dp.forward_backward(x, y);
    dp_opt.step();
  }
  std::vector<torch::Tensor> a = dp.master().ptr()->parameters(), b = single.ptr()->parameters();
  EXPECT_LT(relative_difference(a, b), 1e-5);
  // And the parameters moved: a step that did nothing would also be "equal".
  torch::manual_seed(0);
  EXPECT_GT(relative_difference(pb::make_model(kind).ptr()->parameters(), b), 1e-4);
}

// Records the intra-op thread count seen inside forward(), per call.
struct ThreadProbeImpl : torch::nn::Cloneable<ThreadProbeImpl> {
  ThreadProbeImpl() { reset(); }
  void reset() override { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) {
    seen.store(at::get_num_threads());
    return fc(x);
  }
  torch::nn::Linear fc{nullptr};
  static std::atomic<int> seen;
};
std::atomic<int> ThreadProbeImpl::seen{0};
TORCH_MODULE(ThreadProbe);

TEST(DataParallel, EachReplicaThreadHasItsOwnIntraOpThreadCount) {
  torch::set_num_threads(1);
  pb::ReplicatedDataParallel dp(torch::nn::AnyModule(ThreadProbe()), loss_of(pb::ModelKind::kLinear),
                                {{torch::kCPU, torch::kCPU}, 3, true});
  EXPECT_EQ(dp.replica_thread_counts(), (std::vector<int64_t>{3, 3}));
  const pb::TensorData data = pb::make_synthetic_split(pb::ModelKind::kLinear, 8, 1, 0).train;
  dp.forward_backward(data.inputs, data.targets);
  EXPECT_EQ(ThreadProbeImpl::seen.load(), 3);
  EXPECT_EQ(at::get_num_threads(), 1) << "the caller's own setting must not change";
}

TEST(DataParallel, UncloneableModuleGivesAClearError) {
  auto make = [] {
    return pb::ReplicatedDataParallel(torch::nn::AnyModule(std::make_shared<UncloneableNet>()),
                                      loss_of(pb::ModelKind::kLinear), {{torch::kCPU, torch::kCPU}, 1, true});
  };
  try {
    make();
    FAIL() << "expected DataParallelError";
  } catch (const pb::DataParallelError& e) {
    EXPECT_STREQ(e.what(),
                 "data parallel: module 'UncloneableNet' cannot be replicated: derive it from "
                 "torch::nn::Cloneable<UncloneableNet> instead of torch::nn::Module");
  }
}

TEST(DataParallel, BadOptionsAreRejected) {
  auto make = [](std::vector<torch::Device> devices, int64_t threads) {
    pb::ReplicatedDataParallel dp(pb::make_model(pb::ModelKind::kLinear), loss_of(pb::ModelKind::kLinear),
                                  {std::move(devices), threads, true});
  };
  EXPECT_THROW(
      try { make({}, 1); } catch (const pb::DataParallelError& e) {
        EXPECT_STREQ(e.what(), "data parallel: replica count must be in [1, 64], got 0");
        throw;
      },
      pb::DataParallelError);
  EXPECT_THROW(make(std::vector<torch::Device>(65, torch::kCPU), 1), pb::DataParallelError);
  EXPECT_THROW(make({torch::kCPU}, 0), pb::DataParallelError);
}

// Throws in forward() for a one-sample slice: with 3 samples over 2 replicas, only replica 1 fails
// while replica 0 (the master) completes its backward into the master's gradients.
struct FailsOnOneSampleImpl : torch::nn::Cloneable<FailsOnOneSampleImpl> {
  FailsOnOneSampleImpl() { reset(); }
  void reset() override { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) {
    if (x.size(0) == 1) throw std::runtime_error("one-sample slice");
    return fc(x);
  }
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(FailsOnOneSample);

TEST(DataParallel, ErrorInAReplicaReachesTheCallerAndTheNextStepWorks) {
  const pb::ModelKind kind = pb::ModelKind::kLinear;
  const pb::TensorData data = pb::make_synthetic_split(kind, 8, 1, 0).train;
  torch::manual_seed(0);
  FailsOnOneSample model;
  torch::nn::AnyModule single(std::dynamic_pointer_cast<FailsOnOneSampleImpl>(model->clone()));
  pb::ReplicatedDataParallel dp(torch::nn::AnyModule(model), loss_of(kind), {{torch::kCPU, torch::kCPU}, 1, true});
  EXPECT_THROW(dp.forward_backward(data.inputs.narrow(0, 0, 3), data.targets.narrow(0, 0, 3)), std::runtime_error);
  // As documented: the master's gradients are partial now; zeroed, the next step is exact.
  for (auto& p : dp.master().ptr()->parameters()) p.mutable_grad().zero_();
  dp.forward_backward(data.inputs, data.targets);
  pb::compute_loss(kind, single.forward(data.inputs), data.targets).backward();
  EXPECT_LT(relative_difference(grads(dp.master()), grads(single)), 1e-5);
}

// Like loss.backward(), forward_backward adds to the master's gradients; and when they are unset
// between steps (torch 2.x's zero_grad default, set_to_none), the next step sets them exactly.
TEST(DataParallel, GradientsAccumulateAndSurviveSetToNone) {
  const pb::ModelKind kind = pb::ModelKind::kMlp;
  const pb::TensorData data = pb::make_synthetic_split(kind, 9, 1, 0).train;
  for (bool persistent : {true, false}) {
    torch::manual_seed(0);
    torch::nn::AnyModule single = pb::make_model(kind);
    pb::ReplicatedDataParallel dp(single.clone(), loss_of(kind), {{torch::kCPU, torch::kCPU, torch::kCPU}, 1, persistent});
    pb::compute_loss(kind, single.forward(data.inputs), data.targets).backward();
    const std::vector<torch::Tensor> once = grads(single);
    dp.forward_backward(data.inputs, data.targets);
    dp.forward_backward(data.inputs, data.targets);
    std::vector<torch::Tensor> twice;
    for (const auto& g : once) twice.push_back(2 * g);
    EXPECT_LT(relative_difference(grads(dp.master()), twice), 1e-5) << "persistent " << persistent;
    for (int step = 0; step < 2; ++step) {
      for (auto& p : dp.master().ptr()->parameters()) p.mutable_grad().reset();
      dp.forward_backward(data.inputs, data.targets);
      EXPECT_LT(relative_difference(grads(dp.master()), once), 1e-5) << "persistent " << persistent << ", step " << step;
    }
  }
}

// ---- GPU cases ---------------------------------------------------------------------------------

TEST(DataParallel, CudaTwoReplicasSharingOneGpu) {
  if (!pb::cuda_unavailable_reason().empty()) GTEST_SKIP() << "needs CUDA: " << pb::cuda_unavailable_reason();
  const torch::Device gpu(torch::kCUDA, 0);
  expect_same_gradients(pb::ModelKind::kCnn, 7, {gpu, gpu});
  expect_same_gradients(pb::ModelKind::kCnn, 7, {gpu, gpu}, /*persistent=*/false);
}

TEST(DataParallel, CudaOneReplicaPerGpu) {
  if (!pb::cuda_unavailable_reason().empty()) GTEST_SKIP() << "needs CUDA: " << pb::cuda_unavailable_reason();
  if (torch::cuda::device_count() < 2) GTEST_SKIP() << "needs 2 GPUs, found " << torch::cuda::device_count();
  expect_same_gradients(pb::ModelKind::kCnn, 7, {torch::Device(torch::kCUDA, 0), torch::Device(torch::kCUDA, 1)});
}

}  // namespace
