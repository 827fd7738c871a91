// A wall-clock timer that waits for queued CUDA work before it reads, so GPU times are real.
#pragma once

#include <chrono>

#include <torch/torch.h>

namespace pb {

// Blocks until all work queued on `device` has finished; a no-op on the CPU.
void synchronize(const torch::Device& device);

class Timer {
 public:
  explicit Timer(torch::Device device = torch::kCPU) : device_(device) { restart(); }
  // Synchronises the device, then starts counting from now.
  void restart();
  // Synchronises the device, then returns the seconds since the last restart.
  double seconds() const;

 private:
  torch::Device device_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace pb
