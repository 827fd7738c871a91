// The DDP step model: least-squares alpha-beta fit and the interpolated sweep, DDP's bucket rule,
// FLOP-weighted gradient ready times, the overlapped bucket schedule, and the check of its
// predictions against the measured points of a report.
#include "benchmarks/analysis/scaling_model.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pb::analysis {
namespace {

std::string sig4(double value) {
  std::ostringstream out;
  if (std::fabs(value) >= 1e4) {
    out << std::fixed << std::setprecision(0) << value;  // 12345 ms, not 1.234e+04
  } else {
    out << std::setprecision(4) << value;
  }
  return out.str();
}

// Seconds of one all-reduce row: its time_us counter, else its real time in its own unit.
double row_seconds(const Entry& entry) {
  const auto it = entry.counters.find("time_us");
  if (it != entry.counters.end() && std::isfinite(it->second)) return it->second * 1e-6;
  const double scale = entry.time_unit == "ns" ? 1e-9 : entry.time_unit == "us" ? 1e-6 : entry.time_unit == "ms" ? 1e-3 : 1;
  return entry.time * scale;
}

double coefficient_of_variation(const std::vector<double>& values) {
  std::vector<double> finite;
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  if (finite.size() < 2) return -1;
  double mean = 0;
  for (double v : finite) mean += v;
  mean /= static_cast<double>(finite.size());
  double sum_sq = 0;
  for (double v : finite) sum_sq += (v - mean) * (v - mean);
  // Sample standard deviation, as Google Benchmark's own _cv aggregate uses.
  return mean > 0 ? std::sqrt(sum_sq / static_cast<double>(finite.size() - 1)) / mean : -1;
}

std::string percent(double fraction, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << fraction * 100 << "%";
  return out.str();
}

}  // namespace

AllreduceFit fit_ring_allreduce(int64_t ranks, const std::vector<std::pair<double, double>>& bytes_seconds) {
  if (ranks < 2) throw std::invalid_argument("an all-reduce fit needs 2 or more ranks, got " + std::to_string(ranks));
  std::set<double> sizes;
  for (const auto& [n, t] : bytes_seconds) sizes.insert(n);
  if (sizes.size() < 2) {
    throw std::invalid_argument("an all-reduce fit on " + std::to_string(ranks) + " ranks needs 2 or more message sizes, got " +
                                std::to_string(sizes.size()));
  }
  // Centred sums: sizes span 8 B to 256 MiB, and raw sums of squares would lose the small ones.
  const auto m = static_cast<double>(bytes_seconds.size());
  double mean_n = 0, mean_t = 0;
  for (const auto& [n, t] : bytes_seconds) {
    mean_n += n / m;
    mean_t += t / m;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (const auto& [n, t] : bytes_seconds) {
    sxx += (n - mean_n) * (n - mean_n);
    sxy += (n - mean_n) * (t - mean_t);
    syy += (t - mean_t) * (t - mean_t);
  }
  AllreduceFit fit;
  fit.ranks = ranks;
  fit.points = bytes_seconds.size();
  fit.slope_s_per_byte = sxy / sxx;
  fit.intercept_s = mean_t - fit.slope_s_per_byte * mean_n;
  if (!(fit.slope_s_per_byte > 0)) {
    throw std::invalid_argument("the all-reduce time on " + std::to_string(ranks) +
                                " ranks does not grow with the message size: no bandwidth to fit");
  }
  const auto p = static_cast<double>(ranks);
  fit.alpha_s = fit.intercept_s / (2 * (p - 1));
  fit.bandwidth_bytes_per_s = 2 * (p - 1) / p / fit.slope_s_per_byte;
  double residual = 0;
  for (const auto& [n, t] : bytes_seconds) {
    const double e = t - (fit.intercept_s + fit.slope_s_per_byte * n);
    residual += e * e;
  }
  fit.r_squared = syy > 0 ? 1 - residual / syy : 1;
  std::map<double, std::pair<double, int>> by_size;  // size -> (sum of seconds, count)
  for (const auto& [n, t] : bytes_seconds) {
    by_size[n].first += t;
    ++by_size[n].second;
  }
  for (const auto& [n, sum] : by_size) fit.sweep.emplace_back(n, sum.first / sum.second);
  return fit;
}

Link link_of(const AllreduceFit& fit) { return {std::max(0.0, fit.alpha_s), fit.bandwidth_bytes_per_s}; }

Link link_from_gbit(double gbit_per_s, double alpha_s) { return {alpha_s, gbit_per_s * 1e9 / 8}; }

double ring_allreduce_seconds(double bytes, int64_t ranks, const Link& link) {
  if (ranks <= 1) return 0;
  const auto p = static_cast<double>(ranks);
  return 2 * (p - 1) * link.alpha_s + 2 * (p - 1) / p * bytes / link.bandwidth_bytes_per_s;
}

double sweep_allreduce_seconds(const AllreduceFit& fit, double bytes) {
  const auto& sweep = fit.sweep;
  if (sweep.empty() || bytes < sweep.front().first || bytes > sweep.back().first) {
    return ring_allreduce_seconds(bytes, fit.ranks, link_of(fit));
  }
  // The first measured size >= bytes; bytes lies in [previous size, that size].
  const auto hi = std::lower_bound(sweep.begin(), sweep.end(), bytes,
                                   [](const std::pair<double, double>& point, double n) { return point.first < n; });
  if (hi->first == bytes || hi == sweep.begin()) return hi->second;
  const auto lo = hi - 1;
  const double share = (bytes - lo->first) / (hi->first - lo->first);
  return lo->second + share * (hi->second - lo->second);
}

std::vector<double> buckets_from_parameters(const std::vector<int64_t>& param_bytes_in_backward_order,
                                            int64_t bucket_bytes) {
  if (bucket_bytes < 1) throw std::invalid_argument("bucket size must be positive");
  std::vector<double> buckets;
  for (int64_t bytes : param_bytes_in_backward_order) {
    // Every bucket holds a parameter once made, so "not empty" is simply "exists".
    if (buckets.empty() || buckets.back() + static_cast<double>(bytes) > static_cast<double>(bucket_bytes)) {
      buckets.push_back(0);
    }
    buckets.back() += static_cast<double>(bytes);
  }
  return buckets;
}

std::vector<double> even_buckets(double gradient_bytes, int64_t bucket_bytes) {
  if (bucket_bytes < 1) throw std::invalid_argument("bucket size must be positive");
  std::vector<double> buckets;
  const auto size = static_cast<double>(bucket_bytes);
  double left = gradient_bytes;
  while (left > size) {
    buckets.push_back(size);
    left -= size;
  }
  if (left > 0) buckets.push_back(left);
  return buckets;
}

Gradients gradients_by_flops(const std::vector<Layer>& layers_in_backward_order) {
  double total = 0;
  for (const Layer& layer : layers_in_backward_order) total += layer.backward_flops;
  if (!(total > 0)) throw std::invalid_argument("no layer has backward FLOPs: no ready times to weight");
  Gradients out;
  double done = 0;
  for (const Layer& layer : layers_in_backward_order) {
    done += layer.backward_flops;
    for (int64_t bytes : layer.param_bytes) {
      out.bytes.push_back(bytes);
      out.ready.push_back(done / total);
    }
  }
  return out;
}

Gradients gradients_at_steady_rate(const std::vector<int64_t>& param_bytes_in_backward_order) {
  Gradients out;
  double total = 0, done = 0;
  for (int64_t bytes : param_bytes_in_backward_order) total += static_cast<double>(bytes);
  for (int64_t bytes : param_bytes_in_backward_order) {
    done += static_cast<double>(bytes);
    out.bytes.push_back(bytes);
    out.ready.push_back(total > 0 ? done / total : 1);
  }
  return out;
}

std::vector<double> bucket_ready(const Gradients& gradients, int64_t bucket_bytes) {
  if (bucket_bytes < 1) throw std::invalid_argument("bucket size must be positive");
  std::vector<double> ready;
  double filled = 0;
  // The same rule as buckets_from_parameters; a bucket is full when its last gradient exists.
  for (size_t i = 0; i < gradients.bytes.size(); ++i) {
    const auto bytes = static_cast<double>(gradients.bytes[i]);
    if (ready.empty() || filled + bytes > static_cast<double>(bucket_bytes)) {
      ready.push_back(0);
      filled = 0;
    }
    filled += bytes;
    ready.back() = std::max(ready.back(), gradients.ready[i]);
  }
  return ready;
}

StepPrediction predict_step(const StepModel& model, int64_t ranks, const Link& link) {
  return predict_step(model, ranks, [&](double bytes) { return ring_allreduce_seconds(bytes, ranks, link); });
}

StepPrediction predict_step(const StepModel& model, int64_t ranks, const std::function<double(double)>& allreduce_seconds) {
  if (!model.ready.empty() && model.ready.size() != model.buckets.size()) {
    throw std::invalid_argument("a ready time per bucket, or none");
  }
  StepPrediction out;
  const double backward_s = model.compute_s * model.backward_fraction;
  double total = 0;
  for (double b : model.buckets) total += b;
  // Time runs from the start of backward; the rest of the compute (forward, optimizer) does not
  // overlap with communication in DDP: the optimizer needs the summed gradients.
  double produced = 0, comm_end = 0;
  for (size_t i = 0; i < model.buckets.size(); ++i) {
    const double bytes = model.buckets[i];
    produced += bytes;
    const double share = !model.ready.empty() ? model.ready[i] : total > 0 ? produced / total : 1;
    const double ready = model.overlap ? backward_s * share : backward_s;
    const double t = ranks > 1 ? allreduce_seconds(bytes) : 0;
    comm_end = std::max(comm_end, ready) + t;
    out.comm_s += t;
  }
  out.exposed_s = ranks > 1 ? std::max(0.0, comm_end - backward_s) : 0;
  out.step_s = model.compute_s + out.exposed_s;
  out.efficiency = out.step_s > 0 ? model.compute_s / out.step_s : 1;
  return out;
}

std::string link_of_entry(const Entry& entry) {
  const auto it = entry.labels.find("link");
  return it == entry.labels.end() ? kLoopbackLink : it->second;
}

std::vector<std::string> report_links(const Report& report, const std::string& backend) {
  std::vector<std::string> links;
  for (const Entry& entry : report.entries) {
    if (entry.family != "allreduce_" + backend) continue;
    const std::string link = link_of_entry(entry);
    if (std::find(links.begin(), links.end(), link) == links.end()) links.push_back(link);
  }
  const auto loopback = std::find(links.begin(), links.end(), kLoopbackLink);
  if (loopback != links.end()) std::rotate(links.begin(), loopback, loopback + 1);
  return links;
}

std::map<int64_t, AllreduceFit> fit_report_sweep(const Report& report, const std::string& backend,
                                                 const std::string& link) {
  const std::string family = "allreduce_" + backend;
  std::map<int64_t, std::vector<std::pair<double, double>>> by_ranks;
  for (const Entry& entry : report.entries) {
    if (entry.family != family || !entry.error.empty() || !entry.args.count("ranks") || !entry.args.count("bytes")) continue;
    if (link_of_entry(entry) != link) continue;
    const double seconds = row_seconds(entry);
    if (!std::isfinite(seconds) || seconds <= 0) continue;
    by_ranks[entry.args.at("ranks")].emplace_back(static_cast<double>(entry.args.at("bytes")), seconds);
  }
  std::map<int64_t, AllreduceFit> fits;
  for (const auto& [ranks, points] : by_ranks) {
    std::set<double> sizes;
    for (const auto& point : points) sizes.insert(point.first);
    if (ranks >= 2 && sizes.size() >= 2) fits[ranks] = fit_ring_allreduce(ranks, points);
  }
  if (fits.empty()) {
    throw ReportError("'" + report.path + "' has no all-reduce sweep (" + family + "/ranks:R/bytes:B rows at 2 or more sizes" +
                      (link == kLoopbackLink ? "" : " on link " + link) + "): run bench_ddp with --allreduce-bytes");
  }
  return fits;
}

const AllreduceFit& nearest_fit(const std::map<int64_t, AllreduceFit>& fits, int64_t ranks) {
  if (fits.empty()) throw std::invalid_argument("no all-reduce fit");
  const AllreduceFit* best = nullptr;
  for (const auto& [r, fit] : fits) {
    const int64_t distance = std::llabs(r - ranks);
    if (best == nullptr || distance <= std::llabs(best->ranks - ranks)) best = &fit;  // ascending: ties go larger
  }
  return *best;
}

std::vector<DdpPoint> ddp_points(const Report& report, const std::string& family) {
  std::vector<DdpPoint> points;
  for (const Entry& entry : report.entries) {
    if (entry.family != family || !entry.error.empty()) continue;
    const auto step = entry.counters.find("step_ms");
    if (step == entry.counters.end() || !std::isfinite(step->second) || step->second <= 0) continue;
    if (!entry.args.count("ranks") || !entry.labels.count("sync")) continue;
    DdpPoint point;
    point.entry = &entry;
    point.model = entry.model;
    point.ranks = entry.args.at("ranks");
    point.threads = entry.args.count("threads") ? entry.args.at("threads") : 1;
    point.sync = entry.labels.at("sync");
    point.link = link_of_entry(entry);
    point.bucket_kib = entry.args.count("bucket_kib") ? entry.args.at("bucket_kib") : 25 * 1024;
    point.step_s = step->second * 1e-3;
    point.cv = coefficient_of_variation(entry.times);
    points.push_back(point);
  }
  return points;
}

const DdpPoint* compute_point(const std::vector<DdpPoint>& points, const std::string& model, int64_t threads) {
  for (const DdpPoint& p : points) {
    if (p.model == model && p.ranks == 1 && p.threads == threads && p.sync == kSyncNone && p.link == kLoopbackLink) return &p;
  }
  return nullptr;
}

std::vector<CheckRow> check_against_report(const std::vector<DdpPoint>& points,
                                           const std::map<int64_t, AllreduceFit>& fits,
                                           const std::map<std::string, Gradients>& gradients,
                                           double backward_fraction, int64_t cores, const std::string& link) {
  std::vector<CheckRow> rows;
  for (const DdpPoint& point : points) {
    if (point.link != link) continue;
    if (point.ranks < 2 || (point.sync != kSyncAfterBackward && point.sync != kSyncOverlapped)) continue;
    const auto params = gradients.find(point.model);
    const DdpPoint* compute = compute_point(points, point.model, point.threads);
    if (params == gradients.end() || compute == nullptr) continue;
    CheckRow row;
    row.point = point;
    const AllreduceFit& fit = nearest_fit(fits, point.ranks);
    row.fit_ranks = fit.ranks;
    // The measured sweep at its own rank count; another rank count's only through its fitted link.
    row.interpolated = fit.ranks == point.ranks;
    const int64_t ranks = point.ranks;
    const std::function<double(double)> allreduce = [&fit, &row, ranks](double bytes) {
      return row.interpolated ? sweep_allreduce_seconds(fit, bytes) : ring_allreduce_seconds(bytes, ranks, link_of(fit));
    };
    StepModel model;
    model.compute_s = compute->step_s;
    model.backward_fraction = backward_fraction;
    model.buckets = buckets_from_parameters(params->second.bytes, point.bucket_kib * 1024);
    model.ready = bucket_ready(params->second, point.bucket_kib * 1024);
    model.overlap = point.sync == kSyncOverlapped;
    row.predicted_s = predict_step(model, point.ranks, allreduce).step_s;
    row.error = row.predicted_s / point.step_s - 1;
    for (const DdpPoint& local : points) {
      if (local.model == point.model && local.ranks == point.ranks && local.threads == point.threads &&
          local.sync == kSyncNone && local.link == link) {
        model.compute_s = local.step_s;
        row.local_predicted_s = predict_step(model, point.ranks, allreduce).step_s;
        row.local_error = row.local_predicted_s / point.step_s - 1;
        break;
      }
    }
    const int64_t used = point.ranks * point.threads;
    if (cores > 0 && used > cores) {
      row.note = "oversubscribed: " + std::to_string(point.ranks) + " ranks x " + std::to_string(point.threads) +
                 " thread(s) on " + std::to_string(cores) + " cores";
    } else if (point.cv > kStableCv) {
      row.note = "noisy: cv " + percent(point.cv, 1) + " over " + std::to_string(point.entry->times.size()) + " runs";
    } else {
      row.counted = true;
      row.note = point.cv < 0 ? "one run (spread unknown)"
                              : "stable: cv " + percent(point.cv, 1) + " over " + std::to_string(point.entry->times.size()) + " runs";
    }
    rows.push_back(row);
  }
  return rows;
}

std::string render_table(const Table& table, bool markdown) {
  std::ostringstream out;
  if (markdown) {
    auto line = [&](const std::vector<std::string>& cells) {
      out << "|";
      for (const std::string& cell : cells) out << " " << cell << " |";
      out << "\n";
    };
    line(table.header);
    out << "|";
    for (size_t i = 0; i < table.header.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& row : table.rows) line(row);
    return out.str();
  }
  std::vector<size_t> width(table.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) width[i] = std::max(width[i], cells[i].size());
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out.str();
}

std::string format_ms(double seconds) { return sig4(seconds * 1e3) + " ms"; }

std::string format_signed_percent(double fraction) {
  std::ostringstream out;
  out << std::showpos << std::fixed << std::setprecision(1) << fraction * 100 << "%";
  return out.str();
}

}  // namespace pb::analysis
