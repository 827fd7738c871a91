// Tutorial 3, step 1 (source 002, "import"): what a C++ program includes for data parallelism,
// and what this libtorch build can do.
//
// Python's `import torch.nn as nn` brings nn.DataParallel. In C++, <torch/torch.h> has modules,
// optimizers and devices, but libtorch's data_parallel() lives in a header of its own,
// <torch/nn/parallel/data_parallel.h>, and that header pulls in cuda.h: with a CPU-only libtorch
// (Debian's) it does not even compile. This series therefore uses it only in CUDA builds and
// brings its own strategy (common/data_parallel.h) that works on CPUs and GPUs alike.
#include <iostream>
#include <thread>

#include "common/cli.h"
#include "common/data_parallel.h"  // pb::ReplicatedDataParallel: persistent replicas
#include "common/device.h"

#if PB_HAVE_CUDA
#include <torch/nn/parallel/data_parallel.h>  // torch::nn::parallel::data_parallel, replicate, parallel_apply
#endif

int main(int argc, char** argv) {
  pb::Cli cli("tutorial_3_step1_import", "Step 1: the includes, and what this build of libtorch offers.");
  pb::parse_or_exit(cli, argc, argv);

  // ---- Step 1a: the includes -----------------------------------------------------------------
  std::cout << "== Step 1a: the includes ==\n";
  std::cout << "<torch/torch.h>: modules, optimizers, devices (libtorch " << TORCH_VERSION << ")\n";
  std::cout << "<torch/nn/parallel/data_parallel.h>: "
            << (PB_HAVE_CUDA ? "included (CUDA build)" : "not includable here: it needs cuda.h (CPU-only libtorch)") << "\n";
  std::cout << "common/data_parallel.h: persistent replicas on CPU threads or GPUs\n";

  // ---- Step 1b: the devices ------------------------------------------------------------------
  std::cout << "\n== Step 1b: the devices ==\n";
  const std::string reason = pb::cuda_unavailable_reason();
  std::cout << "CUDA: " << (reason.empty() ? "available, " + std::to_string(torch::cuda::device_count()) + " GPU(s)" : reason) << "\n";
  std::cout << "CPU cores: " << std::thread::hardware_concurrency() << ", intra-op threads now: " << torch::get_num_threads()
            << " (replicas on the CPU run in threads of their own)\n";
  return 0;
}
