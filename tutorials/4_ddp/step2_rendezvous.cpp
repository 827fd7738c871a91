// Tutorial 4, step 2: start several processes and connect them (c10d rendezvous).
//
// One process per rank. They find each other through torchrun's environment variables:
// MASTER_ADDR and MASTER_PORT (where rank 0 serves a TCPStore, a small key-value store),
// RANK and WORLD_SIZE. Any launcher that sets them works (torchrun, SLURM scripts, mpirun
// wrappers); --nproc N is this project's own: it starts N local ranks of this program.
// Over the store, ranks create a process group: Gloo for CPU tensors, NCCL for GPU tensors.
#include <iostream>

#include "common/cli.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"

// Rendezvous and collectives give up after this long, so a missing rank is an error, not a hang.
constexpr double kTimeoutSeconds = 30;

int main(int argc, char** argv) {
  int64_t nproc = 0;
  double timeout_s = kTimeoutSeconds;
  pb::Cli cli("tutorial_4_step2_rendezvous", "Step 2: rendezvous, broadcast and all-reduce across processes.");
  cli.option("nproc", &nproc, "start this many local ranks (0: RANK etc. are already set)", 0, 64)
      .option("timeout", &timeout_s, "rendezvous and collective timeout, seconds", 0.1, 3600);
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;

  // ---- Step 2a: read the environment, connect -------------------------------------------------
  pb::dist::DistEnv env;
  try {
    env = pb::dist::read_dist_env();
  } catch (const pb::dist::DistError& e) {
    pb::fail_usage(cli.program(), e.what());
  }
  // connect() with its errors as one line and exit code 2. A rendezvous past its deadline leaves
  // a thread blocked in c10d, so the program exits at once (connect_or_exit uses std::_Exit).
  const pb::dist::Group group = pb::dist::connect_or_exit(
      cli.program(), env, torch::kCPU, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  std::cout << "== Step 2a: connect ==\nrank " << env.rank << " of " << env.world_size << " connected via "
            << env.master_addr << ":" << env.master_port << ", backend " << group.backend << "\n";

  // A peer that dies (or hangs past the timeout) fails these collectives: one line naming it.
  try {
    // ---- Step 2b: broadcast: rank 0's tensor everywhere ---------------------------------------
    // DDP starts this way: every rank initialises its model differently, then takes rank 0's.
    std::vector<torch::Tensor> tensor{env.rank == 0 ? torch::arange(4, torch::kFloat) : torch::zeros({4})};
    group.group->broadcast(tensor)->wait();
    std::cout << "== Step 2b: broadcast ==\nrank " << env.rank << " has [" << tensor[0][0].item<float>() << " "
              << tensor[0][1].item<float>() << " " << tensor[0][2].item<float>() << " " << tensor[0][3].item<float>()
              << "] from rank 0\n";

    // ---- Step 2c: all-reduce: every rank ends with the sum -------------------------------------
    // DDP's every step: each rank's gradients in, their sum out, on every rank.
    std::vector<torch::Tensor> value{torch::full({1}, static_cast<float>(env.rank + 1))};
    group.group->allreduce(value)->wait();
    const float expected = static_cast<float>(env.world_size * (env.world_size + 1) / 2);
    std::cout << "== Step 2c: all-reduce ==\nrank " << env.rank << " contributed " << env.rank + 1 << ", sum "
              << value[0].item<float>() << (value[0].item<float>() == expected ? " (correct)" : " (WRONG)") << "\n";
    group.group->barrier()->wait();
    return value[0].item<float>() == expected ? 0 : 1;
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
}
