// Timer implementation: CUDA kernels run asynchronously, so reading a clock without a
// synchronisation measures only how fast the CPU queued them.
#include "common/timer.h"

#include <algorithm>

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

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kData: return "data";
    case Phase::kModel: return "model";
    case Phase::kLoad: return "load";
    case Phase::kForward: return "forward";
    case Phase::kBackward: return "backward";
    case Phase::kAllReduce: return "allreduce";
    case Phase::kOptimizer: return "optimizer";
    case Phase::kValidation: return "validation";
  }
  return "?";
}

double PhaseTimes::total() const {
  double sum = 0;
  for (double s : seconds) sum += s;
  return sum;
}

PhaseTimes& PhaseTimes::operator+=(const PhaseTimes& other) {
  for (size_t i = 0; i < kPhaseCount; ++i) seconds[i] += other.seconds[i];
  return *this;
}

PhaseClock::PhaseClock(torch::Device device, bool synchronize)
    : device_(device), synchronize_(synchronize && device.is_cuda()), last_(Clock::now()) {}

void PhaseClock::restart() {
  if (synchronize_) synchronize(device_);
  last_ = Clock::now();
}

void PhaseClock::lap(Phase phase) {
  if (synchronize_) synchronize(device_);
  const Clock::time_point now = Clock::now();
  times_[phase] += std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

void PhaseClock::lap_until(Phase phase, Clock::time_point end) {
  end = std::clamp(end, last_, std::max(last_, Clock::now()));
  times_[phase] += std::chrono::duration<double>(end - last_).count();
  last_ = end;
}

}  // namespace pb
