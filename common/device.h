// Device selection from a flag value: cpu, cuda, cuda:N or auto, with one-line errors.
#pragma once

#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "common/error.h"

namespace pb {

struct DeviceError : Error {
  using Error::Error;
};

// Why CUDA cannot be used in this process, or "" when it can.
std::string cuda_unavailable_reason();

// "cpu", "cuda" (= cuda:0), "cuda:N", or "auto" (cuda:0 when usable, else cpu).
// Throws DeviceError with a one-line message for a malformed spec, when CUDA is asked for and
// unusable, or when cuda:N names a device that does not exist.
torch::Device parse_device(const std::string& spec);
// For a program's --device flag: parse_device, or "<program>: error: <message>" and exit 2.
torch::Device parse_device_or_exit(const std::string& program, const std::string& spec);

}  // namespace pb
