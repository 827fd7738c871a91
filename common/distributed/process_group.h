// Rendezvous and process groups on c10d, the distributed engine inside libtorch: a TCPStore
// served by rank 0, then Gloo for CPU tensors or NCCL for CUDA tensors (NCCL only where libtorch
// was built with it and the project detected it: PB_HAVE_NCCL).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

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

// One rank's process as the other ranks see it, so that a lost peer can be named: `host` is the
// machine's name and PID namespace (a process id means the same process only there).
struct PeerProcess {
  std::string host;
  int64_t pid = 0;
};

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> group;
  std::string backend;  // "gloo" or "nccl"
  int64_t rank = 0;
  int64_t world_size = 1;
  std::vector<PeerProcess> peers;  // by rank, published at connect; an empty host where unknown
};

// Connects to the job described by `env` (rank 0 hosts the store) and creates the process group
// for `device` (Gloo on CPU, NCCL on CUDA). `timeout` is one deadline for the whole rendezvous
// (store and process group together), then bounds every collective, so an unreachable master or a
// dead peer becomes a DistError instead of a hang. The rendezvous runs in a worker thread: when
// the deadline passes, connect() throws at once and leaves that thread behind (it may be blocked
// for good, e.g. on a listener that is not a TCPStore and never answers), so the caller should
// exit soon after; connect_or_exit does, through std::_Exit.
// Errors: "cannot rendezvous at 127.0.0.1:29500 as rank 0 of 2: timed out after 30 s waiting for
// the other ranks to join the store", "cannot rendezvous at 127.0.0.1:29500 as rank 1 of 2: timed
// out after 30 s connecting to the store (no c10d TCPStore answered there)", "cannot create the
// process group at ...: <reason>", "PB_GLOO_THREADS must be an integer, got 'two'", "NCCL is not
// available in this build (libtorch without CUDA, or its NCCL headers were not found)".
Group connect(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout);

// For programs that are ranks: reads the environment (or takes `env`) and connects, or prints
// "<program>: error: <one line>" and exits with code 2 (a bad environment, an unreachable master,
// a rendezvous past its deadline) without waiting for a blocked rendezvous thread.
Group connect_or_exit(const std::string& program, const torch::Device& device, std::chrono::milliseconds timeout,
                      DistEnv* env);
Group connect_or_exit(const std::string& program, const DistEnv& env, const torch::Device& device,
                      std::chrono::milliseconds timeout);

// One line on why a collective failed, naming the lost peer where it can be known: "rank 0 of 2
// lost rank 1: Read error [127.0.0.1]:41234: Connection reset by peer". A peer is known to be lost
// when the job has two ranks, or when its process on this machine has exited (the process ids
// published at connect; checked for up to a second, while it finishes dying). Otherwise: "rank 2
// of 4 lost a peer rank: <Gloo's message, with the peer's address>", "rank 0 of 4 timed out waiting
// for a peer rank: <message>", or "rank 0 of 4: <message>".
std::string describe_collective_failure(const Group& group, const std::exception& error);

// For rank programs, in a catch around their collectives: prints "<program>: error: " and
// describe_collective_failure() on stderr and exits 1 at once (std::_Exit after flushing). Not a
// return: unwinding would destroy DDP wrappers and process groups, which wait on collectives that
// failed or are still stuck. It waits 0.3 s before exiting, so that the launcher (--nproc) sees
// the rank that caused the failure exit first and names it.
[[noreturn]] void exit_on_collective_failure(const std::string& program, const Group& group,
                                             const std::exception& error);

// Why NCCL cannot be used here, or "" when it can.
std::string nccl_unavailable_reason();

}  // namespace pb::dist
