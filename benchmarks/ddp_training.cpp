// Benchmark family 4: distributed data parallel on c10d. Training throughput of the three source
// models over ranks x threads per rank x gradient sync (none / after backward / overlapped) x
// bucket size, and all-reduce bandwidth over message sizes, per backend (Gloo on CPU, NCCL on GPU).
// This file is the suite: it registers one benchmark per point and launches the ranks, processes
// of this binary running the rank program (ddp_rank.cpp) once per device and rank count.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "benchmarks/ddp_rank.h"
#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/point.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "common/json_file.h"
#include "common/process.h"
#include "common/timer.h"

namespace {

using pb::bench::ddp::DdpPoint;
using pb::bench::ddp::kLoopback;
using pb::bench::ddp::PointKind;
using pb::dist::SyncMode;

// Samples per rank per step, the default of --batch-per-rank (weak scaling, as DDP is used): four
// times the source 002's batch of 32.
constexpr int64_t kBatchPerRank = 128;
// Timed steps after the warm-up: about a second per point on one core.
constexpr int64_t kSmallModelSteps = 500, kCnnSteps = 20;
// All-reduce traffic per point, and the bounds on its operation count.
constexpr int64_t kAllreduceTrafficBytes = int64_t{64} << 20;
constexpr int64_t kMinAllreduces = 5, kMaxAllreduces = 1000;

struct Settings {
  std::vector<std::string> links{kLoopback};  // loopback and/or tc rates ("1gbit"): see --links
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<std::string> devices{"cpu", "cuda"};
  std::vector<int64_t> ranks{1, 2, 4};
  std::vector<int64_t> threads{1, 2};  // > 1 only where ranks x threads fit in the cores
  std::vector<int64_t> bucket_kib{25 * 1024, 4 * 1024};
  std::vector<int64_t> allreduce_bytes{8, 64, 512, 4096, 32768, 262144, 2097152, 16777216, 134217728, 268435456};
  int64_t small_steps = kSmallModelSteps, cnn_steps = kCnnSteps;
  int64_t batch = kBatchPerRank;
  bool ranks_given = false;  // --ranks on the command line: use it on GPUs too
  // On GPUs, wait for the device at every phase boundary so that the phase counters are GPU time
  // (which slows the step); without it cuda rows carry no phase counters. CPU ranks never wait.
  bool phase_sync = false;
  int64_t rounds = 1;  // --benchmark_repetitions: each launch measures every point this often
  std::vector<DdpPoint> points;  // every point, in registration order: the one place that declares them
};

Settings& settings() {
  static Settings s;
  return s;
}

// ---- launches: one per device and rank count -----------------------------------------------------

// What the rank program measured for one point in one round, or why it could not.
struct Outcome {
  nlohmann::json figures;
  std::string error;
};

// The figures not yet reported, per point name, in round order. Google Benchmark still runs one
// point at a time and reports one row per point; but a launch starts processes and rendezvouses
// (a TCP store, every rank connecting to every other), which costs more than many points measure
// and was repeated for every point and repetition. So the first point of a device and rank count
// launches the ranks once for all of that count's points that will run, and the later points
// read their figures from here. Manual time stays what the ranks measured, so reading a figure
// late changes nothing in it; each figure keeps its correctness check (param_spread, wrong).
std::map<std::string, std::deque<Outcome>>& pending() {
  static std::map<std::string, std::deque<Outcome>> outcomes;
  return outcomes;
}

// Whether Google Benchmark will run `point`: its --benchmark_filter matched as Google Benchmark
// 1.7 matches it (an extended regular expression searched in the full name, '-' in front negates).
// A filter this cannot read selects everything: launching more points than needed costs only time.
bool selected(const DdpPoint& point) {
  std::string filter = benchmark::GetBenchmarkFilter();
  if (filter.empty() || filter == "all") return true;
  const bool negative = filter.front() == '-';
  if (negative) filter.erase(0, 1);
  try {
    // Compiled once per filter: every launch asks for every point.
    static std::string compiled_filter;
    static std::regex compiled;
    if (compiled_filter != filter) {
      compiled = std::regex(filter, std::regex::extended);
      compiled_filter = filter;
    }
    const bool found = std::regex_search(point.name() + "/iterations:1/manual_time", compiled);
    return found != negative;
  } catch (const std::regex_error&) {
    return true;
  }
}

// ---- shaped links: one rank per simulated host --------------------------------------------------

// The simulated hosts' script, in the source tree this binary was built from (__FILE__ is the
// absolute path CMake compiles): it needs no install step, and tests run against the same tree.
std::string hosts_script() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "common/distributed/netns_hosts.sh").string();
}

// Why shaped links cannot be simulated here, or "" when they can be tried: namespaces need root.
std::string shaped_link_unavailable_reason() {
  if (::geteuid() != 0) {
    return "a shaped link needs root (network namespaces for its simulated hosts), running as uid " +
           std::to_string(::geteuid());
  }
  if (!std::filesystem::exists(hosts_script())) return "no " + hosts_script() + " (the source tree of this binary)";
  return "";
}

// A set name of this process (netns_hosts.sh's PB_NETNS_PREFIX, at most 12 characters: `role` of
// 5 or fewer and a process id of 7 digits at most): concurrent runs never share one.
std::string hosts_prefix(const char* role) { return std::string(role) + std::to_string(::getpid()); }

// Runs `netns_hosts.sh down` for a set: the hosts and whatever still runs in them go.
void remove_hosts(const std::string& prefix) {
  ::setenv("PB_NETNS_PREFIX", prefix.c_str(), 1);
  try {
    pb::run_child({"bash", hosts_script(), "down"}, "/dev/null", "/dev/null", 60);
  } catch (const std::exception&) {
    // Could not start bash: nothing was made with it either.
  }
  ::unsetenv("PB_NETNS_PREFIX");
}

// The first line of a file, or "" (the one-line errors netns_hosts.sh writes).
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Exit codes of kHostsLaunch for its own steps: the hosts could not be made (a skip: no namespaces
// here), or the rate could not be set.
constexpr int kHostsUpFailed = 75, kShapeFailed = 76;

// Makes RANKS hosts, shapes each host's cable to RATE, starts the rank program (the job file in
// the environment, as for loopback ranks) once per host as torchrun starts a node's ranks across
// machines (RANK, WORLD_SIZE, MASTER_ADDR = host 0, GLOO_SOCKET_IFNAME = the hosts' shared
// interface), prefixes their output with "[rank k] ", and stops the others when one fails (a
// lost peer would otherwise leave them waiting out the collective timeout). The hosts go on
// every way out of the script; the suite removes them once more after it, for a killed script.
constexpr const char* kHostsLaunch = R"(set -uo pipefail
hosts_script=$1 ranks=$2 rate=$3 bin=$4 dir=$5
hosts() { bash "$hosts_script" "$@"; }
trap 'hosts down' EXIT
trap 'exit 130' INT TERM
hosts up "$ranks" 2>"$dir/hosts.err" || exit 75
for ((i = 0; i < ranks; ++i)); do hosts shape "$i" "$rate" 2>"$dir/hosts.err" || exit 76; done
master=$(hosts addr 0)
for ((i = 0; i < ranks; ++i)); do
  (env RANK=$i LOCAL_RANK=0 WORLD_SIZE=$ranks LOCAL_WORLD_SIZE=1 GROUP_RANK=$i MASTER_ADDR=$master MASTER_PORT=29500 \
     GLOO_SOCKET_IFNAME=eth0 bash "$hosts_script" exec "$i" "$bin" 2>&1 | sed -u "s/^/[rank $i] /"
   echo $? >"$dir/rank$i.code") &
done
# Each rank's exit code arrives in its file (polled: no race with bash's own reaping of jobs).
code=0 ended=0
while ((ended < ranks)); do
  sleep 0.1
  ended=0
  for ((i = 0; i < ranks; ++i)); do
    [[ -s $dir/rank$i.code ]] || continue
    ended=$((ended + 1))
    status=$(<"$dir/rank$i.code")
    if ((status != 0 && code == 0)); then
      code=$status
      echo "launcher: rank $i on link $rate exited with code $code; stopping the other ranks"
      hosts down
    fi
  done
done
wait
exit $code
)";

// Runs the job in `dir` over `point`'s shaped link; "" when every rank exited 0, else why not (a
// message that starts "skipped: " when the hosts cannot be made here). A stop signal that arrived
// meanwhile is left in *stop_signal, for the caller to exit on once its temporary folder is gone.
std::string launch_on_hosts(const DdpPoint& point, const std::string& dir, int* stop_signal) {
  const std::string prefix = hosts_prefix("pbddp"), errors = dir + "/hosts.err";
  // A SIGINT or SIGTERM while the ranks run is forwarded to the script, which removes its hosts.
  const pb::StopSignals stop_signals;
  ::setenv("PB_NETNS_PREFIX", prefix.c_str(), 1);
  pb::ChildResult result;
  try {
    // This very binary, also when a rebuild has replaced its file since it started.
    const std::string self = "/proc/" + std::to_string(::getpid()) + "/exe";
    result = pb::run_child({"bash", "-c", kHostsLaunch, "bench_ddp_hosts", hosts_script(), std::to_string(point.ranks),
                            point.link, self, dir},
                           "", "", 24 * 3600);
  } catch (const std::exception& error) {
    ::unsetenv("PB_NETNS_PREFIX");
    remove_hosts(prefix);
    return error.what();
  }
  ::unsetenv("PB_NETNS_PREFIX");
  remove_hosts(prefix);  // idempotent: for a script that did not get to its own clean-up
  *stop_signal = result.stop_signal;
  if (result.stop_signal != 0) return "interrupted";
  const std::string why = first_line(errors);
  // No namespaces here (a container without the capability) is a skip; any other reason the hosts
  // could not be made (a leftover set, a missing `ip`) is a failure to look at, not to hide.
  static const std::regex kNoNamespaces("not permitted|[Pp]ermission denied");
  if (result.exit_code == kHostsUpFailed && std::regex_search(why, kNoNamespaces)) {
    return "skipped: cannot make the simulated hosts here: " + why;
  }
  if (result.exit_code == kHostsUpFailed) return "cannot make the simulated hosts: " + why;
  if (result.exit_code == kShapeFailed) return "cannot shape the link to " + point.link + ": " + why;
  if (result.exit_code != 0) return "a rank on link " + point.link + " failed with exit code " + std::to_string(result.exit_code);
  return "";
}

// A rate tc reads ("1gbit", "500mbit", "2.5gbit"; netns_hosts.sh's form), lower case.
bool is_rate_word(const std::string& word) {
  static const std::regex kRate("[0-9]+(\\.[0-9]+)?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps)");
  return std::regex_match(word, kRate);
}

// Where the kernel refuses `rate` for a tbf on a simulated host's cable: netns_hosts.sh's line
// ("tc refused rate '100tbit' on host 0's cable: ..."); "" when it takes it, or when no hosts can
// be made here to ask (the shaped points are then skipped with the reason).
std::string refused_rate(const std::string& rate) {
  if (!shaped_link_unavailable_reason().empty()) return "";
  const std::string prefix = hosts_prefix("pbrt");
  const pb::TempDir dir("pb_rate_");
  const std::string errors = dir.path() + "/shape.err";
  ::setenv("PB_NETNS_PREFIX", prefix.c_str(), 1);
  pb::ChildResult result;
  try {
    result = pb::run_child({"bash", "-c",
                            "trap 'bash \"$1\" down' EXIT; bash \"$1\" up 1 2>/dev/null || exit 0; "
                            "bash \"$1\" shape 0 \"$2\" 2>\"$3\"",
                            "bench_ddp_rate", hosts_script(), rate, errors},
                           "/dev/null", "/dev/null", 60);
  } catch (const std::exception&) {
    result.exit_code = 0;
  }
  ::unsetenv("PB_NETNS_PREFIX");
  remove_hosts(prefix);
  if (result.exit_code != 2) return "";
  std::string line = first_line(errors);
  const std::string script_prefix = "netns_hosts.sh: error: ";
  if (line.rfind(script_prefix, 0) == 0) line.erase(0, script_prefix.size());
  return line.empty() ? "tc refused rate '" + rate + "'" : line;
}

// Starts the ranks of `first`'s device, link and rank count once, with every selected point of
// that count from `first` on, and queues each point's figures for its rows. A failed launch gives
// every point of the job the same error (or skip).
void launch_rank_count(const DdpPoint& first) {
  const Settings& s = settings();
  pb::bench::ddp::RankJob job{first.device, first.ranks, s.rounds, s.phase_sync, {}};
  bool reached = false;
  for (const DdpPoint& p : s.points) {
    reached = reached || p.name() == first.name();
    // A point that still has figures queued (an earlier launch ran it; random interleaving
    // reaches points out of order) keeps them and is not run again.
    if (reached && p.device == first.device && p.link == first.link && p.ranks == first.ranks &&
        (p.name() == first.name() || (selected(p) && pending()[p.name()].empty()))) {
      job.points.push_back(p);
    }
  }
  auto fail_all = [&](const std::string& error) {
    for (const DdpPoint& p : job.points) pending()[p.name()].assign(static_cast<size_t>(s.rounds), Outcome{{}, error});
  };
  // The job goes in and rank 0's figures come back through a private folder (mkdtemp: unique,
  // mode 0700), as the peer's do: a predictable /tmp name could be raced or left behind.
  std::optional<pb::TempDir> dir;
  try {
    dir.emplace("pb_ddp_");
    pb::write_file_atomic(dir->path() + "/job.json", to_json(job).dump());
  } catch (const std::exception& error) {
    fail_all(error.what());
    return;
  }
  const std::string result_path = dir->path() + "/result.json", job_path = dir->path() + "/job.json";
  if (first.link != kLoopback) {
    const std::string unavailable = shaped_link_unavailable_reason();
    if (!unavailable.empty()) {
      fail_all("skipped: " + unavailable);
      return;
    }
  }
  ::setenv(pb::bench::ddp::kJobVariable, job_path.c_str(), 1);
  ::setenv(pb::bench::ddp::kResultVariable, result_path.c_str(), 1);
  std::string failure;
  int stop_signal = 0;
  try {
    if (first.link == kLoopback) {
      const int code = pb::dist::launch_local_ranks({"bench_ddp"}, {first.ranks, "127.0.0.1", 0, 10});
      if (code != 0) failure = "a rank failed with exit code " + std::to_string(code);
    } else {
      failure = launch_on_hosts(first, dir->path(), &stop_signal);
    }
  } catch (const std::exception& error) {  // no pipe, no fork, no port: this point's error, not a crash
    failure = error.what();
  }
  ::unsetenv(pb::bench::ddp::kJobVariable);
  ::unsetenv(pb::bench::ddp::kResultVariable);
  if (stop_signal != 0) {
    dir.reset();  // _Exit below skips destructors: remove the job's folder first
    pb::exit_on_signal("bench_ddp", stop_signal);
  }
  if (!failure.empty()) {
    fail_all(failure);
    return;
  }
  nlohmann::json results;
  try {
    results = pb::read_json_file(result_path).at("results");
  } catch (const std::exception& error) {
    fail_all(error.what());
    return;
  }
  if (results.size() != job.points.size()) {
    fail_all("the ranks returned " + std::to_string(results.size()) + " results for " +
             std::to_string(job.points.size()) + " points");
    return;
  }
  for (size_t i = 0; i < job.points.size(); ++i) {
    std::deque<Outcome>& queue = pending()[job.points[i].name()];
    for (const nlohmann::json& figures : results[i]) queue.push_back({figures, ""});
  }
}

// The next figures of `point`, launching its rank count when none are waiting.
Outcome next_outcome(const DdpPoint& point) {
  std::deque<Outcome>& queue = pending()[point.name()];
  if (queue.empty()) launch_rank_count(point);
  if (queue.empty()) return {{}, "the ranks returned no figures for this point"};
  Outcome outcome = queue.front();
  queue.pop_front();
  return outcome;
}

std::string device_skip_reason(const DdpPoint& point) {
  if (point.link != kLoopback) {
    const std::string reason = shaped_link_unavailable_reason();
    return reason.empty() ? "" : "skipped: " + reason;
  }
  const std::string& device = point.device;
  const int64_t ranks = point.ranks;
  if (device != "cuda") return "";
  std::string reason = pb::dist::nccl_unavailable_reason();
  if (reason.empty() && static_cast<int64_t>(torch::cuda::device_count()) < ranks) {
    reason = "needs " + std::to_string(ranks) + " GPUs (one rank per GPU), this machine has " +
             std::to_string(torch::cuda::device_count());
  }
  return reason.empty() ? "" : "skipped: " + reason;
}

// The point's figures from its launch, timed by the ranks' seconds over `operations`. Returns
// false, with the reason recorded, when the point is skipped (no such device here) or its launch
// failed; *figures then holds nothing useful.
bool take_figures(benchmark::State& state, const DdpPoint& point, double operations, nlohmann::json* figures) {
  const std::string skip = device_skip_reason(point);
  if (!skip.empty()) {
    pb::bench::skip_point(state, skip);
    return false;
  }
  for (auto _ : state) {
    Outcome outcome = next_outcome(point);
    if (!outcome.error.empty()) {
      pb::bench::skip_point(state, outcome.error);
      return false;
    }
    *figures = std::move(outcome.figures);
    state.SetIterationTime((*figures)["seconds"].get<double>() / operations);
  }
  return true;
}

// ---- the rows -------------------------------------------------------------------------------------

void train(benchmark::State& state, const DdpPoint& point) {
  nlohmann::json result;
  if (!take_figures(state, point, 1, &result)) return;
  const bool synced = point.sync != SyncMode::kNone;
  if (result["param_spread"].get<double>() != 0 && synced) {
    pb::bench::skip_point(state, "ranks disagree on the parameters after synchronised training");
    return;
  }
  const auto steps = static_cast<double>(point.steps);
  const double seconds = result["seconds"], samples = result["samples"];
  const double step_s = seconds / steps;
  state.counters["samples_per_s"] = benchmark::Counter(samples * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["step_ms"] = step_s * 1e3;
  state.counters["comm_wait_ms"] = result["comm_wait_seconds"].get<double>() / steps * 1e3;
  state.counters["final_loss"] = result["final_loss"].get<double>();
  state.counters["param_spread"] = result["param_spread"].get<double>();
  // Rank 0's phases, seconds per step (plain values, not rates); absent on GPUs without --phase-sync.
  if (result.contains("phase_seconds")) {
    for (pb::Phase p : pb::bench::ddp::kStepPhases) {
      state.counters[std::string("phase_") + pb::phase_name(p) + "_s"] =
          result["phase_seconds"].value(pb::phase_name(p), 0.0) / steps;
    }
  }
}

// The training point with `sync` of `p`'s device, model, threads and link at `ranks` ranks (the
// first bucket size: none and after_backward have one), or nullptr when the sweep has none. One
// rank has no link: its point is loopback's, whatever `p`'s link.
const DdpPoint* sync_point(const DdpPoint& p, int64_t ranks, SyncMode sync) {
  const std::string link = ranks == 1 ? kLoopback : p.link;
  for (const DdpPoint& q : settings().points) {
    if (q.kind == PointKind::kTrain && q.sync == sync && q.device == p.device && q.model == p.model &&
        q.threads == p.threads && q.ranks == ranks && q.link == link) {
      return &q;
    }
  }
  return nullptr;
}
const DdpPoint* no_sync_point(const DdpPoint& p, int64_t ranks) { return sync_point(p, ranks, SyncMode::kNone); }

// From the finished run's medians: scaling efficiency (samples/s over `ranks` times the 1-rank
// no-sync rate), sync overhead (step time over the no-sync step time at the same ranks, - 1), and
// on overlapped points the share of the communication that overlap hides, per link:
// overlap_hidden = (after_backward - overlapped) / (after_backward - none), step times at the same
// model, ranks and link. 1: backward hid all of it; 0: nothing; it is only as exact as the three
// medians, and it has no value where sync after backward costs nothing measurable.
void derive(pb::bench::Derivation& d) {
  for (const DdpPoint& p : settings().points) {
    if (p.kind != PointKind::kTrain) continue;
    const std::optional<double> rate = d.median(p.name(), "samples_per_s");
    const std::optional<double> step_ms = d.median(p.name(), "step_ms");
    if (!rate || !step_ms) continue;  // did not run
    const DdpPoint* one = no_sync_point(p, 1);
    const std::optional<double> one_rate = one ? d.median(one->name(), "samples_per_s") : std::nullopt;
    if (one_rate && *one_rate > 0) {
      d.set(p.name(), "scaling_efficiency", *rate / (static_cast<double>(p.ranks) * *one_rate));
    } else {
      d.missing_baseline(p.name(), "scaling_efficiency", "its 1-rank baseline", one ? one->name() : "(no sync, 1 rank)");
    }
    if (p.sync == SyncMode::kNone) continue;
    const DdpPoint* alone = no_sync_point(p, p.ranks);
    const std::optional<double> alone_ms = alone ? d.median(alone->name(), "step_ms") : std::nullopt;
    double none_ms = std::nan("");  // the no-sync step, for overlap_hidden below
    if (alone_ms && *alone_ms > 0) {
      none_ms = *alone_ms;
      d.set(p.name(), "sync_overhead", *step_ms / none_ms - 1);
    } else {
      d.missing_baseline(p.name(), "sync_overhead", "its no-sync baseline", alone ? alone->name() : "(no sync, same ranks)");
    }
    if (p.sync != SyncMode::kOverlapped) continue;
    const DdpPoint* after = sync_point(p, p.ranks, SyncMode::kAfterBackward);
    const double after_ms = after ? d.median(after->name(), "step_ms").value_or(std::nan("")) : std::nan("");
    if (std::isnan(after_ms) || std::isnan(none_ms)) {
      const std::string base = std::isnan(after_ms) ? (after ? after->name() : std::string("(sync after backward, same ranks)"))
                                                    : (alone ? alone->name() : std::string("(no sync, same ranks)"));
      d.missing_baseline(p.name(), "overlap_hidden", "its baseline", base);
    } else if (after_ms <= none_ms) {
      d.missing(p.name(), "overlap_hidden", "sync after backward (" + after->name() + ") took no longer than no sync: nothing to hide");
    } else {
      d.set(p.name(), "overlap_hidden", (after_ms - *step_ms) / (after_ms - none_ms));
    }
  }
}

void allreduce(benchmark::State& state, const DdpPoint& point) {
  nlohmann::json result;
  if (!take_figures(state, point, static_cast<double>(point.iterations), &result)) return;
  const int64_t wrong = result["wrong"].get<int64_t>();
  state.counters["wrong"] = static_cast<double>(wrong);
  if (wrong != 0) {
    pb::bench::skip_point(state, "all-reduce produced " + std::to_string(wrong) + " wrong element(s) across ranks");
    return;
  }
  // nccl-tests' definitions: algorithm bandwidth = size / time; bus bandwidth = algbw x 2(n-1)/n,
  // the traffic each link carries in a ring all-reduce, comparable across rank counts.
  const double seconds = result["seconds"].get<double>() / static_cast<double>(point.iterations);
  const double algbw = static_cast<double>(point.bytes) / seconds / 1e9;
  const auto ranks = static_cast<double>(point.ranks);
  state.counters["algbw_GBps"] = algbw;
  state.counters["busbw_GBps"] = algbw * 2.0 * (ranks - 1) / ranks;
  state.counters["time_us"] = seconds * 1e6;
}

// Every point of the sweep, in registration order (the rows' order): per link and device, the
// training points of each model, then the all-reduce sizes. A shaped link is simulated for CPU
// ranks (Gloo over the hosts' cables) from 2 ranks on: one rank has no link to shape, and its
// point (the scaling baseline) is loopback's.
std::vector<DdpPoint> sweep_points(const Settings& s) {
  std::vector<DdpPoint> points;
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  for (const std::string& link : s.links)
  for (const std::string& device : s.devices) {
    const bool shaped = link != kLoopback;
    if (shaped && device != "cpu") continue;
    // On GPUs one rank per GPU: 1, 2, 4, ... and every GPU of this machine, unless --ranks says so.
    std::vector<int64_t> ranks_list = s.ranks;
    const int64_t gpus = device == "cuda" && pb::dist::nccl_unavailable_reason().empty()
                             ? static_cast<int64_t>(torch::cuda::device_count())
                             : 0;
    if (gpus > 0 && !s.ranks_given) {
      ranks_list.clear();
      for (int64_t r = 1; r < gpus; r *= 2) ranks_list.push_back(r);
      ranks_list.push_back(gpus);
    }
    for (const std::string& model : s.models) {
      const pb::ModelKind kind = pb::parse_model_kind(model);
      for (int64_t threads : s.threads)
        for (int64_t ranks : ranks_list) {
          // One thread per rank always (4 ranks on 2 cores shows oversubscription); more only if
          // they fit: 1 rank x 2 threads against 2 ranks x 1 thread is the comparison that matters.
          if (threads > 1 && ranks * threads > cores) continue;
          if (shaped && ranks < 2) continue;
          DdpPoint p;
          p.link = link;
          p.device = device;
          p.ranks = ranks;
          p.threads = threads;
          p.model = kind;
          p.steps = kind == pb::ModelKind::kCnn ? s.cnn_steps : s.small_steps;
          p.batch = s.batch;
          p.bucket_kib = s.bucket_kib.front();
          p.sync = SyncMode::kNone;  // the baseline: no communication
          points.push_back(p);
          if (ranks == 1) continue;
          p.sync = SyncMode::kAfterBackward;
          points.push_back(p);
          p.sync = SyncMode::kOverlapped;
          for (int64_t kib : s.bucket_kib) {
            p.bucket_kib = kib;
            points.push_back(p);
          }
        }
    }
    for (int64_t ranks : ranks_list) {
      if (ranks < 2) continue;
      for (int64_t bytes : s.allreduce_bytes) {
        DdpPoint p;
        p.kind = PointKind::kAllreduce;
        p.link = link;
        p.device = device;
        p.ranks = ranks;
        p.bytes = bytes;
        p.iterations =
            std::clamp<int64_t>(kAllreduceTrafficBytes / std::max<int64_t>(bytes, 1), kMinAllreduces, kMaxAllreduces);
        points.push_back(p);
      }
    }
  }
  return points;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) {
    s.small_steps = std::min<int64_t>(s.small_steps, 20);
    s.cnn_steps = std::min<int64_t>(s.cnn_steps, 2);
  }
  s.rounds = options.peer.repetitions;
  s.points = sweep_points(s);
  for (const DdpPoint& p : s.points) {
    const bool training = p.kind == PointKind::kTrain;
    auto* bench = benchmark::RegisterBenchmark(p.name().c_str(), training ? train : allreduce, p);
    bench->UseManualTime()->Iterations(1)->Unit(training ? benchmark::kMillisecond : benchmark::kMicrosecond);
  }
}

// The Python peer: torch's DistributedDataParallel (which always overlaps) on the same points.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  const Settings& s = settings();
  nlohmann::json job = {{"workflow", "ddp"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string name = run->value("run_name", std::string());
    const DdpPoint* p = pb::bench::find_point(s.points, name);
    // A shaped link is simulated hosts the peer does not make: it would measure loopback.
    if (p == nullptr || p->kind != PointKind::kTrain || p->sync != SyncMode::kOverlapped || p->link != kLoopback) continue;
    job["points"].push_back({{"name", name}, {"model", pb::model_name(p->model)}, {"device", p->device},
                             {"ranks", p->ranks}, {"threads", p->threads}, {"bucket_kib", p->bucket_kib},
                             {"batch_per_rank", p->batch}, {"steps", p->steps},
                             {"warmup_steps", pb::bench::ddp::kWarmupSteps}, {"samples", p->samples()}});
  }
  return job;
}

// What pb_report draws and compares for DdpPoint's points (report_spec.h): samples/s against ranks,
// a line per sync mode, bucket size and link; all-reduce bandwidth against message size; where a
// step's time goes; the best setting per model (and link: a link is the network, not a choice)
// against one rank and one thread; each bandwidth sweep's peak; the derived metrics.
pb::schema::ReportSpec report_spec() {
  pb::schema::ReportSpec spec;
  spec.charts = {
      {"ddp_cpu", "ranks", "ranks (processes, Gloo)", {}, {"sync", "bucket_kib", "link"}, {{"threads", 1}}, true},
      {"ddp_cuda", "ranks", "ranks (one per GPU, NCCL)", {}, {"sync", "bucket_kib", "link"}, {{"threads", 1}}, true},
      {"allreduce_gloo", "bytes", "message size (bytes)", {}, {"ranks", "link"}, {}, false, true},
      {"allreduce_nccl", "bytes", "message size (bytes)", {}, {"ranks", "link"}, {}, false, true},
  };
  spec.phase_charts = {{"ddp_cpu", {}, "step"}, {"ddp_cuda", {}, "step"}};
  // No-sync runs with ranks > 1 are the overhead baseline, not a way to train: never the best.
  pb::schema::RowMatch no_sync;
  no_sync.is = {{"sync", "none"}};
  no_sync.above = {{"ranks", 1}};
  const pb::schema::GroupBy by_link{"link", ", link {}"};
  for (const std::string device : {"cpu", "cuda"}) {
    spec.best.push_back({"ddp_" + device, {by_link}, {{"ranks", "1"}, {"threads", "1"}, {"sync", "none"}}, {no_sync}, ""});
  }
  for (const std::string backend : {"gloo", "nccl"}) spec.best.push_back({"allreduce_" + backend, {by_link}, {}, {}, "bytes"});
  spec.derived = {"scaling_efficiency", "sync_overhead", "overlap_hidden"};
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* job = std::getenv(pb::bench::ddp::kJobVariable)) {  // started by a launch: this process is a rank
    try {
      const char* result = std::getenv(pb::bench::ddp::kResultVariable);
      return pb::bench::ddp::run_rank_program(job, result == nullptr ? "" : result);
    } catch (const std::exception& error) {
      const std::string what = error.what();
      std::cerr << "bench_ddp: error: " << what.substr(0, what.find('\n')) << std::endl;
      return 1;
    }
  }
  pb::bench::Suite suite;
  suite.program = "bench_ddp";
  suite.purpose = "Family 4: DDP training over ranks x sync mode x bucket size, and all-reduce bandwidth.";
  suite.add_options = [](pb::Cli& cli) {
    Settings& s = settings();
    cli.option("links", &s.links,
               "links between the ranks: loopback (this machine's), or a rate in tc's words (1gbit, 10gbit, 25gbit): "
               "one rank per simulated host, each cable shaped to it (CPU ranks from 2 on; needs root, else skipped)")
        .option("models", &s.models, "models: linear (000), mlp (001), cnn (002)")
        .option("devices", &s.devices, "cpu (Gloo) and/or cuda (NCCL, one rank per GPU)")
        .option("ranks", &s.ranks, "rank counts (processes on this machine; default on GPUs: 1, 2, 4, ... all)", 1, 64)
        .option("threads", &s.threads, "intra-op threads per rank", 1, 1024)
        .option("bucket-kib", &s.bucket_kib, "gradient bucket sizes, KiB", 1, 1 << 22)
        .option("allreduce-bytes", &s.allreduce_bytes, "all-reduce message sizes, bytes", 4, int64_t{1} << 32)
        .option("batch-per-rank", &s.batch, "samples per rank per step", 1, 65536)
        .option("steps", &s.small_steps, "timed steps for linear and mlp", 1, 10'000'000)
        .option("cnn-steps", &s.cnn_steps, "timed steps for cnn", 1, 1'000'000)
        .flag("phase-sync", &s.phase_sync,
              "on GPUs, wait for the device at every phase boundary to record phase_*_s counters (slows the step)")
        .validate([&s] {
          s.ranks_given = s.ranks != std::vector<int64_t>{1, 2, 4};
          pb::bench::check_models(s.models);
          pb::bench::check_device_kinds(s.devices);
          for (std::string& link : s.links) {
            for (char& c : link) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (link != kLoopback && !is_rate_word(link)) {
              throw pb::CliError("--links: expected loopback or a rate such as 1gbit, 500mbit or 10gbit, got '" + link + "'");
            }
          }
          std::vector<std::string> unique;
          for (const std::string& link : s.links)
            if (std::find(unique.begin(), unique.end(), link) == unique.end()) unique.push_back(link);
          s.links = unique;
          // A rate the kernel refuses stops the run before any point: asked once, on one host.
          for (const std::string& link : s.links) {
            if (link == kLoopback) continue;
            const std::string refused = refused_rate(link);
            if (!refused.empty()) throw pb::CliError("--links: " + refused);
          }
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  suite.derive = derive;
  suite.report_spec = report_spec();
  return pb::bench::run_suite(argc, argv, suite);
}
