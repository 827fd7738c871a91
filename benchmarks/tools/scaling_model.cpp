// pb_scaling_model: predicts DDP step time and scaling efficiency from a compute time, the measured
// all-reduce sweep (and its alpha-beta fit) and the gradient buckets, ready layer by layer by FLOPs;
// checks the predictions against a family-4 report's measured points and extrapolates, as a model,
// to more ranks over faster links.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>

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

// The table's words for a sync mode: "after_backward" -> "after backward".
std::string sync_name(const std::string& sync) { return sync == pa::kSyncAfterBackward ? "after backward" : sync; }

// Records the size of the gradient a backward node receives: the size of its forward's output.
struct OutputSize : torch::autograd::FunctionPreHook {
  explicit OutputSize(int64_t* numel) : numel(numel) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& grads) override {
    if (!grads.empty() && grads[0].defined()) *numel = grads[0].numel();
    return grads;
  }
  int64_t* numel;
};

// The output positions of each conv weight (H x W per sample): one sample through the model, and
// the size of the gradient its convolution's backward node receives. Only a forward on real shapes
// knows them (the CNN pools between its convolutions, and no module says so).
std::map<const void*, int64_t> conv_output_positions(torch::nn::AnyModule& model, pb::ModelKind kind,
                                                     const std::vector<torch::Tensor>& conv_weights) {
  std::vector<int64_t> shape{1};
  for (int64_t d : pb::input_shape(kind)) shape.push_back(d);
  const torch::Tensor out = model.forward(torch::zeros(shape));
  std::map<const void*, int64_t> numel;
  std::vector<std::shared_ptr<torch::autograd::Node>> todo{out.grad_fn()};
  std::set<torch::autograd::Node*> seen;
  while (!todo.empty()) {
    const auto node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node.get()).second) continue;
    for (const torch::autograd::Edge& edge : node->next_edges()) {
      const auto* leaf = dynamic_cast<const torch::autograd::AccumulateGrad*>(edge.function.get());
      for (const torch::Tensor& w : conv_weights) {
        if (leaf != nullptr && leaf->variable.is_same(w)) {
          node->add_pre_hook(std::make_unique<OutputSize>(&numel[w.unsafeGetTensorImpl()]));
        }
      }
      todo.push_back(edge.function);
    }
  }
  out.sum().backward();
  std::map<const void*, int64_t> positions;
  for (const torch::Tensor& w : conv_weights) {
    const int64_t n = numel[w.unsafeGetTensorImpl()];
    if (n <= 0) throw std::runtime_error("a convolution's output size was not found in the model's autograd graph");
    positions[w.unsafeGetTensorImpl()] = n / w.size(0);  // per output channel
  }
  return positions;
}

// A project model's conv and linear layers in the order backward runs them (the reverse of
// registration, as DDP's buckets take their parameters), with backward FLOPs of 2x the forward's:
// a linear layer's forward is 2 x in x out per sample, a convolution's 2 x its weight's size x its
// output positions. Each layer's parameters in backward order (bias before weight).
std::vector<pa::Layer> model_layers(const std::string& name) {
  const pb::ModelKind kind = pb::parse_model_kind(name);
  torch::manual_seed(0);
  torch::nn::AnyModule model = pb::make_model(kind);
  std::vector<torch::Tensor> conv_weights;
  for (const auto& child : model.ptr()->named_children()) {
    if (const auto* conv = child.value()->as<torch::nn::Conv2dImpl>()) conv_weights.push_back(conv->weight);
  }
  const auto positions = conv_output_positions(model, kind, conv_weights);
  std::vector<pa::Layer> layers;
  for (const auto& child : model.ptr()->named_children()) {
    pa::Layer layer{child.key(), 0, {}};
    double forward_flops = 0;
    if (const auto* linear = child.value()->as<torch::nn::LinearImpl>()) {
      forward_flops = 2.0 * static_cast<double>(linear->weight.numel());
    } else if (const auto* conv = child.value()->as<torch::nn::Conv2dImpl>()) {
      forward_flops = 2.0 * static_cast<double>(conv->weight.numel()) *
                      static_cast<double>(positions.at(conv->weight.unsafeGetTensorImpl()));
    }
    layer.backward_flops = 2 * forward_flops;
    for (const torch::Tensor& p : child.value()->parameters()) {
      layer.param_bytes.push_back(p.numel() * static_cast<int64_t>(p.element_size()));
    }
    std::reverse(layer.param_bytes.begin(), layer.param_bytes.end());
    if (!layer.param_bytes.empty()) layers.push_back(layer);
  }
  std::reverse(layers.begin(), layers.end());
  return layers;
}

struct Modelled {
  std::string name;
  double compute_s = 0;
  std::vector<double> buckets;
  double gradient_bytes = 0;
  std::vector<double> ready;  // per bucket (pa::StepModel::ready); empty: a steady rate
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
  std::map<std::string, std::vector<pa::Layer>> layers;
  std::map<std::string, pa::Gradients> gradients;
  std::map<std::string, std::vector<int64_t>> param_bytes;
  for (const std::string& model : models) {
    layers[model] = model_layers(model);
    gradients[model] = pa::gradients_by_flops(layers[model]);
    param_bytes[model] = gradients[model].bytes;
  }

  // The fit of one link's sweep, one row per rank count.
  auto fit_table = [&](const std::map<int64_t, pa::AllreduceFit>& link_fits) {
    pa::Table table{{"ranks", "sizes", "a", "alpha", "B", "R^2"}, {}};
    for (const auto& [r, fit] : link_fits) {
      table.rows.push_back({std::to_string(r), std::to_string(fit.points), fixed(fit.intercept_s * 1e6, 1) + " us",
                            fixed(fit.alpha_s * 1e6, 1) + " us", pb::bench::format_value(fit.bandwidth_bytes_per_s / 1e9) + " GB/s",
                            fixed(fit.r_squared, 5)});
    }
    out << pa::render_table(table, markdown);
    for (const auto& [r, fit] : link_fits) {
      if (fit.alpha_s < 0) paragraph("ranks:" + std::to_string(r) + ": the intercept is below 0; the model takes its latency as 0");
    }
  };
  // One link's measured points against the model; the counts for the per-link summary.
  struct LinkCheck {
    size_t rows = 0, counted = 0, within = 0;
    std::string worst;  // the largest counted error, and where
  };
  const std::string family_name = family;
  auto check_table = [&](const std::vector<pa::CheckRow>& rows) {
    LinkCheck summary;
    summary.rows = rows.size();
    if (rows.empty()) {
      paragraph("no " + family_name + " rows with 2 or more ranks and gradient sync for these models: nothing to check");
      return summary;
    }
    pa::Table check{{"model", "ranks", "threads", "sync", "bucket_kib", "measured", "model", "error",
                     "model, p-rank compute", "error", "all-reduce", "note"}, {}};
    const pa::CheckRow* worst = nullptr;
    for (const pa::CheckRow& row : rows) {
      const pa::DdpPoint& p = row.point;
      check.rows.push_back({p.model, std::to_string(p.ranks), std::to_string(p.threads), sync_name(p.sync),
                            std::to_string(p.bucket_kib), pa::format_ms(p.step_s), pa::format_ms(row.predicted_s),
                            pa::format_signed_percent(row.error),
                            row.local_predicted_s > 0 ? pa::format_ms(row.local_predicted_s) : "-",
                            row.local_predicted_s > 0 ? pa::format_signed_percent(row.local_error) : "-",
                            (row.interpolated ? "sweep ranks:" : "fit ranks:") + std::to_string(row.fit_ranks), row.note});
      if (!row.counted) continue;
      ++summary.counted;
      if (std::fabs(row.error) <= pa::kTargetError) ++summary.within;
      if (worst == nullptr || std::fabs(row.error) > std::fabs(worst->error)) worst = &row;
    }
    out << pa::render_table(check, markdown) << "\n";  // in Markdown, a line right after a table is a row of it
    paragraph("model: the 1-rank compute plus the modelled communication; model, p-rank compute: the same "
              "communication on the measured no-sync step at those ranks, so its error is the communication "
              "model's own. error = model / measured - 1. all-reduce: sweep ranks:P, the measured sweep "
              "interpolated (P swept); fit ranks:P, the ring on that rank count's fitted link.");
    if (worst) summary.worst = pa::format_signed_percent(worst->error) + " (" + worst->point.entry->name + ")";
    paragraph("within " + fixed(pa::kTargetError * 100, 0) + "%: " + std::to_string(summary.within) + " of " +
              std::to_string(summary.counted) + " counted points (stable, not oversubscribed); " +
              std::to_string(rows.size()) + " points in all" + (worst ? "; largest counted error " + summary.worst : ""));
    return summary;
  };

  if (report) {
    heading("All-reduce fit: least squares t(n) = a + n*b over allreduce_" + backend +
            "/ranks:P/bytes:B; ring: a = 2(p-1)*alpha, b = 2(p-1)/p / B");
    fit_table(fits);
    paragraph("A bucket's all-reduce at a swept rank count: the sweep's measured times, linear in size between "
              "the measured sizes; the fit only outside the measured sizes, at rank counts without a sweep, and "
              "in the extrapolation.");

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

    heading("Gradients in backward: layers in reverse registration order, each for its share of the FLOPs");
    pa::Table order{{"model", "layer", "backward FLOPs/sample", "share", "ready at", "gradient bytes"}, {}};
    for (const std::string& model : models) {
      double total = 0, done = 0;
      for (const pa::Layer& layer : layers[model]) total += layer.backward_flops;
      for (const pa::Layer& layer : layers[model]) {
        done += layer.backward_flops;
        int64_t bytes = 0;
        for (int64_t b : layer.param_bytes) bytes += b;
        order.rows.push_back({model, layer.name, pb::bench::format_value(layer.backward_flops),
                              fixed(layer.backward_flops / total * 100, 1) + "%", fixed(done / total * 100, 1) + "%",
                              std::to_string(bytes)});
      }
    }
    out << pa::render_table(order, markdown);
    paragraph("backward FLOPs = 2x the forward's (linear: 2 x in x out per sample; convolution: 2 x weight size x "
              "output positions); a layer's gradients (bias included) are ready when its share of backward ends.");

    heading("Measured against the model: step time");
    // The report machine's cores, to tell ranks that shared them (0: unknown, none flagged).
    const auto cpus = report->context.find("num_cpus");
    const int64_t cores = cpus == report->context.end() ? 0 : std::atoll(cpus->second.c_str());
    std::map<std::string, LinkCheck> by_link;
    by_link[pa::kLoopbackLink] = check_table(pa::check_against_report(points, fits, gradients, backward_fraction, cores));
    // Shaped links (bench_ddp --links): each link's own sweep fit, the same 1-rank compute (one
    // rank has no link), and the points measured across that link's simulated hosts.
    std::vector<std::string> shaped = pa::report_links(*report, backend);
    shaped.erase(std::remove(shaped.begin(), shaped.end(), pa::kLoopbackLink), shaped.end());
    std::map<std::string, pa::Link> link_fitted;
    for (const std::string& link : shaped) {
      heading("Link " + link + ": all-reduce fit over allreduce_" + backend + "/ranks:P/bytes:B/link:" + link);
      std::map<int64_t, pa::AllreduceFit> link_fits;
      try {
        link_fits = pa::fit_report_sweep(*report, backend, link);
      } catch (const std::exception& error) {  // too few sizes, or a time that does not grow with size
        paragraph(std::string("no fit, so the model is not checked on this link: ") + error.what());
        continue;
      }
      fit_table(link_fits);
      link_fitted[link] = pa::link_of(pa::nearest_fit(link_fits, 2));
      heading("Link " + link + ": measured against the model: step time");
      by_link[link] = check_table(pa::check_against_report(points, link_fits, gradients, backward_fraction, cores, link));
    }
    if (!shaped.empty()) {
      heading("The model per link: counted points (stable, not oversubscribed) within " + fixed(pa::kTargetError * 100, 0) + "%");
      pa::Table table{{"link", "B (2-rank fit)", "alpha", "points", "counted", "within", "largest counted error"}, {}};
      std::vector<std::string> links{pa::kLoopbackLink};
      links.insert(links.end(), shaped.begin(), shaped.end());
      for (const std::string& link : links) {
        if (!by_link.count(link)) continue;
        const LinkCheck& c = by_link[link];
        const pa::Link l = link == pa::kLoopbackLink ? pa::link_of(pa::nearest_fit(fits, 2)) : link_fitted[link];
        table.rows.push_back({link, pb::bench::format_value(l.bandwidth_bytes_per_s / 1e9) + " GB/s",
                              fixed(l.alpha_s * 1e6, 1) + " us", std::to_string(c.rows), std::to_string(c.counted),
                              std::to_string(c.within), c.worst.empty() ? "-" : c.worst});
      }
      out << pa::render_table(table, markdown);
    }
  }

  // What to extrapolate: the user's model if given, else the report's models with a compute time.
  std::vector<Modelled> modelled;
  if (!step_text.empty()) {
    Modelled m{name, step_ms * 1e-3, {}, params_m * 1e6 * static_cast<double>(bytes_per_param), {}};
    m.buckets = pa::even_buckets(m.gradient_bytes, bucket_kib * 1024);
    modelled.push_back(m);
  } else {
    for (const std::string& model : models) {
      const pa::DdpPoint* compute = pa::compute_point(points, model, 1);
      if (compute == nullptr) continue;
      Modelled m{model, compute->step_s, pa::buckets_from_parameters(param_bytes[model], bucket_kib * 1024), 0,
                 pa::bucket_ready(gradients[model], bucket_kib * 1024)};
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
            fixed(backward_fraction * 100, 0) + "% of the compute, " +
            (step_text.empty() ? "gradients ready layer by layer by FLOPs" : "gradient bytes at a steady rate (no architecture)") +
            ", one link per rank; efficiency = compute / step");
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
          const pa::StepPrediction s = pa::predict_step({m.compute_s, backward_fraction, m.buckets, overlap, m.ready}, p, link);
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
