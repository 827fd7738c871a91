// A model of one DDP training step: compute time, a ring all-reduce fitted to a measured bandwidth
// sweep (alpha-beta), gradient buckets reduced in order as backward produces them; checked against
// the measured steps of a family-4 report, then extrapolated to more ranks and other links.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/analysis/report_data.h"

namespace pb::analysis {

// Backward does about twice the forward's work (one product for the input gradient, one for the
// weight gradient), so it takes about 2/3 of forward + backward; the optimizer step is small.
constexpr double kDefaultBackwardFraction = 2.0 / 3.0;
// A point whose repetitions spread more than this (coefficient of variation) is not a stable
// measurement: the model is not judged on it.
constexpr double kStableCv = 0.05;
// The target for the model's error on stable points.
constexpr double kTargetError = 0.15;

// Least squares of t(n) = a + n*b over (bytes, seconds) points, read as a ring all-reduce on
// `ranks` ranks: t = 2(p-1)/p * n/B + 2(p-1)*alpha, so alpha = a / 2(p-1) and B = 2(p-1)/p / b.
struct AllreduceFit {
  int64_t ranks = 0;
  size_t points = 0;
  double intercept_s = 0, slope_s_per_byte = 0;
  double alpha_s = 0;                // per-hop latency; negative when the intercept is (see Link)
  double bandwidth_bytes_per_s = 0;  // B, the link bandwidth the ring sees
  double r_squared = 0;              // 1 - residual / total sum of squares (1 for a perfect fit)
};
// Throws std::invalid_argument for ranks < 2, fewer than 2 distinct sizes, or a slope <= 0 (time
// that does not grow with size has no bandwidth).
AllreduceFit fit_ring_allreduce(int64_t ranks, const std::vector<std::pair<double, double>>& bytes_seconds);

struct Link {
  double alpha_s = 0;                // latency per ring step
  double bandwidth_bytes_per_s = 0;  // per direction
};
// The link a fit describes. A negative intercept (least squares on a sweep dominated by large
// messages can give one) is taken as zero latency: a negative time is not a latency.
Link link_of(const AllreduceFit& fit);
// 10 Gbit/s -> 1.25e9 bytes/s, with the given latency.
Link link_from_gbit(double gbit_per_s, double alpha_s);

// Ring all-reduce of `bytes` on `ranks` ranks: 2(p-1) steps of alpha plus 2(p-1)/p of the bytes
// over the link. Zero on one rank, where there is nothing to reduce.
double ring_allreduce_seconds(double bytes, int64_t ranks, const Link& link);

// The buckets DDP forms (common/distributed/ddp.cpp): parameters taken in the order backward
// produces their gradients; a new bucket starts when the current one is not empty and the next
// parameter would take it past `bucket_bytes` (so a parameter larger than that is a bucket alone).
std::vector<double> buckets_from_parameters(const std::vector<int64_t>& param_bytes_in_backward_order,
                                            int64_t bucket_bytes);
// A model known only by its size: full buckets of `bucket_bytes`, then the remainder.
std::vector<double> even_buckets(double gradient_bytes, int64_t bucket_bytes);

struct StepModel {
  double compute_s = 0;  // forward + backward + optimizer of one rank, without communication
  double backward_fraction = kDefaultBackwardFraction;
  std::vector<double> buckets;  // bytes, in the order backward fills them
  bool overlap = true;          // a bucket's all-reduce may start as soon as backward filled it
};

struct StepPrediction {
  double step_s = 0;      // compute + exposed communication
  double comm_s = 0;      // the buckets' all-reduce times, summed
  double exposed_s = 0;   // what backward did not hide: the step's wait for gradients
  double efficiency = 1;  // throughput at p / (p x throughput at 1) = compute / step (weak scaling)
};
// One step on `ranks` ranks. Backward produces gradient bytes at a steady rate, so bucket i is
// ready when backward has produced the bytes of buckets 0..i; buckets are reduced one at a time,
// in order (every rank must issue the same collectives in the same order). Without overlap all
// start after backward. The step ends when backward and the last all-reduce have both ended.
StepPrediction predict_step(const StepModel& model, int64_t ranks, const Link& link);

// ---- a family-4 report --------------------------------------------------------------------------

// The all-reduce sweep of `backend` ("gloo" or "nccl"), one fit per rank count. Throws ReportError
// "'<path>' has no all-reduce sweep (allreduce_<backend>/ranks:R/bytes:B rows at 2 or more sizes)"
// when no rank count has one.
std::map<int64_t, AllreduceFit> fit_report_sweep(const Report& report, const std::string& backend);
// The fit for `ranks`: its own, else the nearest rank count's (the larger one on a tie).
const AllreduceFit& nearest_fit(const std::map<int64_t, AllreduceFit>& fits, int64_t ranks);

// A measured DDP training point: ddp_<device>/<model>/ranks:P/threads:T/sync:S/bucket_kib:K.
struct DdpPoint {
  const Entry* entry = nullptr;
  std::string model;
  int64_t ranks = 0, threads = 0, sync = 0, bucket_kib = 0;
  double step_s = 0;  // the step_ms counter (median over repetitions)
  double cv = -1;     // spread of the repetitions' times; -1 with a single run
};
std::vector<DdpPoint> ddp_points(const Report& report, const std::string& family);
// The 1-rank, no-sync point of `model` with `threads` threads: the compute time the model builds
// on. nullptr when the report has none.
const DdpPoint* compute_point(const std::vector<DdpPoint>& points, const std::string& model, int64_t threads);

// One measured synchronised point against the model.
struct CheckRow {
  DdpPoint point;
  int64_t fit_ranks = 0;   // the sweep fit used
  double predicted_s = 0;  // from the 1-rank compute
  double error = 0;        // (predicted - measured) / measured
  // The same communication model on the measured no-sync step at these ranks: what remains is the
  // communication model's own error (ranks that share cores slow each other's compute).
  double local_predicted_s = -1, local_error = 0;
  bool counted = false;  // stable and not oversubscribed: judged against the target
  std::string note;
};
// Every ddp row with ranks >= 2 and gradient sync (sync 1: after backward, 2: overlapped) whose
// model has a 1-rank compute point and an entry in `param_bytes` (gradient bytes per parameter in
// backward order). `cores` is the report machine's (0: unknown, never oversubscribed).
std::vector<CheckRow> check_against_report(const std::vector<DdpPoint>& points,
                                           const std::map<int64_t, AllreduceFit>& fits,
                                           const std::map<std::string, std::vector<int64_t>>& param_bytes,
                                           double backward_fraction, int64_t cores);

// ---- output -------------------------------------------------------------------------------------

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
// Console: columns padded to their widest cell, two spaces apart. Markdown: a pipe table.
std::string render_table(const Table& table, bool markdown);

// 0.0000345 -> "0.0345 ms", 0.1995 -> "199.5 ms": milliseconds to four significant digits.
std::string format_ms(double seconds);
// 0.0553 -> "+5.5%".
std::string format_signed_percent(double fraction);

}  // namespace pb::analysis
