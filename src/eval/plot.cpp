#include "eval/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>

#include "base/atomic_file.hpp"
#include "base/error.hpp"

namespace r1::eval {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// Round tick positions covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int target = 5) {
  const double span = hi - lo;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string num(double v) {
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) return fmt::format("{:.2g}", v);
  return fmt::format("{:g}", std::round(v * 1e4) / 1e4);
}

}  // namespace

std::string render_svg(const std::vector<PlotPanel>& panels, int width, int panel_height) {
  const int ml = 64, mr = 150, mt = 28, mb = 40;
  const int height = static_cast<int>(panels.size()) * panel_height;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  for (size_t pi = 0; pi < panels.size(); ++pi) {
    const PlotPanel& p = panels[pi];
    const double top = static_cast<double>(pi) * panel_height + mt;
    const double pw = width - ml - mr, ph = panel_height - mt - mb;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& se : p.series)
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i)
        if (std::isfinite(se.x[i]) && std::isfinite(se.y[i])) {
          x0 = std::min(x0, se.x[i]), x1 = std::max(x1, se.x[i]);
          y0 = std::min(y0, se.y[i]), y1 = std::max(y1, se.y[i]);
        }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (p.y_from_zero) y0 = std::min(y0, 0.0), y1 = std::max(y1, 0.0);
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    const double pad = (y1 - y0) * 0.05;
    if (!(p.y_from_zero && y0 == 0)) y0 -= pad;
    y1 += pad;
    auto X = [&](double v) { return ml + (v - x0) / (x1 - x0) * pw; };
    auto Y = [&](double v) { return top + ph - (v - y0) / (y1 - y0) * ph; };
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-weight=\"bold\">{}</text>\n", ml, top - 10, esc(p.title));
    s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#888\"/>\n",
                     ml, top, pw, ph);
    for (double t : ticks(y0, y1)) {
      s += fmt::format("<line x1=\"{}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", ml, ml + pw,
                       Y(t), Y(t));
      s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", ml - 4, Y(t) + 4, num(t));
    }
    for (double t : ticks(x0, x1))
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", X(t), top + ph + 16,
                       num(t));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", ml + pw / 2, top + ph + 32,
                     esc(p.x_label));
    for (size_t si = 0; si < p.series.size(); ++si) {
      const PlotSeries& se = p.series[si];
      const char* color = kColors[si % std::size(kColors)];
      std::string pts;
      size_t n_pts = 0;
      for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i)
        if (std::isfinite(se.x[i]) && std::isfinite(se.y[i])) {
          pts += fmt::format("{:.1f},{:.1f} ", X(se.x[i]), Y(se.y[i]));
          ++n_pts;
        }
      if (n_pts == 1) {
        s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", pts.substr(0, pts.find(',')),
                         pts.substr(pts.find(',') + 1, pts.find(' ') - pts.find(',') - 1), color);
      } else if (n_pts > 1) {
        s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", color, pts);
      }
      const double ly = top + 14 + 18.0 * static_cast<double>(si);
      s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       ml + pw + 10, ml + pw + 30, ly - 4, ly - 4, color);
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", ml + pw + 34, ly, esc(se.name));
    }
  }
  return s + "</svg>\n";
}

void write_svg(const std::string& path, const std::vector<PlotPanel>& panels) {
  write_file_atomic(path, render_svg(panels));
}

}  // namespace r1::eval
