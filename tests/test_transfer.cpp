// Tests for common/transfer: pipeline names and errors, every pipeline handing out the data's
// batches in order, the prefetcher's order, the PCIe arithmetic; and, with a GPU, graph replay
// against eager training, pinned memory and prefetching on a side stream. Cases named Cuda* need
// a GPU and are skipped with the reason without one.
#include <gtest/gtest.h>

#include "common/data.h"
#include "common/device.h"
#include "common/train.h"
#include "common/transfer.h"

namespace {

pb::TensorData small_data(int64_t samples) { return pb::make_synthetic_split(pb::ModelKind::kMlp, samples, 1, 0).train; }

bool same(const torch::Tensor& a, const torch::Tensor& b) { return a.to(torch::kCPU).equal(b.to(torch::kCPU)); }

std::string cuda_skip_reason() {
  const std::string reason = pb::cuda_unavailable_reason();
  return reason.empty() ? "" : "no CUDA device: " + reason;
}

TEST(Transfer, PipelineNamesRoundTrip) {
  for (pb::InputPipeline p : pb::all_input_pipelines()) EXPECT_EQ(pb::parse_input_pipeline(pb::pipeline_name(p)), p);
  EXPECT_EQ(pb::pipeline_name(pb::InputPipeline::kPinned), "pinned");
}

TEST(Transfer, UnknownPipelineIsOneLine) {
  try {
    pb::parse_input_pipeline("zero-copy");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown pipeline 'zero-copy' (expected pageable, pinned, resident or prefetch)");
  }
}

TEST(Transfer, CpuRunsPageableAndResidentOnly) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_EQ(pb::pipeline_unavailable_reason(pb::InputPipeline::kPageable, cpu), "");
  EXPECT_EQ(pb::pipeline_unavailable_reason(pb::InputPipeline::kResident, cpu), "");
  EXPECT_EQ(pb::pipeline_unavailable_reason(pb::InputPipeline::kPinned, cpu), "pinned memory only speeds up copies to a CUDA device");
  EXPECT_EQ(pb::pipeline_unavailable_reason(pb::InputPipeline::kPrefetch, cpu), "prefetching on a side stream needs a CUDA device");
  try {
    pb::BatchSource(small_data(8), 4, pb::InputPipeline::kPinned, cpu);
    FAIL() << "expected an error";
  } catch (const pb::TransferError& e) {
    EXPECT_STREQ(e.what(), "pipeline 'pinned' on cpu: pinned memory only speeds up copies to a CUDA device");
  }
}

TEST(Transfer, BatchLargerThanTheDataIsAnError) {
  try {
    pb::BatchSource(small_data(8), 16, pb::InputPipeline::kPageable, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const pb::TransferError& e) {
    EXPECT_STREQ(e.what(), "batch 16 does not fit in 8 samples");
  }
}

// Batch i is samples [(i mod n) * batch, +batch) of the data, for every pipeline that runs here.
void expect_batches_of_the_data(pb::InputPipeline pipeline, torch::Device device) {
  const pb::TensorData data = small_data(10);  // 3 whole batches of 3; sample 9 is never used
  pb::BatchSource source(data, 3, pipeline, device);
  EXPECT_EQ(source.batches(), 3);
  for (int64_t step = 0; step < 7; ++step) {
    const pb::TensorData batch = source.batch_on_device(step);
    const int64_t begin = (step % 3) * 3;
    EXPECT_EQ(batch.inputs.device(), device);
    EXPECT_TRUE(same(batch.inputs, data.inputs.narrow(0, begin, 3))) << pb::pipeline_name(pipeline) << " step " << step;
    EXPECT_TRUE(same(batch.targets, data.targets.narrow(0, begin, 3))) << pb::pipeline_name(pipeline) << " step " << step;
  }
}

TEST(Transfer, PipelinesHandOutTheDataInOrder) {
  expect_batches_of_the_data(pb::InputPipeline::kPageable, torch::kCPU);
  expect_batches_of_the_data(pb::InputPipeline::kResident, torch::kCPU);
}

TEST(Transfer, ResidentDataIsACopy) {
  pb::TensorData data = small_data(6);
  pb::BatchSource source(data, 3, pb::InputPipeline::kResident, torch::kCPU);
  data.inputs.zero_();
  EXPECT_FALSE(source.batch_on_device(0).inputs.eq(0).all().item<bool>());
}

// The prefetcher's contract on any device: batches in step order, equal to the source's.
void expect_prefetch_order(const pb::BatchSource& source, int64_t depth) {
  pb::Prefetcher prefetcher(source, depth);
  for (int64_t step = 0; step < 2 * source.batches() + 1; ++step) {
    EXPECT_EQ(prefetcher.next_step(), step);
    const pb::TensorData batch = prefetcher.next();
    const pb::TensorData expected = source.stored_batch(step);
    EXPECT_EQ(batch.inputs.device(), source.device());
    EXPECT_TRUE(same(batch.inputs, expected.inputs)) << "step " << step << ", depth " << depth;
    EXPECT_TRUE(same(batch.targets, expected.targets)) << "step " << step << ", depth " << depth;
  }
}

TEST(Transfer, PrefetcherKeepsTheOrderOnCpu) {
  const pb::BatchSource source(small_data(12), 4, pb::InputPipeline::kPageable, torch::kCPU);
  for (int64_t depth : {1, 2, 5}) expect_prefetch_order(source, depth);
}

TEST(Transfer, PrefetchedBatchesAreTheCallersOwn) {
  const pb::BatchSource source(small_data(8), 4, pb::InputPipeline::kPageable, torch::kCPU);
  pb::Prefetcher prefetcher(source);
  pb::TensorData batch = prefetcher.next();
  batch.inputs.zero_();  // must not write through into the source
  EXPECT_FALSE(source.stored_batch(0).inputs.eq(0).all().item<bool>());
}

TEST(Transfer, GraphsAndCopiesNeedCuda) {
  EXPECT_EQ(pb::cuda_graph_unavailable_reason(torch::kCPU),
            PB_HAVE_CUDA ? "CUDA graphs need a CUDA device, got cpu" : "CUDA graphs need a CUDA build of libtorch (this one is CPU-only)");
  torch::manual_seed(0);
  torch::nn::AnyModule model = pb::make_model(pb::ModelKind::kMlp);
  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(pb::ModelKind::kMlp));
  const pb::TensorData data = small_data(4);
  EXPECT_THROW(pb::CudaGraphTrainStep(pb::ModelKind::kMlp, model, optimizer, data.inputs, data.targets), pb::TransferError);
  try {
    pb::copy_gbps(4096, pb::CopyDirection::kHostToDevice, true, torch::kCPU, 1);
    FAIL() << "expected an error";
  } catch (const pb::TransferError& e) {
    EXPECT_STREQ(e.what(), "copy bandwidth needs a CUDA device, got cpu");
  }
  double nominal = 1;
  EXPECT_EQ(pb::pcie_link_description(torch::kCPU, &nominal), "no PCIe link: cpu is not a CUDA device");
  EXPECT_EQ(nominal, 0);
}

TEST(Transfer, PcieNominalBandwidth) {
  EXPECT_NEAR(pb::pcie_nominal_gbps("16.0 GT/s PCIe", 16), 31.51, 0.01);  // gen4 x16
  EXPECT_NEAR(pb::pcie_nominal_gbps("32.0 GT/s PCIe", 16), 63.02, 0.01);  // gen5 x16
  EXPECT_NEAR(pb::pcie_nominal_gbps("5.0 GT/s", 8), 4.0, 1e-9);           // gen2 x8: 8b/10b
  EXPECT_EQ(pb::pcie_nominal_gbps("Unknown", 16), 0);
  EXPECT_EQ(pb::pcie_nominal_gbps("8.0 GT/s PCIe", 0), 0);
}

TEST(Transfer, CopyDirectionNames) {
  EXPECT_EQ(pb::copy_direction_name(pb::CopyDirection::kHostToDevice), "h2d");
  EXPECT_EQ(pb::copy_direction_name(pb::CopyDirection::kDeviceToHost), "d2h");
}

// ---- CUDA ----

TEST(Transfer, CudaPinnedAllocationIsPinned) {
  if (!cuda_skip_reason().empty()) GTEST_SKIP() << cuda_skip_reason();
  const torch::Device cuda(torch::kCUDA, 0);
  pb::BatchSource pinned(small_data(8), 4, pb::InputPipeline::kPinned, cuda);
  pb::BatchSource pageable(small_data(8), 4, pb::InputPipeline::kPageable, cuda);
  EXPECT_TRUE(pinned.is_pinned());
  EXPECT_TRUE(pinned.stored_batch(1).inputs.is_pinned());
  EXPECT_FALSE(pageable.is_pinned());
  for (pb::InputPipeline p : pb::all_input_pipelines()) expect_batches_of_the_data(p, cuda);
}

TEST(Transfer, CudaPrefetchKeepsTheOrder) {
  if (!cuda_skip_reason().empty()) GTEST_SKIP() << cuda_skip_reason();
  const torch::Device cuda(torch::kCUDA, 0);
  // Large batches, so that a copy still running when compute reads would show as wrong data.
  const pb::TensorData data = pb::make_synthetic_split(pb::ModelKind::kCnn, 64, 1, 0).train;
  const pb::BatchSource source(data, 16, pb::InputPipeline::kPrefetch, cuda);
  for (int64_t depth : {1, 3}) expect_prefetch_order(source, depth);
  // Compute on the current stream right after next(): it must see the whole batch.
  pb::Prefetcher prefetcher(source, 2);
  for (int64_t step = 0; step < 8; ++step) {
    const double sum = prefetcher.next().inputs.sum().item<double>();
    EXPECT_NEAR(sum, source.stored_batch(step).inputs.sum().item<double>(), 1e-2 * (1 + std::abs(sum))) << step;
  }
}

TEST(Transfer, CudaGraphReplayEqualsEagerTraining) {
  if (!cuda_skip_reason().empty()) GTEST_SKIP() << cuda_skip_reason();
  const torch::Device cuda(torch::kCUDA, 0);
  for (pb::ModelKind kind : {pb::ModelKind::kMlp, pb::ModelKind::kCnn}) {
    const pb::TensorData data = pb::make_synthetic_split(kind, 32, 1, 0).train;
    const pb::BatchSource source(data, 8, pb::InputPipeline::kResident, cuda);
    torch::manual_seed(0);
    torch::nn::AnyModule eager = pb::make_model(kind);
    torch::nn::AnyModule graphed = eager.clone();
    eager.ptr()->to(cuda);
    graphed.ptr()->to(cuda);
    torch::optim::SGD eager_opt(eager.ptr()->parameters(), pb::source_optimizer_options(kind));
    torch::optim::SGD graph_opt(graphed.ptr()->parameters(), pb::source_optimizer_options(kind));
    const pb::TensorData first = source.batch_on_device(0);
    pb::CudaGraphTrainStep graph(kind, graphed, graph_opt, first.inputs, first.targets);
    for (int64_t step = 0; step < 6; ++step) {
      const pb::TensorData batch = source.batch_on_device(step);
      eager_opt.zero_grad();
      torch::Tensor loss = pb::compute_loss(kind, eager.forward(batch.inputs), batch.targets);
      loss.backward();
      eager_opt.step();
      const double graph_loss = graph.step(batch.inputs, batch.targets).item<double>();
      EXPECT_NEAR(graph_loss, loss.item<double>(), 1e-4 * (1 + std::abs(loss.item<double>())))
          << pb::model_name(kind) << " step " << step;
    }
    const auto pe = eager.ptr()->parameters(), pg = graphed.ptr()->parameters();
    for (size_t i = 0; i < pe.size(); ++i) {
      EXPECT_LT((pe[i] - pg[i]).abs().max().item<double>(), 1e-4) << pb::model_name(kind) << " parameter " << i;
    }
  }
}

TEST(Transfer, CudaCopyBandwidthIsPositive) {
  if (!cuda_skip_reason().empty()) GTEST_SKIP() << cuda_skip_reason();
  for (bool pinned : {false, true}) {
    EXPECT_GT(pb::copy_gbps(1 << 20, pb::CopyDirection::kHostToDevice, pinned, torch::Device(torch::kCUDA, 0), 4), 0);
    EXPECT_GT(pb::copy_gbps(1 << 20, pb::CopyDirection::kDeviceToHost, pinned, torch::Device(torch::kCUDA, 0), 4), 0);
  }
}

}  // namespace
