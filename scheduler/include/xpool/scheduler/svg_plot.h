// A small SVG line plot (polylines, axes, ticks, labels) written by hand: no plotting
// dependency.
#pragma once

#include <string>
#include <vector>

namespace xpool::sched {

struct PlotSeries {
  std::string label;
  std::string color;  // any SVG color
  std::vector<double> y;
};

struct PlotPanel {
  std::string y_label;
  std::vector<PlotSeries> series;
};

// Panels stacked vertically, sharing the x axis.
std::string svg_plot(const std::string &title, const std::string &x_label,
                     const std::vector<double> &x, const std::vector<PlotPanel> &panels);

// Utilization (busy and throughput-weighted devices) and queue length over time.
struct SimResult;
std::string utilization_svg(const SimResult &result, const std::string &title);

}  // namespace xpool::sched
