// Tests for the Python peer (benchmarks/harness/peer.h and benchmarks/peer_python): the C++ and
// Python training loops do the same work (same data, same initial weights, same final loss);
// peer rows parse and pair with their C++ rows; a missing interpreter is a recorded skip.
#include <gtest/gtest.h>

#include "benchmarks/harness/peer.h"
#include "benchmarks/harness/point.h"
#include "common/data.h"
#include "common/train.h"

namespace {

struct CheckResult {
  double final_loss = 0, param_sum = 0;
};

// The C++ half of the peer's "check" workflow: no shuffle, `steps` batches in order, one thread.
CheckResult train_in_order(pb::ModelKind kind, int64_t steps, int64_t batch, int64_t samples) {
  const pb::TensorData data = pb::make_synthetic_split(kind, samples, 1, 0).train;
  torch::set_num_threads(1);
  torch::manual_seed(0);
  torch::nn::AnyModule model = pb::make_model(kind);
  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(kind));
  CheckResult result;
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t begin = (step * batch) % samples;
    optimizer.zero_grad();
    torch::Tensor loss = pb::compute_loss(kind, model.forward(data.inputs.narrow(0, begin, batch)),
                                          data.targets.narrow(0, begin, batch));
    loss.backward();
    optimizer.step();
    result.final_loss = loss.item<double>();
  }
  for (const auto& p : model.ptr()->parameters()) result.param_sum += p.sum().item<double>();
  return result;
}

TEST(Peer, CppAndPythonReachTheSameFinalLoss) {
  std::string why;
  if (pb::bench::find_python_with_torch("", &why).empty()) GTEST_SKIP() << why;
  struct Case {
    const char* model;
    int64_t steps, batch, samples;
  };
  const std::vector<Case> cases = {{"linear", 40, 32, 256}, {"mlp", 40, 32, 256}, {"cnn", 4, 16, 64}};
  nlohmann::json job = {{"workflow", "check"}, {"points", nlohmann::json::array()}};
  for (const Case& c : cases) {
    job["points"].push_back({{"name", std::string("check/") + c.model}, {"model", c.model}, {"steps", c.steps},
                             {"batch", c.batch}, {"samples", c.samples}});
  }
  const nlohmann::json result = pb::bench::run_python_peer(job, {});
  ASSERT_EQ(result["benchmarks"].size(), cases.size()) << result.dump();
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json& row = result["benchmarks"][i];
    ASSERT_FALSE(row.value("error_occurred", false)) << row.dump();
    EXPECT_EQ(row["name"], std::string("peer_python/check/") + cases[i].model);
    const CheckResult cpp = train_in_order(pb::parse_model_kind(cases[i].model), cases[i].steps, cases[i].batch, cases[i].samples);
    // The same libtorch on the same data: equal up to float rounding of different kernels' orders.
    EXPECT_NEAR(row["final_loss"].get<double>(), cpp.final_loss, 1e-4 * std::max(1.0, std::abs(cpp.final_loss))) << cases[i].model;
    EXPECT_NEAR(row["param_sum"].get<double>(), cpp.param_sum, 1e-3 * std::max(1.0, std::abs(cpp.param_sum))) << cases[i].model;
  }
  // And training did something: the loss moved from its first value.
  const CheckResult one_step = train_in_order(pb::ModelKind::kLinear, 1, 32, 256);
  EXPECT_GT(std::abs(one_step.final_loss - result["benchmarks"][0]["final_loss"].get<double>()), 1e-3);
  EXPECT_TRUE(result["context"].contains("peer_torch_version"));
}

TEST(Peer, MissingInterpreterIsARecordedSkip) {
  nlohmann::json job = {{"workflow", "check"}, {"points", {{{"name", "check/linear"}}}}};
  const nlohmann::json result = pb::bench::run_python_peer(job, {"/nonexistent/python3", 1, 0});
  ASSERT_EQ(result["benchmarks"].size(), 1u);
  const nlohmann::json& row = result["benchmarks"][0];
  EXPECT_EQ(row["name"], "peer_python/check/linear");
  EXPECT_TRUE(row["error_occurred"].get<bool>());
  EXPECT_EQ(row["error_message"],
            "skipped: no Python with torch found (tried /nonexistent/python3; install python3-torch or set PB_PYTHON)");
}

TEST(Peer, BadJobIsAnErrorRowNotACrash) {
  std::string why;
  if (pb::bench::find_python_with_torch("", &why).empty()) GTEST_SKIP() << why;
  nlohmann::json job = {{"workflow", "no_such_workflow"}, {"points", {{{"name", "x/linear"}}}}};
  const nlohmann::json result = pb::bench::run_python_peer(job, {});
  ASSERT_EQ(result["benchmarks"].size(), 1u);
  const std::string message = result["benchmarks"][0]["error_message"];
  EXPECT_EQ(message.rfind("python peer failed (exit 2): peer.py: error: ", 0), 0u) << message;
}

TEST(Peer, NamesSplitIntoArguments) {
  const std::string name = "dp_cpu/cnn/mode:persistent/replicas:2/threads:1/iterations:2/real_time";
  EXPECT_EQ(pb::schema::name_segment(name, 0), "dp_cpu");
  EXPECT_EQ(pb::schema::name_segment(name, 1), "cnn");
  EXPECT_EQ(pb::schema::name_segment(name, 9), "");
  const auto args = pb::schema::name_args(name);
  EXPECT_EQ(args.count("mode"), 0u);  // a word: what a typed point knows, not a number to parse
  EXPECT_EQ(args.at("replicas"), 2);
  EXPECT_EQ(args.count("real_time"), 0u);
}

TEST(Peer, RatiosPairEachPeerRowWithItsCppRow) {
  auto row = [](const std::string& name, double rate) {
    return nlohmann::json{{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"real_time", 1.0},
                          {"time_unit", "ms"}, {"samples_per_s", rate}};
  };
  nlohmann::json report = {{"context", nlohmann::json::object()},
                           {"benchmarks",
                            {row("cpu_training/linear/workers:0/real_time", 900.0), row("cpu_training/linear/workers:4/real_time", 600.0),
                             row("peer_python/cpu_training/linear/workers:0/real_time", 300.0),
                             row("peer_python/cpu_training/mlp/workers:0/real_time", 10.0)}}};
  const auto ratios = pb::bench::peer_ratios(report);
  ASSERT_EQ(ratios.size(), 1u);  // the mlp peer row has no C++ row; workers:4 has no peer
  EXPECT_EQ(ratios[0].name, "cpu_training/linear/workers:0/real_time");
  EXPECT_DOUBLE_EQ(ratios[0].ratio(), 3.0);
}

}  // namespace

TEST(RunName, BuildsKeyValueSegmentsAndRefusesSeparators) {
  EXPECT_EQ(pb::bench::run_name("dp_cpu/cnn", {{"mode", "persistent"}, {"replicas", "2"}}),
            "dp_cpu/cnn/mode:persistent/replicas:2");
  EXPECT_EQ(pb::bench::run_name("allreduce_gloo", {}), "allreduce_gloo");
  EXPECT_THROW(pb::bench::run_name("x", {{"mode", "a/b"}}), std::invalid_argument);
  EXPECT_THROW(pb::bench::run_name("x", {{"mo:de", "a"}}), std::invalid_argument);
  EXPECT_THROW(pb::bench::run_name("x", {{"mode", ""}}), std::invalid_argument);
}

TEST(RunName, MatchesOnlyGoogleBenchmarkSuffixes) {
  const std::string point = "dp_cpu/cnn/mode:persistent/replicas:2";
  EXPECT_TRUE(pb::bench::is_run_of(point, point));
  EXPECT_TRUE(pb::bench::is_run_of(point + "/iterations:2/real_time", point));
  EXPECT_TRUE(pb::bench::is_run_of(point + "/manual_time", point));
  EXPECT_FALSE(pb::bench::is_run_of(point + "0/real_time", point));           // replicas:20
  EXPECT_FALSE(pb::bench::is_run_of(point + "/threads:1/real_time", point));  // another argument
  EXPECT_FALSE(pb::bench::is_run_of("dp_cpu/cnn", point));
  struct P {
    std::string n;
    std::string name() const { return n; }
  };
  const std::vector<P> points{{"a/x:1"}, {"a/x:10"}};
  EXPECT_EQ(pb::bench::find_point(points, "a/x:10/real_time"), &points[1]);
  EXPECT_EQ(pb::bench::find_point(points, "a/x:2/real_time"), nullptr);
}
