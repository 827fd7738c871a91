// Collects the environment context; the CUDA-only queries compile only with a CUDA libtorch.
#include "common/environment.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <fstream>
#include <thread>

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#endif

#include "common/device.h"

namespace pb {
namespace {

std::string first_line_with(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string loaded_blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = path.substr(path.rfind('/') + 1);
    for (const char* name : {"libopenblas", "libblas", "libmkl_rt", "libmkl_core", "libblis", "libcblas"}) {
      if (file.rfind(name, 0) == 0) return path;
    }
  }
  // pip's torch links MKL into libtorch_cpu: no BLAS file is loaded, so say what the build used.
  const std::string config = at::show_config();
  const size_t at = config.find("BLAS_INFO=");
  if (at != std::string::npos) {
    const size_t start = at + 10, end = config.find_first_of(", \n", start);
    return "linked into libtorch: " + config.substr(start, end - start) + " (BLAS_INFO of its build)";
  }
  return "none found (libtorch may link a BLAS statically)";
}

std::vector<std::pair<std::string, std::string>> environment_context() {
  std::vector<std::pair<std::string, std::string>> context;
  context.emplace_back("pb_git_revision", git_revision());
  context.emplace_back("pb_build_type", PB_BUILD_TYPE);
  context.emplace_back("libtorch_version", TORCH_VERSION);
  context.emplace_back("libtorch_cuda", PB_HAVE_CUDA ? "yes" : "no");
  const std::string cuda_reason = cuda_unavailable_reason();
  context.emplace_back("cuda_status", cuda_reason.empty() ? "available" : "unavailable: " + cuda_reason);
#if PB_HAVE_CUDA
  context.emplace_back("cuda_runtime", std::to_string(CUDART_VERSION));
  const auto& hooks = at::detail::getCUDAHooks();
  context.emplace_back("cudnn_version", hooks.hasCuDNN() ? std::to_string(hooks.versionCuDNN()) : "none");
  std::string names;
  const auto count = cuda_reason.empty() ? torch::cuda::device_count() : 0;
  for (size_t i = 0; i < count; ++i) {
    names += (i ? "; " : "") + std::string(at::cuda::getDeviceProperties(static_cast<int64_t>(i))->name);
  }
  context.emplace_back("gpu_count", std::to_string(count));
  context.emplace_back("gpu_names", names.empty() ? "none" : names);
#else
  context.emplace_back("cuda_runtime", "none");
  context.emplace_back("cudnn_version", "none");
  context.emplace_back("gpu_count", "0");
  context.emplace_back("gpu_names", "none");
#endif
  context.emplace_back("cpu_model", first_line_with("/proc/cpuinfo", "model name"));
  context.emplace_back("cpu_cores", std::to_string(std::thread::hardware_concurrency()));
  context.emplace_back("blas", loaded_blas_library());
  context.emplace_back("torch_threads", std::to_string(at::get_num_threads()));
  context.emplace_back("torch_interop_threads", std::to_string(at::get_num_interop_threads()));
  context.emplace_back("torch_parallel_info", at::get_parallel_info());
  return context;
}

}  // namespace pb
