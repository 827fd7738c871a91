// Timer implementation: CUDA kernels run asynchronously, so reading a clock without a
// synchronisation measures only how fast the CPU queued them.
#include "common/timer.h"

namespace pb {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

void Timer::restart() {
  synchronize(device_);
  start_ = std::chrono::steady_clock::now();
}

double Timer::seconds() const {
  synchronize(device_);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace pb
