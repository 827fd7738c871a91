// Tests for common/environment: every documented context key is present and meaningful.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include <torch/version.h>

#include "common/environment.h"

namespace {

TEST(Environment, HasEveryDocumentedKey) {
  std::map<std::string, std::string> context;
  for (const auto& [key, value] : pb::environment_context()) {
    EXPECT_FALSE(value.empty()) << key;
    EXPECT_TRUE(context.emplace(key, value).second) << "duplicate key " << key;
  }
  for (const char* key : {"pb_git_revision", "pb_build_type", "libtorch_version", "libtorch_cuda", "cuda_status",
                          "cuda_runtime", "cudnn_version", "gpu_count", "gpu_names", "cpu_model", "cpu_cores",
                          "blas", "torch_threads", "torch_interop_threads", "torch_parallel_info"}) {
    EXPECT_EQ(context.count(key), 1u) << key;
  }
  EXPECT_EQ(context["libtorch_version"], TORCH_VERSION);
  EXPECT_EQ(context["cpu_cores"], std::to_string(std::thread::hardware_concurrency()));
  EXPECT_EQ(context["libtorch_cuda"], PB_HAVE_CUDA ? "yes" : "no");
  EXPECT_NE(context["torch_parallel_info"].find("ATen/Parallel"), std::string::npos);
}

TEST(Environment, FindsTheLoadedBlas) {
  // Debian's libtorch loads a BLAS at start-up (whatever libblas.so.3 points to); pip's torch
  // links MKL in, which only its build configuration can tell.
  const std::string blas = pb::loaded_blas_library();
  if (blas.rfind("linked into libtorch: ", 0) == 0) {
    EXPECT_EQ(blas.find("linked into libtorch:  "), std::string::npos) << blas;  // a name follows
    EXPECT_NE(blas.find(" (BLAS_INFO of its build)"), std::string::npos) << blas;
  } else {
    EXPECT_NE(blas.find("blas"), std::string::npos) << blas;
  }
}

TEST(Environment, GitRevisionIsRecorded) { EXPECT_STRNE(pb::git_revision(), ""); }

}  // namespace
