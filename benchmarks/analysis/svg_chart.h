// Line charts as self-contained SVG, drawn by this project (no plotting program needed): title,
// labelled axes with units, ticks, a legend, one polyline and one marker per point per series.
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

struct Chart {
  std::string title;
  std::string x_label;  // with its unit, e.g. "loader workers" or "copy size (bytes)"
  std::string y_label;  // e.g. "samples/s"
  bool log_x = false;   // for sizes spanning decades
  std::vector<Series> series;
};

// The SVG document. Data series are <polyline class="series">, reference lines
// <polyline class="reference">, every data point a <circle class="point">.
// Throws std::invalid_argument("chart '<title>' has no data points") when there is nothing to draw.
std::string render_svg(const Chart& chart);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace pb::analysis
