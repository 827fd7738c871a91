// A wall-clock timer that waits for queued CUDA work before it reads, so GPU times are real; and a
// phase clock that splits a training run's wall time into its phases.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

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

// The phases a training run's wall time is split into, in the order a run meets them: making the
// data, building the model (with its optimizer and loader), loading or waiting for a batch,
// forward (with the loss), backward, waiting for the gradient all-reduce, the optimizer step (with
// zero_grad), validation. Tutorial 1 step 6 prints them; the benchmarks' rows carry them as
// phase_<name>_s counters (seconds per iteration); pb_report stacks them in one bar per setting.
enum class Phase : size_t { kData, kModel, kLoad, kForward, kBackward, kAllReduce, kOptimizer, kValidation };
constexpr size_t kPhaseCount = 8;
constexpr std::array<Phase, kPhaseCount> kAllPhases = {Phase::kData,     Phase::kModel,     Phase::kLoad,
                                                       Phase::kForward,  Phase::kBackward,  Phase::kAllReduce,
                                                       Phase::kOptimizer, Phase::kValidation};
// "data", "model", "load", "forward", "backward", "allreduce", "optimizer", "validation": the
// <name> of the counters phase_<name>_s.
const char* phase_name(Phase phase);

// Seconds per phase.
struct PhaseTimes {
  std::array<double, kPhaseCount> seconds{};
  double& operator[](Phase phase) { return seconds[static_cast<size_t>(phase)]; }
  double operator[](Phase phase) const { return seconds[static_cast<size_t>(phase)]; }
  double total() const;
  PhaseTimes& operator+=(const PhaseTimes& other);
};

// Splits wall time into consecutive phases: each lap(phase) charges the time since the previous
// lap (or the start) to `phase`, so the phases add up to the whole time between the start and the
// last lap. A lap reads steady_clock and nothing else (tens of nanoseconds, no locks): it does not
// slow what it times. On a GPU, work is queued, not done, when the host moves on: a lap then
// charges the host's queueing time, unless `synchronize` is set, in which case each lap first
// waits for the device (which serialises host and device: the throughput drops, the split is true).
class PhaseClock {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PhaseClock(torch::Device device = torch::kCPU, bool synchronize = false);
  // The next lap starts now; the times so far are kept.
  void restart();
  // Charges the time since the previous lap to `phase`.
  void lap(Phase phase);
  // Charges the time up to `end` (a moment another thread saw; clamped to [previous lap, now]) to
  // `phase`; the next lap starts at `end`.
  void lap_until(Phase phase, Clock::time_point end);
  const PhaseTimes& times() const { return times_; }

 private:
  torch::Device device_;
  bool synchronize_;
  Clock::time_point last_;
  PhaseTimes times_;
};

}  // namespace pb
