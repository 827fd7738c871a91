// Tests for common/device and common/timer: device specs, CUDA errors, a timer that measures.
#include <gtest/gtest.h>

#include <thread>

#include "common/device.h"
#include "common/timer.h"

namespace {

bool have_cuda() { return pb::cuda_unavailable_reason().empty(); }

std::string error_of(const std::string& spec) {
  try {
    pb::parse_device(spec);
  } catch (const pb::DeviceError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Device, ParsesCpuAndAuto) {
  EXPECT_EQ(pb::parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(pb::parse_device("auto").is_cuda(), have_cuda());
}

TEST(Device, RejectsMalformedSpecs) {
  EXPECT_EQ(error_of("gpu"), "invalid device 'gpu' (expected cpu, cuda, cuda:N or auto)");
  EXPECT_EQ(error_of("cuda:"), "invalid device 'cuda:' (expected cpu, cuda, cuda:N or auto)");
  EXPECT_EQ(error_of("cuda:-1"), "invalid device 'cuda:-1' (expected cpu, cuda, cuda:N or auto)");
  EXPECT_EQ(error_of("cuda:1x"), "invalid device 'cuda:1x' (expected cpu, cuda, cuda:N or auto)");
}

TEST(Device, CudaWithoutCudaIsAClearError) {
  if (have_cuda()) GTEST_SKIP() << "CUDA is available here; this checks the CPU-only message";
  const std::string reason = PB_HAVE_CUDA ? pb::cuda_unavailable_reason() : "libtorch was built without CUDA";
  EXPECT_EQ(error_of("cuda"), "device 'cuda' requested but CUDA is not available: " + reason);
  EXPECT_EQ(error_of("cuda:0"), "device 'cuda:0' requested but CUDA is not available: " + reason);
}

TEST(DeviceGpu, MissingGpuIndexIsAClearError) {
  if (!have_cuda()) GTEST_SKIP() << "needs CUDA: " << pb::cuda_unavailable_reason();
  const auto count = torch::cuda::device_count();
  const std::string spec = "cuda:" + std::to_string(count);
  EXPECT_EQ(error_of(spec), "device '" + spec + "' does not exist: this machine has " + std::to_string(count) +
                                " CUDA device" + (count == 1 ? "" : "s"));
  EXPECT_EQ(pb::parse_device("cuda"), torch::Device(torch::kCUDA, 0));
}

TEST(Timer, MeasuresElapsedTime) {
  pb::Timer timer;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double seconds = timer.seconds();
  EXPECT_GE(seconds, 0.019);
  EXPECT_LT(seconds, 5.0);
  timer.restart();
  EXPECT_LT(timer.seconds(), seconds);
}

TEST(TimerGpu, WaitsForQueuedKernels) {
  if (!have_cuda()) GTEST_SKIP() << "needs CUDA: " << pb::cuda_unavailable_reason();
  torch::Device device(torch::kCUDA, 0);
  torch::Tensor a = torch::randn({4096, 4096}, device);
  pb::Timer timer(device);
  for (int i = 0; i < 20; ++i) a = torch::mm(a, a).div_(4096);
  const double synced = timer.seconds();
  // 20 dependent 4096^3 matmuls take milliseconds; an unsynchronised clock would read microseconds.
  EXPECT_GT(synced, 1e-3);
}

}  // namespace
