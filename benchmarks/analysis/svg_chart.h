// Line charts and stacked-bar charts as self-contained SVG, drawn by this project (no plotting
// program needed): title, labelled axes with units, ticks, a legend; one polyline and one marker
// per point per series, or one bar per setting made of one segment per part.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pb::analysis {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
  bool reference = false;  // a dashed reference line (ideal scaling, best bandwidth), not data
};

// One bar of a stacked-bar chart: a setting, and its value for each of the chart's parts.
struct Bar {
  std::string name;            // the setting, e.g. "workers 2, threads 1"
  std::vector<double> values;  // one per Chart::parts, in that order; not finite or negative: 0
};

struct Chart {
  std::string title;
  std::string x_label;  // with its unit, e.g. "loader workers" or "copy size (bytes)"
  std::string y_label;  // e.g. "samples/s"
  bool log_x = false;   // for sizes spanning decades
  std::vector<Series> series;
  // A stacked-bar chart instead of lines when `bars` is not empty: one bar per setting, each the
  // stack of its `parts` (e.g. the phases of a training step) in this order. x_label then names
  // the settings and y_label the values' unit ("ms per epoch"). Bars are drawn horizontally, one
  // row per setting, so that long setting names stay readable.
  std::vector<std::string> parts;
  std::vector<Bar> bars;
};

// The SVG document. Line charts: data series are <polyline class="series">, reference lines
// <polyline class="reference">, every data point a <circle class="point">. Stacked bars: every bar
// is a <g class="bar" data-name="..."> holding one <rect class="segment" data-part="..."> per
// part (zero-width where the value is 0), with the value in its <title>.
// Throws std::invalid_argument("chart '<title>' has no data points") when there is nothing to
// draw, and ("chart '<title>': bar '<name>' has N values for M parts") for a malformed bar.
std::string render_svg(const Chart& chart);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace pb::analysis
