// A model of one DDP training step: compute time, the measured all-reduce sweep (interpolated, with a
// ring alpha-beta fit outside it), gradient buckets reduced in order as backward produces them
// (layer by layer, in proportion to each layer's FLOPs); checked against the measured steps of a
// family-4 report, then extrapolated to more ranks and other links.
#pragma once

#include <cstdint>
#include <functional>
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
// The project's target for the model's error on stable points.
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
  // The measured (bytes, seconds), one per size (the mean where a size repeats), by size.
  std::vector<std::pair<double, double>> sweep;
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
// One all-reduce of `bytes` at the fit's own rank count and link: the measured sweep, linear in size
// between the two measured sizes around `bytes` (exact at a measured size), because a straight line
// through 8 B..256 MiB is set by the large messages and misses the small ones; outside the measured
// sizes, the ring on the fit's link (link_of).
double sweep_allreduce_seconds(const AllreduceFit& fit, double bytes);

// The buckets DDP forms (common/distributed/ddp.cpp): parameters taken in the order backward
// produces their gradients; a new bucket starts when the current one is not empty and the next
// parameter would take it past `bucket_bytes` (so a parameter larger than that is a bucket alone).
std::vector<double> buckets_from_parameters(const std::vector<int64_t>& param_bytes_in_backward_order,
                                            int64_t bucket_bytes);
// A model known only by its size: full buckets of `bucket_bytes`, then the remainder.
std::vector<double> even_buckets(double gradient_bytes, int64_t bucket_bytes);

// A layer of a model (a conv or linear module) for the ready times of its gradients.
struct Layer {
  std::string name;
  double backward_flops = 0;          // per sample; 2x the forward's is the usual estimate
  std::vector<int64_t> param_bytes;   // its parameters' gradient bytes, in backward order
};
// Gradients in the order backward produces them, with when each is ready.
struct Gradients {
  std::vector<int64_t> bytes;  // per parameter
  std::vector<double> ready;   // share of the backward time done when it exists, in (0, 1]
};
// Backward runs the layers in reverse registration order (`layers_in_backward_order`), each for a
// share of the backward time proportional to its FLOPs; a layer's parameters (its bias too, which
// has no FLOPs of its own) are ready when the layer ends. Throws std::invalid_argument when no
// layer has FLOPs.
Gradients gradients_by_flops(const std::vector<Layer>& layers_in_backward_order);
// A model without an architecture: gradient bytes produced at a steady rate over backward.
Gradients gradients_at_steady_rate(const std::vector<int64_t>& param_bytes_in_backward_order);
// When each of DDP's buckets (buckets_from_parameters' rule) is full: its last gradient's ready time.
std::vector<double> bucket_ready(const Gradients& gradients, int64_t bucket_bytes);

struct StepModel {
  double compute_s = 0;  // forward + backward + optimizer of one rank, without communication
  double backward_fraction = kDefaultBackwardFraction;
  std::vector<double> buckets;  // bytes, in the order backward fills them
  bool overlap = true;          // a bucket's all-reduce may start as soon as backward filled it
  // Per bucket, the share of backward done when it is full (bucket_ready); empty: the bytes come
  // at a steady rate, bucket i full when backward has produced buckets 0..i.
  std::vector<double> ready = {};
};

struct StepPrediction {
  double step_s = 0;      // compute + exposed communication
  double comm_s = 0;      // the buckets' all-reduce times, summed
  double exposed_s = 0;   // what backward did not hide: the step's wait for gradients
  double efficiency = 1;  // throughput at p / (p x throughput at 1) = compute / step (weak scaling)
};
// One step on `ranks` ranks. Bucket i is ready at model.ready[i] of backward (or, without ready
// times, when backward has produced the bytes of buckets 0..i at a steady rate); buckets are
// reduced one at a time, in order (every rank must issue the same collectives in the same order).
// Without overlap all start after backward. The step ends when backward and the last all-reduce
// have both ended. An all-reduce takes the ring's time on `link`, or `allreduce_seconds(bytes)`.
StepPrediction predict_step(const StepModel& model, int64_t ranks, const Link& link);
StepPrediction predict_step(const StepModel& model, int64_t ranks,
                            const std::function<double(double)>& allreduce_seconds);

// ---- a family-4 report --------------------------------------------------------------------------

// The link of rows without a link: setting: the ranks' loopback on one machine. A shaped link is
// a rate in tc's words (link:1gbit): one rank per simulated host, each cable shaped to it.
constexpr const char* kLoopbackLink = "loopback";
// A row's link: its link: label, or kLoopbackLink.
std::string link_of_entry(const Entry& entry);
// The links of a report's allreduce_<backend> rows: loopback first when it has rows, then the
// shaped links in report order.
std::vector<std::string> report_links(const Report& report, const std::string& backend);

// The all-reduce sweep of `backend` ("gloo" or "nccl") on `link`, one fit per rank count. Throws
// ReportError "'<path>' has no all-reduce sweep (allreduce_<backend>/ranks:R/bytes:B rows at 2 or
// more sizes)" when no rank count has one (" on link <word>" after the rows for a shaped link).
std::map<int64_t, AllreduceFit> fit_report_sweep(const Report& report, const std::string& backend,
                                                 const std::string& link = kLoopbackLink);
// The fit for `ranks`: its own, else the nearest rank count's (the larger one on a tie).
const AllreduceFit& nearest_fit(const std::map<int64_t, AllreduceFit>& fits, int64_t ranks);

// bench_ddp's gradient sync modes, as its run names spell them (sync:overlapped); the words of
// pb::dist::sync_mode_name (common/distributed/ddp_step.h).
constexpr const char* kSyncNone = "none";
constexpr const char* kSyncAfterBackward = "after_backward";
constexpr const char* kSyncOverlapped = "overlapped";

// A measured DDP training point: ddp_<device>/<model>/ranks:P/threads:T/sync:<word>/bucket_kib:K.
struct DdpPoint {
  const Entry* entry = nullptr;
  std::string model;
  int64_t ranks = 0, threads = 0, bucket_kib = 0;
  std::string sync;  // kSyncNone, kSyncAfterBackward or kSyncOverlapped
  std::string link = kLoopbackLink;
  double step_s = 0;  // the step_ms counter (median over repetitions)
  double cv = -1;     // spread of the repetitions' times; -1 with a single run
};
std::vector<DdpPoint> ddp_points(const Report& report, const std::string& family);
// The 1-rank, no-sync point of `model` with `threads` threads: the compute time the model builds
// on (one rank has no link: loopback's). nullptr when the report has none.
const DdpPoint* compute_point(const std::vector<DdpPoint>& points, const std::string& model, int64_t threads);

// One measured synchronised point against the model.
struct CheckRow {
  DdpPoint point;
  int64_t fit_ranks = 0;   // the sweep fit used
  // true: the point's own rank count was swept, its buckets take the measured times
  // (sweep_allreduce_seconds); false: the ring on the nearest rank count's fitted link.
  bool interpolated = false;
  double predicted_s = 0;  // from the 1-rank compute
  double error = 0;        // (predicted - measured) / measured
  // The same communication model on the measured no-sync step at these ranks: what remains is the
  // communication model's own error (ranks that share cores slow each other's compute).
  double local_predicted_s = -1, local_error = 0;
  bool counted = false;  // stable and not oversubscribed: judged against the target
  std::string note;
};
// Every ddp row on `link` with ranks >= 2 and gradient sync (after_backward or overlapped) whose
// model has a 1-rank compute point and an entry in `gradients` (its parameters in backward order
// and their ready times); `fits` is that link's sweep. `cores` is the report machine's (0: unknown,
// never oversubscribed).
std::vector<CheckRow> check_against_report(const std::vector<DdpPoint>& points,
                                           const std::map<int64_t, AllreduceFit>& fits,
                                           const std::map<std::string, Gradients>& gradients,
                                           double backward_fraction, int64_t cores,
                                           const std::string& link = kLoopbackLink);

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
