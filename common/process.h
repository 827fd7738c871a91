// Child processes and stop signals, shared by the rank launcher and the Python peer: a child dies
// with its parent, a SIGINT/SIGTERM/SIGHUP sent to the parent alone is forwarded to the child, and
// the parent then exits 128 + signal instead of leaving the child orphaned under PID 1.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pb {

// While alive, SIGINT, SIGTERM and SIGHUP are caught and recorded (the first one wins) instead of
// ending the process, so that the owner can stop its children first. Restores the previous
// handlers when destroyed. Not reentrant: one at a time per process.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal received since construction, or 0.
  static int received();
};

// "SIGINT", "SIGTERM", "SIGHUP", else "signal N".
std::string signal_name(int signal);

// Prints "<program>: <signal name> received; stopped" on stderr, flushes, and ends the process
// with exit code 128 + signal (130 for SIGINT, 143 for SIGTERM) without running static
// destructors (a libtorch thread may still be running).
[[noreturn]] void exit_on_signal(const std::string& program, int signal);

// In a child between fork and exec: ask the kernel to SIGKILL it when its parent dies (also by
// kill -9), and exit at once if the parent is already gone (the race between fork and prctl).
void die_with_parent(pid_t parent);

// Sends `signal` to a child's process group (or the child, when it has none of its own), waits up
// to `grace_s` for it to exit, then SIGKILLs it. Reaps it; returns its wait status.
int stop_child(pid_t pid, bool own_group, int signal, double grace_s);

// A private temporary folder ("<temp dir>/<prefix>XXXXXX" by mkdtemp: unique, mode 0700), removed
// with what it holds when this goes out of scope, however the scope ends. For files passed between
// processes (jobs, results), where a predictable /tmp name could be raced or left behind. Throws
// std::runtime_error ("cannot create a temporary folder: <reason>") when it cannot be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct ChildResult {
  int exit_code = -1;    // 0-255, or 128 + signal when killed by a signal
  bool timed_out = false;
  int stop_signal = 0;   // a StopSignals signal received while waiting (the child was then stopped)
};

// Runs argv[0] (looked up in PATH) with argv, in its own process group, dying with this process;
// stdin from /dev/null, stdout and stderr to the given files ("" = inherited). Waits until it
// exits, `timeout_s` passes (then SIGTERM, SIGKILL 10 s later) or a StopSignals signal arrives
// (then the signal is forwarded and the child given 5 s). Throws std::runtime_error when it
// cannot start the child.
ChildResult run_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                      const std::string& stderr_path, double timeout_s);

}  // namespace pb
