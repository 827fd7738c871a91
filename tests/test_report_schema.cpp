// The report a benchmark binary writes: Google Benchmark's JSON with every environment key in its
// context and, on every run, the rate and the correctness counters beside it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "common/environment.h"
#include "common/json_file.h"

namespace {

TEST(ReportSchema, CpuTrainingReportHasContextAndCounters) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("pb_schema_" + std::to_string(::getpid()) + ".json")).string();
  const std::string command = std::string(PB_BENCH_CPU_TRAINING) +
                              " --quick --models linear,cnn --workers 0,1 --threads 1 --load-us 0 --loaders deep-nice"
                              " --out " + path + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const nlohmann::json report = pb::read_json_file(path);
  std::filesystem::remove(path);

  for (const auto& [key, value] : pb::environment_context()) {
    ASSERT_TRUE(report["context"].contains(key)) << key;
    EXPECT_TRUE(report["context"][key].is_string()) << key;
  }
  EXPECT_EQ(report["context"]["pb_suite"], "bench_cpu_training");
  EXPECT_TRUE(report["context"].contains("num_cpus"));  // Google Benchmark's own context is kept

  // The sweep's points, and the source 000 workflow exactly (0 and 4 workers) since linear is in it.
  const std::regex name(R"(cpu_training/(linear|cnn)/workers:[01]/threads:1/load_us:0/prefetch:\d+/ordered:1/nice:(0|19)/iterations:2/real_time)"
                        R"(|source_000/linear/workers:[04]/iterations:2/real_time)");
  std::vector<nlohmann::json> cpp, peer;
  for (const auto& run : report["benchmarks"]) {
    (run["name"].get<std::string>().rfind("peer_python/", 0) == 0 ? peer : cpp).push_back(run);
  }
  ASSERT_EQ(cpp.size(), 6u);
  for (const auto& run : cpp) {
    EXPECT_TRUE(std::regex_match(run["name"].get<std::string>(), name)) << run["name"];
    EXPECT_GT(run["samples_per_s"].get<double>(), 0);
    EXPECT_GT(run["final_loss"].get<double>(), 0);
    EXPECT_GE(run["val_accuracy"].get<double>(), 0);
    EXPECT_LE(run["val_accuracy"].get<double>(), 1);
    EXPECT_FALSE(run.value("error_occurred", false)) << run.value("error_message", "");
  }
  // The Python peer mirrors the points with libtorch's default loader (here: no workers) and the
  // source_000 points, one row each, named after the C++ row; with python3-torch installed (the
  // README's set-up) they ran.
  ASSERT_EQ(peer.size(), 4u);
  for (const auto& run : peer) {
    const std::string mirrored = run["name"].get<std::string>().substr(12);
    EXPECT_TRUE(std::regex_match(mirrored, name)) << run["name"];
    EXPECT_TRUE(mirrored.find("/workers:0/") != std::string::npos || mirrored.rfind("source_000/", 0) == 0) << run["name"];
    if (run.value("error_occurred", false)) {
      EXPECT_EQ(run["error_message"].get<std::string>().rfind("skipped: no Python with torch found", 0), 0u) << run.dump();
      continue;
    }
    EXPECT_GT(run["samples_per_s"].get<double>(), 0);
    EXPECT_GT(run["final_loss"].get<double>(), 0);
    EXPECT_TRUE(report["context"]["peer_torch_version"].is_string());
    EXPECT_TRUE(report["context"]["peer_python_version"].is_string());
  }
}

}  // namespace
