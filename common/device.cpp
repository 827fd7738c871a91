// Device parsing and the reasons CUDA may be unusable.
#include "common/device.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace pb {

std::string cuda_unavailable_reason() {
  if (!PB_HAVE_CUDA) return "libtorch was built without CUDA";
  if (!torch::cuda::is_available()) return "no CUDA device is visible (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)";
  return "";
}

torch::Device parse_device(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "auto") {
    return cuda_unavailable_reason().empty() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  int64_t index = 0;
  if (spec.rfind("cuda:", 0) == 0) {
    const std::string digits = spec.substr(5);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
      throw DeviceError("invalid device '" + spec + "' (expected cpu, cuda, cuda:N or auto)");
    }
    index = std::stoll(digits);
  } else if (spec != "cuda") {
    throw DeviceError("invalid device '" + spec + "' (expected cpu, cuda, cuda:N or auto)");
  }
  const std::string reason = cuda_unavailable_reason();
  if (!reason.empty()) throw DeviceError("device '" + spec + "' requested but CUDA is not available: " + reason);
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw DeviceError("device '" + spec + "' does not exist: this machine has " + std::to_string(count) +
                      " CUDA device" + (count == 1 ? "" : "s"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::Device parse_device_or_exit(const std::string& program, const std::string& spec) {
  return or_exit(program, [&] { return parse_device(spec); });
}

}  // namespace pb
