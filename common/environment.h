// The environment a figure was measured in: library versions, devices, cores, BLAS, threads, build.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pb {

// The git revision the program was built from ("unknown" outside a git checkout).
const char* git_revision();

// The BLAS shared library actually loaded into this process (read from /proc/self/maps), because
// Debian's libtorch uses whichever libblas.so.3 the alternatives system points to, and the
// reference BLAS is ~10x slower than OpenBLAS.
std::string loaded_blas_library();

// Ordered key/value strings (Google Benchmark's custom context takes strings only). Keys:
// pb_git_revision, pb_build_type, libtorch_version, libtorch_cuda, cuda_runtime, cudnn_version,
// gpu_count, gpu_names, cpu_model, cpu_cores, blas, torch_threads, torch_interop_threads,
// torch_parallel_info. See results/README.md for what each means.
std::vector<std::pair<std::string, std::string>> environment_context();

}  // namespace pb
