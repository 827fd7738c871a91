// Rendezvous and process groups on c10d, the distributed engine inside libtorch: a TCPStore
// served by rank 0, then Gloo for CPU tensors or NCCL for CUDA tensors (NCCL only where libtorch
// was built with it and the project detected it: PB_HAVE_NCCL).
#pragma once

#include <chrono>
#include <memory>

#include <torch/torch.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

#include "common/distributed/dist_env.h"

namespace pb::dist {

// What runs the collectives: in libtorch 1.13 ProcessGroupGloo/NCCL derive from ProcessGroup, in
// 2.x from Backend (ProcessGroup became a dispatcher over backends). Both have allreduce,
// broadcast and barrier with the same signatures.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> group;
  std::string backend;  // "gloo" or "nccl"
};

// Connects to the job described by `env` (rank 0 hosts the store) and creates the process group
// for `device` (Gloo on CPU, NCCL on CUDA). `timeout` bounds the rendezvous and every collective,
// so an unreachable master or a dead peer becomes a DistError instead of a hang.
// Errors: "cannot rendezvous at 127.0.0.1:29500 as rank 0: <reason>", "NCCL is not available in
// this build (libtorch without CUDA, or its NCCL headers were not found)".
Group connect(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout);

// For programs that are ranks: reads the environment and connects, or prints
// "<program>: error: <one line>" and exits with code 2 (a bad environment, an unreachable master).
Group connect_or_exit(const std::string& program, const torch::Device& device, std::chrono::milliseconds timeout,
                      DistEnv* env);

// Why NCCL cannot be used here, or "" when it can.
std::string nccl_unavailable_reason();

}  // namespace pb::dist
