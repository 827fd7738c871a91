// pb_scaling_model: predicts DDP step time and scaling efficiency from a compute time, an all-reduce
// fit and the gradient buckets; checks the predictions against a family-4 report's measured points
// and extrapolates, as a model, to more ranks over faster links.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "benchmarks/analysis/scaling_model.h"
#include "benchmarks/analysis/svg_chart.h"
#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/summary.h"
#include "common/cli.h"
#include "common/json_file.h"
#include "common/models.h"

namespace {

namespace pa = pb::analysis;

// Without a report there is no measured latency: an order of magnitude for one step of a TCP or
// RDMA collective between machines. The output says when it is used; --alpha-us replaces it.
constexpr double kDefaultAlphaUs = 10;

// A positive number (zero too with `allow_zero`), with Cli's wording for what does not parse.
double parse_number(const std::string& flag, const std::string& text, bool allow_zero) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    throw pb::CliError("--" + flag + " expects a number, got '" + text + "'");
  }
  if (allow_zero && value < 0) throw pb::CliError("--" + flag + " must not be negative, got " + text);
  if (!allow_zero && value <= 0) throw pb::CliError("--" + flag + " must be greater than 0, got " + text);
  return value;
}

std::string plain(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

// 88 -> "88 B", 8566056 -> "8.566 MB".
std::string format_bytes(double bytes) {
  std::string text = pb::bench::format_value(bytes);
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back()))) return text.insert(text.size() - 1, " ") + "B";
  return text + " B";
}

// 0.902 -> "90.2%"; below 1% two significant digits, so that 0.44% and 0.012% stay apart.
std::string format_efficiency(double efficiency) {
  if (efficiency >= 0.01) return fixed(efficiency * 100, 1) + "%";
  std::ostringstream out;
  out << std::setprecision(2) << efficiency * 100 << "%";
  return out.str();
}

std::string sync_name(int64_t sync) { return sync == 2 ? "overlapped" : "after backward"; }

// Gradient bytes of each parameter of a project model, in the order backward produces them (the
// reverse of registration, as DDP's buckets take them).
std::vector<int64_t> parameter_bytes(const std::string& model) {
  std::vector<int64_t> bytes;
  for (const torch::Tensor& p : pb::make_model(pb::parse_model_kind(model)).ptr()->parameters()) {
    bytes.push_back(p.numel() * static_cast<int64_t>(p.element_size()));
  }
  std::reverse(bytes.begin(), bytes.end());
  return bytes;
}

struct Modelled {
  std::string name;
  double compute_s = 0;
  std::vector<double> buckets;
  double gradient_bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths, models{"linear", "mlp", "cnn"}, links{"10", "25", "100", "400"};
  std::vector<int64_t> ranks{8, 16, 32, 64, 128, 256};
  std::string step_text, params_text, alpha_text, name = "custom", format = "console", svg, device = "cpu";
  int64_t bucket_kib = 25 * 1024, bytes_per_param = 4;
  double backward_fraction = pa::kDefaultBackwardFraction;
  bool no_overlap = false;
  std::vector<double> link_gbit;
  double step_ms = 0, params_m = 0, alpha_us = kDefaultAlphaUs;

  pb::Cli cli("pb_scaling_model",
              "Models DDP step time and scaling efficiency (ring all-reduce fitted to a family-4 report, gradient "
              "buckets, overlap with backward), checks it against the report's measured points, and extrapolates.");
  cli.positional("report", &paths, "a family-4 report (bench_ddp --out): the all-reduce sweep, compute times, "
                                   "measured points (optional with --step-ms and --params-m)", 0)
      .option("models", &models, "project models to check and extrapolate (from the report's 1-rank rows)")
      .option("device", &device, "which rows of the report: cpu (ddp_cpu, allreduce_gloo) or cuda (ddp_cuda, allreduce_nccl)")
      .option("step-ms", &step_text, "your model: compute time per step on one device, ms (forward+backward+optimizer)")
      .option("params-m", &params_text, "your model: parameters, millions")
      .option("bytes-per-param", &bytes_per_param, "your model: gradient bytes per parameter (4: fp32, 2: bf16)", 1, 16)
      .option("name", &name, "your model's name in the tables")
      .option("link-gbit", &links, "link speeds to extrapolate to, Gbit/s")
      .option("alpha-us", &alpha_text,
              "latency per ring step, us (default: the report's fit at its largest rank count; 10 without a report)")
      .option("ranks", &ranks, "rank counts to extrapolate to", 1, int64_t{1} << 20)
      .option("bucket-kib", &bucket_kib, "gradient bucket size for the extrapolation, KiB", 1, int64_t{1} << 22)
      .flag("no-overlap", &no_overlap, "extrapolate with every all-reduce after backward (default: overlapped)")
      .option("backward-fraction", &backward_fraction, "share of the compute time that is backward", 0, 1)
      .option("format", &format, "console or md")
      .option("svg", &svg, "also write the extrapolated efficiency as an SVG chart to this file")
      .validate([&] {
        if (paths.size() > 1) throw pb::CliError("expected at most one report, got " + std::to_string(paths.size()));
        if (format != "console" && format != "md") throw pb::CliError("--format must be console or md, got '" + format + "'");
        if (device != "cpu" && device != "cuda") throw pb::CliError("--device must be cpu or cuda, got '" + device + "'");
        pb::bench::check_models(models);
        for (const std::string& text : links) link_gbit.push_back(parse_number("link-gbit", text, false));
        if (!step_text.empty()) step_ms = parse_number("step-ms", step_text, false);
        if (!params_text.empty()) params_m = parse_number("params-m", params_text, false);
        if (!alpha_text.empty()) alpha_us = parse_number("alpha-us", alpha_text, true);
        if (step_text.empty() != params_text.empty()) {
          throw pb::CliError("--step-ms and --params-m go together: the compute time and the size of one model");
        }
        if (paths.empty() && step_text.empty()) {
          throw pb::CliError("nothing to model: give a family-4 report, or --step-ms and --params-m (see --help)");
        }
      });
  pb::parse_or_exit(cli, argc, argv);
  const bool markdown = format == "md";
  const bool overlap = !no_overlap;
  // The chart's file is checked before any work, as pb_compare checks its --out.
  if (!svg.empty()) {
    try {
      pb::check_writable(svg);
    } catch (const pb::FileError& error) {
      pb::fail_usage(cli.program(), error.what());
    }
  }

  std::ostringstream out;
  auto heading = [&](const std::string& text) { out << (markdown ? "\n### " + text + "\n\n" : "\n== " + text + " ==\n"); };
  auto paragraph = [&](const std::string& text) { out << text << (markdown ? "\n\n" : "\n"); };

  std::optional<pa::Report> report;
  std::map<int64_t, pa::AllreduceFit> fits;
  std::vector<pa::DdpPoint> points;
  const std::string backend = device == "cuda" ? "nccl" : "gloo";
  const std::string family = "ddp_" + device;
  try {
    if (!paths.empty()) {
      report = pa::load_report(paths[0]);
      fits = pa::fit_report_sweep(*report, backend);
      points = pa::ddp_points(*report, family);
    }
  } catch (const pa::ReportError& error) {
    pb::fail_usage(cli.program(), error.what());
  } catch (const std::invalid_argument& error) {  // a sweep whose time does not grow with size
    pb::fail_usage(cli.program(), "'" + paths[0] + "': " + error.what());
  }

  out << (markdown ? "## " : "") << "pb_scaling_model: DDP step = compute + the all-reduce time backward does not hide"
      << (report ? ", fitted to " + report->path : "") << "\n";
  std::map<std::string, std::vector<int64_t>> param_bytes;
  for (const std::string& model : models) param_bytes[model] = parameter_bytes(model);

  if (report) {
    heading("All-reduce fit: least squares t(n) = a + n*b over allreduce_" + backend +
            "/ranks:P/bytes:B; ring: a = 2(p-1)*alpha, b = 2(p-1)/p / B");
    pa::Table table{{"ranks", "sizes", "a", "alpha", "B", "R^2"}, {}};
    for (const auto& [r, fit] : fits) {
      table.rows.push_back({std::to_string(r), std::to_string(fit.points), fixed(fit.intercept_s * 1e6, 1) + " us",
                            fixed(fit.alpha_s * 1e6, 1) + " us", pb::bench::format_value(fit.bandwidth_bytes_per_s / 1e9) + " GB/s",
                            fixed(fit.r_squared, 5)});
    }
    out << pa::render_table(table, markdown);
    for (const auto& [r, fit] : fits) {
      if (fit.alpha_s < 0) paragraph("ranks:" + std::to_string(r) + ": the intercept is below 0; the model takes its latency as 0");
    }

    heading("Model inputs: compute from the 1-rank rows, gradients from the project's models");
    pa::Table inputs{{"model", "compute/step", "from", "gradient bytes", "parameter tensors"}, {}};
    for (const std::string& model : models) {
      const pa::DdpPoint* compute = pa::compute_point(points, model, 1);
      int64_t total = 0;
      for (int64_t b : param_bytes[model]) total += b;
      inputs.rows.push_back({model, compute ? pa::format_ms(compute->step_s) : "-",
                             compute ? compute->entry->name : "no 1-rank row in the report", std::to_string(total),
                             std::to_string(param_bytes[model].size())});
    }
    out << pa::render_table(inputs, markdown);

    heading("Measured against the model: step time");
    // The report machine's cores, to tell ranks that shared them (0: unknown, none flagged).
    const auto cpus = report->context.find("num_cpus");
    const int64_t cores = cpus == report->context.end() ? 0 : std::atoll(cpus->second.c_str());
    const std::vector<pa::CheckRow> rows = pa::check_against_report(points, fits, param_bytes, backward_fraction, cores);
    if (rows.empty()) {
      paragraph("no " + family + " rows with 2 or more ranks and gradient sync for these models: nothing to check");
    } else {
      pa::Table check{{"model", "ranks", "threads", "sync", "bucket_kib", "measured", "model", "error",
                       "model, p-rank compute", "error", "fit", "note"}, {}};
      size_t counted = 0, within = 0;
      const pa::CheckRow* worst = nullptr;
      for (const pa::CheckRow& row : rows) {
        const pa::DdpPoint& p = row.point;
        check.rows.push_back({p.model, std::to_string(p.ranks), std::to_string(p.threads), sync_name(p.sync),
                              std::to_string(p.bucket_kib), pa::format_ms(p.step_s), pa::format_ms(row.predicted_s),
                              pa::format_signed_percent(row.error),
                              row.local_predicted_s > 0 ? pa::format_ms(row.local_predicted_s) : "-",
                              row.local_predicted_s > 0 ? pa::format_signed_percent(row.local_error) : "-",
                              "ranks:" + std::to_string(row.fit_ranks), row.note});
        if (!row.counted) continue;
        ++counted;
        if (std::fabs(row.error) <= pa::kTargetError) ++within;
        if (worst == nullptr || std::fabs(row.error) > std::fabs(worst->error)) worst = &row;
      }
      out << pa::render_table(check, markdown) << "\n";  // in Markdown, a line right after a table is a row of it
      paragraph("model: the 1-rank compute plus the modelled communication; model, p-rank compute: the same "
                "communication on the measured no-sync step at those ranks, so its error is the communication "
                "model's own. error = model / measured - 1.");
      paragraph("within " + fixed(pa::kTargetError * 100, 0) + "%: " + std::to_string(within) + " of " +
                std::to_string(counted) + " counted points (stable, not oversubscribed); " +
                std::to_string(rows.size()) + " points in all" +
                (worst ? "; largest counted error " + pa::format_signed_percent(worst->error) + " (" + worst->point.entry->name + ")"
                       : ""));
    }
  }

  // What to extrapolate: the user's model if given, else the report's models with a compute time.
  std::vector<Modelled> modelled;
  if (!step_text.empty()) {
    Modelled m{name, step_ms * 1e-3, {}, params_m * 1e6 * static_cast<double>(bytes_per_param)};
    m.buckets = pa::even_buckets(m.gradient_bytes, bucket_kib * 1024);
    modelled.push_back(m);
  } else {
    for (const std::string& model : models) {
      const pa::DdpPoint* compute = pa::compute_point(points, model, 1);
      if (compute == nullptr) continue;
      Modelled m{model, compute->step_s, pa::buckets_from_parameters(param_bytes[model], bucket_kib * 1024), 0};
      for (int64_t b : param_bytes[model]) m.gradient_bytes += static_cast<double>(b);
      modelled.push_back(m);
    }
  }
  std::string alpha_source = "--alpha-us";
  if (alpha_text.empty() && report) {
    const pa::AllreduceFit& fit = fits.rbegin()->second;
    alpha_us = pa::link_of(fit).alpha_s * 1e6;
    alpha_source = "the ranks:" + std::to_string(fit.ranks) + " fit of this machine's all-reduce";
  } else if (alpha_text.empty()) {
    alpha_source = "a default: no report given";
  }

  heading("Extrapolation: a MODEL, not a measurement");
  paragraph("ring all-reduce with alpha " + fixed(alpha_us, 1) + " us (" + alpha_source + "), buckets of " +
            std::to_string(bucket_kib) + " KiB, overlap " + (overlap ? "on" : "off") + ", backward " +
            fixed(backward_fraction * 100, 0) + "% of the compute, one link per rank; efficiency = compute / step");
  pa::Chart chart;
  chart.title = "DDP scaling efficiency: a model, not a measurement";
  chart.x_label = "ranks";
  chart.y_label = "scaling efficiency (model)";
  chart.log_x = true;
  if (modelled.empty()) {
    paragraph("nothing to extrapolate: no 1-rank " + family + " rows for these models (or give --step-ms and --params-m)");
  } else {
    pa::Table table{{"model", "link", "ranks", "compute", "gradients", "buckets", "step", "all-reduce", "exposed",
                     "efficiency"}, {}};
    for (const Modelled& m : modelled) {
      for (double gbit : link_gbit) {
        pa::Series series{m.name + ", " + plain(gbit) + " Gbit/s", {}, false};
        const pa::Link link = pa::link_from_gbit(gbit, alpha_us * 1e-6);
        for (int64_t p : ranks) {
          const pa::StepPrediction s = pa::predict_step({m.compute_s, backward_fraction, m.buckets, overlap}, p, link);
          table.rows.push_back({m.name, plain(gbit) + " Gbit/s", std::to_string(p), pa::format_ms(m.compute_s),
                                format_bytes(m.gradient_bytes), std::to_string(m.buckets.size()),
                                pa::format_ms(s.step_s), pa::format_ms(s.comm_s), pa::format_ms(s.exposed_s),
                                format_efficiency(s.efficiency)});
          series.points.emplace_back(static_cast<double>(p), s.efficiency);
        }
        chart.series.push_back(series);
      }
    }
    out << pa::render_table(table, markdown);
    pa::Series ideal{"ideal", {}, true};
    for (int64_t p : ranks) ideal.points.emplace_back(static_cast<double>(p), 1.0);
    chart.series.push_back(ideal);
  }
  std::cout << out.str();
  if (!svg.empty()) {
    if (modelled.empty()) pb::fail_usage(cli.program(), "no chart to write: nothing was extrapolated");
    try {
      pb::write_file_atomic(svg, pa::render_svg(chart));
    } catch (const pb::FileError& error) {
      pb::fail_usage(cli.program(), error.what());
    }
    std::cout << (markdown ? "\n" : "") << "wrote " << svg << " (" << chart.series.size() - 1 << " series)\n";
  }
  return 0;
}
