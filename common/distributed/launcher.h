// The built-in launcher (--nproc N): starts N local ranks of this same program with torchrun's
// environment variables, forwards their output line by line with a "[rank k] " prefix, and, when a
// rank fails, stops the others (SIGTERM, then SIGKILL after a timeout) instead of letting them
// wait forever for a peer that is gone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pb::dist {

struct LaunchOptions {
  int64_t nproc = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 0;     // 0: pick a free port
  double stop_timeout_s = 10;  // after a rank fails, how long the others get to exit
};

// A free TCP port on loopback, chosen by the kernel.
int64_t find_free_port();

// Runs `args` (args[0] is ignored: this program is re-executed through /proc/self/exe) as
// options.nproc ranks. Ranks are reaped when their output pipe closes, in that order; ranks
// that die within the same poll interval (100 ms at most) are taken in rank order. Returns 0 when
// every rank exited 0, else the exit code of the first rank that failed (128 + signal for a rank
// killed by a signal). Prints "launcher: rank K exited with code C; stopping the other ranks" on
// the first failure. Ranks die with the launcher (PR_SET_PDEATHSIG, also on kill -9). A SIGINT,
// SIGTERM or SIGHUP sent to the launcher is forwarded to the ranks ("launcher: SIGTERM received;
// stopping the ranks"), which get stop_timeout_s before SIGKILL; then the process exits with
// 128 + signal (130, 143) instead of returning.
int launch_local_ranks(const std::vector<std::string>& args, const LaunchOptions& options);

// For programs with a --nproc flag: when nproc > 0 and this process is not already a rank (RANK
// unset), starts nproc ranks of this program with the same arguments and returns the launcher's
// exit code; otherwise returns nullopt and the caller goes on as a rank. RANK wins over --nproc:
// when it is set by anything but this launcher (torchrun, a leftover export), one line on stderr
// says so ("<program>: note: RANK=1 is set in the environment, so this process runs as that rank
// and --nproc 2 is ignored (unset RANK to start 2 local ranks)").
std::optional<int> launch_if_requested(int argc, char** argv, int64_t nproc, double stop_timeout_s = 10);

}  // namespace pb::dist
