// Minimal SVG line plots for training and evaluation curves (no dependencies):
// one or more panels stacked vertically, each with its own y axis, a shared kind
// of x axis, ticks at round numbers and a legend. Non-finite points are skipped.
#pragma once
#include <string>
#include <vector>

namespace r1::eval {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length
};

struct PlotPanel {
  std::string title;
  std::string x_label;
  std::vector<PlotSeries> series;
  bool y_from_zero = false;  // include 0 in the y range
};

// The SVG document text.
std::string render_svg(const std::vector<PlotPanel>& panels, int width = 720, int panel_height = 260);
// Writes it with r1::write_file_atomic (base/atomic_file.hpp). Throws r1::Error.
void write_svg(const std::string& path, const std::vector<PlotPanel>& panels);

}  // namespace r1::eval
