#include "xpool/scheduler/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "xpool/scheduler/simulator.h"

namespace xpool::sched {
namespace {

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  if (std::fabs(v) >= 1e6 || (std::fabs(v) < 1e-2 && v != 0))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else if (std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A "nice" step (1, 2, 5 x 10^k) giving about `ticks` ticks over `range`.
double nice_step(double range, int ticks) {
  if (range <= 0) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

}  // namespace

std::string svg_plot(const std::string &title, const std::string &x_label,
                     const std::vector<double> &x, const std::vector<PlotPanel> &panels) {
  const double width = 900, panel_h = 260, left = 80, right = 180, top = 40, gap = 50;
  const double height = top + double(panels.size()) * (panel_h + gap) + 20;
  const double plot_w = width - left - right;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << width / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
    << escape(title) << "</text>\n";
  double x0 = x.empty() ? 0 : x.front(), x1 = x.empty() ? 1 : x.back();
  if (x1 <= x0) x1 = x0 + 1;
  auto px = [&](double v) { return left + (v - x0) / (x1 - x0) * plot_w; };
  for (size_t p = 0; p < panels.size(); ++p) {
    const PlotPanel &panel = panels[p];
    const double py0 = top + double(p) * (panel_h + gap);
    double ymax = 0;
    for (const auto &s : panel.series)
      for (double v : s.y) ymax = std::max(ymax, v);
    if (ymax <= 0) ymax = 1;
    const double ystep = nice_step(ymax, 5);
    ymax = std::ceil(ymax / ystep) * ystep;
    auto py = [&](double v) { return py0 + panel_h - v / ymax * panel_h; };
    // Axes, grid and ticks.
    o << "<g stroke=\"#ccc\" stroke-width=\"1\">\n";
    for (double v = 0; v <= ymax + 1e-9; v += ystep)
      o << "<line x1=\"" << left << "\" y1=\"" << py(v) << "\" x2=\"" << left + plot_w << "\" y2=\""
        << py(v) << "\"/>\n";
    o << "</g>\n";
    for (double v = 0; v <= ymax + 1e-9; v += ystep)
      o << "<text x=\"" << left - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">" << num(v)
        << "</text>\n";
    const double xstep = nice_step(x1 - x0, 8);
    for (double v = std::ceil(x0 / xstep) * xstep; v <= x1 + 1e-9; v += xstep)
      o << "<text x=\"" << px(v) << "\" y=\"" << py0 + panel_h + 16 << "\" text-anchor=\"middle\">"
        << num(v) << "</text>\n";
    o << "<line x1=\"" << left << "\" y1=\"" << py0 + panel_h << "\" x2=\"" << left + plot_w
      << "\" y2=\"" << py0 + panel_h << "\" stroke=\"black\"/>\n";
    o << "<line x1=\"" << left << "\" y1=\"" << py0 << "\" x2=\"" << left << "\" y2=\""
      << py0 + panel_h << "\" stroke=\"black\"/>\n";
    o << "<text transform=\"translate(" << 20 << "," << py0 + panel_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(panel.y_label) << "</text>\n";
    o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << py0 + panel_h + 34
      << "\" text-anchor=\"middle\">" << escape(x_label) << "</text>\n";
    for (size_t si = 0; si < panel.series.size(); ++si) {
      const PlotSeries &s = panel.series[si];
      o << "<polyline fill=\"none\" stroke=\"" << escape(s.color)
        << "\" stroke-width=\"1.5\" points=\"";
      for (size_t i = 0; i < s.y.size() && i < x.size(); ++i)
        o << px(x[i]) << ',' << py(s.y[i]) << ' ';
      o << "\"/>\n";
      const double ly = py0 + 16 + double(si) * 18;
      o << "<line x1=\"" << left + plot_w + 12 << "\" y1=\"" << ly - 4 << "\" x2=\""
        << left + plot_w + 32 << "\" y2=\"" << ly - 4 << "\" stroke=\"" << escape(s.color)
        << "\" stroke-width=\"2\"/>\n";
      o << "<text x=\"" << left + plot_w + 36 << "\" y=\"" << ly << "\">" << escape(s.label)
        << "</text>\n";
    }
  }
  o << "</svg>\n";
  return o.str();
}

std::string utilization_svg(const SimResult &r, const std::string &title) {
  std::vector<double> x;
  PlotSeries busy{"busy devices", "#1f77b4", {}}, norm{"throughput-weighted", "#2ca02c", {}},
      cap{"capacity", "#999999", {}}, queue{"waiting jobs", "#d62728", {}},
      running{"running jobs", "#9467bd", {}};
  for (const TimelinePoint &p : r.timeline) {
    x.push_back(p.t / 3600.0);
    busy.y.push_back(p.busy_devices);
    norm.y.push_back(p.normalized_rate);
    cap.y.push_back(r.capacity_devices);
    queue.y.push_back(double(p.queue_length));
    running.y.push_back(double(p.running));
  }
  return svg_plot(title, "time (hours)", x,
                  {PlotPanel{"devices", {cap, busy, norm}}, PlotPanel{"jobs", {queue, running}}});
}

}  // namespace xpool::sched
