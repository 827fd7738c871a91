// Tutorial 4, step 2: start several processes and connect them (c10d rendezvous).
//
// One process per rank. They find each other through torchrun's environment variables:
// MASTER_ADDR and MASTER_PORT (where rank 0 serves a TCPStore, a small key-value store),
// RANK and WORLD_SIZE. Any launcher that sets them works (torchrun, SLURM scripts, mpirun
// wrappers); --nproc N is this project's own: it starts N local ranks of this program.
// Over the store, ranks create a process group: Gloo for CPU tensors, NCCL for GPU tensors.
// Then they share step 1's model, as DDP's first act does (story.h: the series so far).
#include <iostream>

#include "common/cli.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "story.h"

int main(int argc, char** argv) {
  int64_t nproc = 0;
  double timeout_s = series4::kTimeoutSeconds;
  pb::Cli cli("tutorial_4_step2_rendezvous", "Step 2: rendezvous, broadcast and all-reduce across processes.");
  cli.option("nproc", &nproc, "start this many local ranks (0: RANK etc. are already set)", 0, 64)
      .option("timeout", &timeout_s, "rendezvous and collective timeout, seconds", 0.1, 3600);
  pb::parse_or_exit(cli, argc, argv);
  if (auto code = pb::dist::launch_if_requested(argc, argv, nproc)) return *code;
  const series4::Settings settings;  // step 1's model, to share
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), settings.model);
  torch::set_num_threads(static_cast<int>(settings.threads));

  // ---- Step 2a: read the environment, connect -------------------------------------------------
  // series4::step2_connect (story.cpp), which steps 3 and 4 connect with too: read_dist_env() reads
  // the variables above (a bad one: one line, exit code 2), then connect_or_exit() meets the other
  // ranks at the TCPStore and builds the Gloo group, or gives up after the timeout.
  pb::dist::DistEnv env;
  const pb::dist::Group group = series4::step2_connect(cli.program(), &env, timeout_s);
  series4::print_start(2, settings, env.world_size);
  std::cout << "== Step 2a: connect ==\nrank " << env.rank << " of " << env.world_size << " connected via "
            << env.master_addr << ":" << env.master_port << ", backend " << group.backend << "\n";

  // A peer that dies (or hangs past the timeout) fails these collectives: one line naming it.
  try {
    // ---- Step 2b: broadcast: rank 0's model everywhere -----------------------------------------
    // DDP starts this way: every rank initialises its model differently, then takes rank 0's,
    // which here is step 1's. All parameters travel as one flat tensor: one collective.
    torch::manual_seed(series4::kSeed + static_cast<uint64_t>(env.rank));  // deliberately different...
    torch::nn::AnyModule model = env.rank == 0 ? series4::step1_model(kind) : pb::make_model(kind);
    std::vector<torch::Tensor> params = model.ptr()->parameters();
    const double own = series4::parameter_checksum(params);
    std::vector<torch::Tensor> flat{torch::nn::utils::parameters_to_vector(params)};
    group.group->broadcast(flat)->wait();  // ...then rank 0's
    torch::nn::utils::vector_to_parameters(flat[0], params);
    const bool same = series4::max_difference(params, series4::step1_model(kind).ptr()->parameters()) == 0;
    std::cout << "== Step 2b: broadcast ==\nrank " << env.rank;
    if (env.rank == 0) {
      std::cout << " made step 1's " << settings.model << " and sent its " << flat[0].numel() << " parameters";
    } else {
      std::cout << " made its own " << settings.model << " (checksum " << own << "), took rank 0's " << flat[0].numel()
                << " parameters";
    }
    std::cout << " (checksum " << series4::parameter_checksum(params) << "): step 1's initial model: "
              << (same ? "yes" : "NO") << "\n";

    // ---- Step 2c: all-reduce: every rank ends with the sum -------------------------------------
    // DDP's every step: each rank's gradients in, their sum out, on every rank.
    std::vector<torch::Tensor> value{torch::full({1}, static_cast<float>(env.rank + 1))};
    group.group->allreduce(value)->wait();
    const float expected = static_cast<float>(env.world_size * (env.world_size + 1) / 2);
    std::cout << "== Step 2c: all-reduce ==\nrank " << env.rank << " contributed " << env.rank + 1 << ", sum "
              << value[0].item<float>() << (value[0].item<float>() == expected ? " (correct)" : " (WRONG)") << "\n";
    group.group->barrier()->wait();
    return same && value[0].item<float>() == expected ? 0 : 1;
  } catch (const std::exception& e) {
    pb::dist::exit_on_collective_failure(cli.program(), group, e);
  }
}
