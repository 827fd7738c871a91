// Tutorial 2, step 1 (source 001, "pick the device"): CUDA when usable, else the CPU, and what
// the chosen device is.
//
// The source writes torch.device("cuda:0" if torch.cuda.is_available() else "cpu"). --device auto
// is the same rule (pb::parse_device), and it also says *why* CUDA cannot be used, which a silent
// fall-back hides: a libtorch built without CUDA (Debian's), no driver or GPU, or
// CUDA_VISIBLE_DEVICES hiding the GPUs. The device is series2::step1_device() (story.h): every
// later step takes the same --device flag and picks its device through the same function.
#include <iostream>
#include <thread>

#include "common/cli.h"
#include "common/device.h"
#include "tutorials/2_gpu/story.h"

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>  // at::cuda::getDeviceProperties
#endif

// Bytes in a GiB, for the GPU's memory.
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

int main(int argc, char** argv) {
  std::string device_spec;
  pb::Cli cli("tutorial_2_step1_pick_device", "Step 1: CUDA when usable, else the CPU; what the device is.");
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);

  // ---- Step 1a: is CUDA usable? --------------------------------------------------------------
  std::cout << "== Step 1a: is CUDA usable? ==\n";
  const std::string reason = pb::cuda_unavailable_reason();
  std::cout << "libtorch " << TORCH_VERSION << ", built " << (PB_HAVE_CUDA ? "with" : "without") << " CUDA\n";
  if (reason.empty()) {
    std::cout << "CUDA: yes, " << torch::cuda::device_count() << " device(s)\n";
  } else {
    std::cout << "CUDA: no: " << reason << "\n";
  }

  // ---- Step 1b: the chosen device ------------------------------------------------------------
  std::cout << "\n== Step 1b: the chosen device ==\n";
  std::cout << "--device " << device_spec << " -> " << device << "\n";
  if (device.is_cuda()) {
#if PB_HAVE_CUDA
    // The properties the CUDA runtime reports for this GPU (cudaDeviceProp).
    const cudaDeviceProp* props = at::cuda::getDeviceProperties(device.index());
    std::cout << "name: " << props->name << "\n"
              << "total memory: " << static_cast<double>(props->totalGlobalMem) / kGiB << " GiB\n"
              << "compute capability: " << props->major << "." << props->minor << "\n"
              << "multiprocessors: " << props->multiProcessorCount << "\n";
#endif
  } else {
    std::cout << "CPU: " << std::thread::hardware_concurrency() << " cores, " << torch::get_num_threads()
              << " intra-op threads\n";
    std::cout << "why not a GPU: " << series2::step1_why_not_cuda(device, device_spec) << "\n";
  }

  // ---- Step 1c: a tensor made there ----------------------------------------------------------
  // Creating a tensor with the device in its options allocates it there directly: no host copy.
  std::cout << "\n== Step 1c: a tensor made there ==\n";
  const torch::Tensor x = torch::ones({2, 3}, torch::TensorOptions().device(device));
  std::cout << "torch::ones({2, 3}) on " << x.device() << ", sum " << x.sum().item<float>() << "\n";
  return 0;
}
