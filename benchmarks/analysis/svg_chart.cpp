// SVG rendering: a fixed 760x460 canvas, "nice" linear ticks from zero on y, data-value or
// power-of-two ticks on x, colours from a palette readable on white; stacked bars on a canvas
// sized to their count and the length of their names.
#include "benchmarks/analysis/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>
#include <stdexcept>

#include "benchmarks/analysis/report_schema.h"

namespace pb::analysis {
namespace {

constexpr double kWidth = 760, kHeight = 460;
constexpr double kLeft = 90, kRight = 260, kTop = 50, kBottom = 70;  // room for labels and legend
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string num(double v) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << v;
  return out.str();
}

// Tick step of 1, 2 or 5 x 10^k giving about `count` ticks over [0, max].
double nice_step(double max, int count) {
  const double raw = max / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

// A stacked-bar chart, bars horizontal: one row per bar, its label on the left, its parts left to
// right in the chart's order, the total at its end; the value axis along the bottom.
std::string render_stacked_bars(const Chart& chart) {
  constexpr double kRow = 24, kThickness = 15, kPlotWidth = 460, kLegendWidth = 170, kBarTop = 50, kBarBottom = 60;
  size_t longest = 0;
  double v_max = 0;
  for (const Bar& bar : chart.bars) {
    if (bar.values.size() != chart.parts.size()) {
      throw std::invalid_argument("chart '" + chart.title + "': bar '" + bar.name + "' has " +
                                  std::to_string(bar.values.size()) + " values for " +
                                  std::to_string(chart.parts.size()) + " parts");
    }
    longest = std::max(longest, bar.name.size());
    double total = 0;
    for (double v : bar.values) total += std::isfinite(v) && v > 0 ? v : 0;
    v_max = std::max(v_max, total);
  }
  if (v_max <= 0) v_max = 1;
  const double left = std::clamp(20 + 6.6 * static_cast<double>(longest), 110.0, 420.0);
  const double width = left + kPlotWidth + kLegendWidth;
  const double plot_h = kRow * static_cast<double>(chart.bars.size());
  const double height = std::max(kBarTop + plot_h + kBarBottom, kBarTop + 20.0 * static_cast<double>(chart.parts.size()) + 30);
  const double step = nice_step(v_max * 1.05, 5);
  const double v_top = std::ceil(v_max * 1.05 / step) * step;
  auto px = [&](double v) { return left + std::clamp(v, 0.0, v_top) / v_top * kPlotWidth; };
  auto colour = [](size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(*kPalette))]; };

  std::ostringstream svg;
  svg << R"(<?xml version="1.0" encoding="UTF-8"?>)" << "\n"
      << R"(<svg xmlns="http://www.w3.org/2000/svg" width=")" << num(width) << R"(" height=")" << num(height)
      << R"(" viewBox="0 0 )" << num(width) << " " << num(height) << R"(" font-family="sans-serif" font-size="12">)" << "\n"
      << R"(<rect width="100%" height="100%" fill="white"/>)" << "\n"
      << R"(<text class="title" x=")" << num(width / 2) << R"(" y="28" text-anchor="middle" font-size="16" font-weight="bold">)"
      << xml_escape(chart.title) << "</text>\n";
  const double axis_y = kBarTop + plot_h;
  for (double v = 0; v <= v_top + step / 2; v += step) {
    svg << R"(<line x1=")" << num(px(v)) << R"(" y1=")" << num(kBarTop) << R"(" x2=")" << num(px(v)) << R"(" y2=")"
        << num(axis_y) << R"(" stroke="#e0e0e0"/>)"
        << R"(<text x=")" << num(px(v)) << R"(" y=")" << num(axis_y + 16) << R"(" text-anchor="middle">)"
        << xml_escape(schema::format_value(v)) << "</text>\n";
  }
  svg << R"(<g class="axes" stroke="#444" fill="none">)"
      << R"(<line x1=")" << num(left) << R"(" y1=")" << num(axis_y) << R"(" x2=")" << num(left + kPlotWidth)
      << R"(" y2=")" << num(axis_y) << R"("/>)"
      << R"(<line x1=")" << num(left) << R"(" y1=")" << num(kBarTop) << R"(" x2=")" << num(left) << R"(" y2=")"
      << num(axis_y) << R"("/></g>)" << "\n"
      << R"(<text class="x-label" x=")" << num(left + kPlotWidth / 2) << R"(" y=")" << num(axis_y + 38)
      << R"(" text-anchor="middle">)" << xml_escape(chart.y_label) << "</text>\n"
      << R"(<text class="y-label" x=")" << num(left - 6) << R"(" y=")" << num(kBarTop - 6) << R"(" text-anchor="end" font-style="italic">)"
      << xml_escape(chart.x_label) << "</text>\n";
  for (size_t b = 0; b < chart.bars.size(); ++b) {
    const Bar& bar = chart.bars[b];
    const double y = kBarTop + kRow * static_cast<double>(b) + (kRow - kThickness) / 2;
    double total = 0;
    for (double v : bar.values) total += std::isfinite(v) && v > 0 ? v : 0;
    svg << R"(<g class="bar" data-name=")" << xml_escape(bar.name) << R"(">)"
        << R"(<text class="bar-label" x=")" << num(left - 6) << R"(" y=")" << num(y + kThickness - 3)
        << R"(" text-anchor="end">)" << xml_escape(bar.name) << "</text>\n";
    double at = 0;
    for (size_t p = 0; p < chart.parts.size(); ++p) {
      const double v = std::isfinite(bar.values[p]) && bar.values[p] > 0 ? bar.values[p] : 0;
      std::ostringstream share;
      share << std::fixed << std::setprecision(1) << (total > 0 ? 100 * v / total : 0.0) << "%";
      svg << R"(<rect class="segment" data-part=")" << xml_escape(chart.parts[p]) << R"(" x=")" << num(px(at))
          << R"(" y=")" << num(y) << R"(" width=")" << num(px(at + v) - px(at)) << R"(" height=")" << num(kThickness)
          << R"(" fill=")" << colour(p) << R"("><title>)"
          << xml_escape(bar.name + ": " + chart.parts[p] + " " + schema::format_value(v) + " " + chart.y_label + " (" +
                        share.str() + ")")
          << "</title></rect>";
      at += v;
    }
    svg << R"(<text class="total" x=")" << num(px(total) + 4) << R"(" y=")" << num(y + kThickness - 3) << R"(">)"
        << xml_escape(schema::format_value(total)) << "</text></g>\n";
  }
  const double lx = left + kPlotWidth + 20;
  for (size_t p = 0; p < chart.parts.size(); ++p) {
    const double ly = kBarTop + 20.0 * static_cast<double>(p);
    svg << R"(<rect x=")" << num(lx) << R"(" y=")" << num(ly) << R"(" width="14" height="14" fill=")" << colour(p)
        << R"("/><text class="legend" x=")" << num(lx + 20) << R"(" y=")" << num(ly + 11) << R"(">)"
        << xml_escape(chart.parts[p]) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_svg(const Chart& chart) {
  if (!chart.bars.empty()) return render_stacked_bars(chart);
  std::set<double> xs;
  double y_max = 0;
  for (const Series& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (chart.log_x && x <= 0)) continue;
      xs.insert(x);
      y_max = std::max(y_max, y);
    }
  }
  if (xs.empty()) throw std::invalid_argument("chart '" + chart.title + "' has no data points");
  if (y_max <= 0) y_max = 1;
  const double step = nice_step(y_max * 1.05, 5);
  const double y_top = std::ceil(y_max * 1.05 / step) * step;
  auto tx = [&](double x) { return chart.log_x ? std::log2(x) : x; };
  double x_lo = tx(*xs.begin()), x_hi = tx(*xs.rbegin());
  if (x_hi == x_lo) x_hi = x_lo + 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (tx(x) - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double y) { return kTop + plot_h - std::clamp(y, 0.0, y_top) / y_top * plot_h; };

  std::ostringstream svg;
  svg << R"(<?xml version="1.0" encoding="UTF-8"?>)" << "\n"
      << R"(<svg xmlns="http://www.w3.org/2000/svg" width=")" << kWidth << R"(" height=")" << kHeight
      << R"(" viewBox="0 0 )" << kWidth << " " << kHeight << R"(" font-family="sans-serif" font-size="12">)" << "\n"
      << R"(<rect width="100%" height="100%" fill="white"/>)" << "\n"
      // Centred on the whole image, not the plot: long titles would run off its left edge.
      << R"(<text class="title" x=")" << num(kWidth / 2) << R"(" y="28" text-anchor="middle" font-size="16" font-weight="bold">)"
      << xml_escape(chart.title) << "</text>\n";
  // Axes, grid and ticks.
  svg << R"(<g class="axes" stroke="#444" fill="none">)"
      << R"(<line x1=")" << num(kLeft) << R"(" y1=")" << num(kTop + plot_h) << R"(" x2=")" << num(kLeft + plot_w)
      << R"(" y2=")" << num(kTop + plot_h) << R"("/>)"
      << R"(<line x1=")" << num(kLeft) << R"(" y1=")" << num(kTop) << R"(" x2=")" << num(kLeft) << R"(" y2=")"
      << num(kTop + plot_h) << R"("/></g>)" << "\n";
  for (double y = 0; y <= y_top + step / 2; y += step) {
    svg << R"(<line x1=")" << num(kLeft) << R"(" y1=")" << num(py(y)) << R"(" x2=")" << num(kLeft + plot_w)
        << R"(" y2=")" << num(py(y)) << R"(" stroke="#e0e0e0"/>)"
        << R"(<text x=")" << num(kLeft - 6) << R"(" y=")" << num(py(y) + 4) << R"(" text-anchor="end">)"
        << xml_escape(schema::format_value(y)) << "</text>\n";
  }
  std::vector<double> x_ticks(xs.begin(), xs.end());
  if (x_ticks.size() > 12) {  // thin out: keep about ten, always the ends
    std::vector<double> thinned;
    const size_t every = (x_ticks.size() + 9) / 10;
    for (size_t i = 0; i < x_ticks.size(); i += every) thinned.push_back(x_ticks[i]);
    if (thinned.back() != x_ticks.back()) thinned.push_back(x_ticks.back());
    x_ticks = thinned;
  }
  double last_label = -1e9;
  for (double x : x_ticks) {
    if (px(x) - last_label < 40) continue;  // labels would overlap (uneven steps on a log axis)
    last_label = px(x);
    svg << R"(<line x1=")" << num(px(x)) << R"(" y1=")" << num(kTop + plot_h) << R"(" x2=")" << num(px(x))
        << R"(" y2=")" << num(kTop + plot_h + 5) << R"(" stroke="#444"/>)"
        << R"(<text x=")" << num(px(x)) << R"(" y=")" << num(kTop + plot_h + 18) << R"(" text-anchor="middle">)"
        << xml_escape(schema::format_value(x)) << "</text>\n";
  }
  svg << R"(<text class="x-label" x=")" << num(kLeft + plot_w / 2) << R"(" y=")" << num(kHeight - 25)
      << R"(" text-anchor="middle">)" << xml_escape(chart.x_label) << "</text>\n"
      << R"(<text class="y-label" x="20" y=")" << num(kTop + plot_h / 2) << R"(" text-anchor="middle" transform="rotate(-90 20 )"
      << num(kTop + plot_h / 2) << ")\">" << xml_escape(chart.y_label) << "</text>\n";
  // Series and legend.
  size_t color = 0;
  double legend_y = kTop + 10;
  for (const Series& s : chart.series) {
    const std::string stroke = s.reference ? "#888888" : kPalette[color++ % (sizeof(kPalette) / sizeof(*kPalette))];
    std::ostringstream points;
    size_t drawn = 0;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (chart.log_x && x <= 0)) continue;
      points << (drawn++ ? " " : "") << num(px(x)) << "," << num(py(y));
    }
    if (drawn == 0) continue;
    svg << "<polyline class=\"" << (s.reference ? "reference" : "series") << "\" data-name=\"" << xml_escape(s.name)
        << "\" fill=\"none\" stroke=\"" << stroke << "\" stroke-width=\"2\""
        << (s.reference ? " stroke-dasharray=\"6 4\"" : "") << " points=\"" << points.str() << "\"/>\n";
    if (!s.reference) {
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(x) || !std::isfinite(y) || (chart.log_x && x <= 0)) continue;
        svg << R"(<circle class="point" cx=")" << num(px(x)) << R"(" cy=")" << num(py(y)) << R"(" r="3.5" fill=")"
            << stroke << R"("><title>)" << xml_escape(s.name + ": " + schema::format_value(y)) << "</title></circle>\n";
      }
    }
    const double lx = kWidth - kRight + 15;
    svg << R"(<line x1=")" << num(lx) << R"(" y1=")" << num(legend_y) << R"(" x2=")" << num(lx + 24) << R"(" y2=")"
        << num(legend_y) << "\" stroke=\"" << stroke << "\" stroke-width=\"2\""
        << (s.reference ? " stroke-dasharray=\"6 4\"" : "") << "/>"
        << R"(<text class="legend" x=")" << num(lx + 30) << R"(" y=")" << num(legend_y + 4) << R"(">)"
        << xml_escape(s.name) << "</text>\n";
    legend_y += 20;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace pb::analysis
