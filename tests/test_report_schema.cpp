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

  const std::regex name(R"(cpu_training/(linear|cnn)/workers:[01]/threads:1/load_us:0/prefetch:\d+/ordered:1/nice:(0|19)/iterations:2/real_time)");
  ASSERT_EQ(report["benchmarks"].size(), 4u);
  for (const auto& run : report["benchmarks"]) {
    EXPECT_TRUE(std::regex_match(run["name"].get<std::string>(), name)) << run["name"];
    EXPECT_GT(run["samples_per_s"].get<double>(), 0);
    EXPECT_GT(run["final_loss"].get<double>(), 0);
    EXPECT_GE(run["val_accuracy"].get<double>(), 0);
    EXPECT_LE(run["val_accuracy"].get<double>(), 1);
    EXPECT_FALSE(run.value("error_occurred", false)) << run.value("error_message", "");
  }
}

}  // namespace
