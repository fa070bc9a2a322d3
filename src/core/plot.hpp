// PNG line charts (libpng), for training curves and sweep results written next to a run.
//
// A chart is a plot area with a frame, about five "nice" ticks per axis (steps of 1, 2 or 5
// times a power of ten) with numeric labels and light grid lines, the axis labels, a title, a
// legend (in the corner of the plot area that hides the least of the lines) and one anti-aliased
// polyline per series. Text uses a 5x7 bitmap font embedded in plot.cpp (ASCII 32-126; other
// bytes print as '?'), scaled by an integer factor that grows with the chart size.
//
// Non-finite points (NaN, ±inf in x or y) are skipped and break the line; a point with no finite
// neighbour is drawn as a dot. Files are written atomically: `<path>.tmp`, fsync, rename.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cimkit {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

struct Series {
  std::string name;        // legend entry
  std::vector<double> xs;  // same length as ys
  std::vector<double> ys;
  Rgb color;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width_px = 800;   // in [160, 8192]
  int height_px = 500;  // in [120, 8192]
  std::vector<Series> series;
  // Axis ranges. Not given: the finite data's extent widened to whole tick steps (an empty or
  // one-value extent is widened to [v - 1, v + 1], or [0, 1] when there is no finite point).
  std::optional<double> x_min, x_max, y_min, y_max;
};

// Writes `chart` as an RGB PNG of width_px x height_px. DataError naming `path` for a chart
// without series, a series without points, xs and ys of different lengths, a bad size or range,
// or a file that cannot be written.
void write_line_chart_png(const std::string& path, const LineChart& chart);

// Writes `panels` side by side in one PNG: the image is the sum of their widths wide and as high
// as the tallest. Same checks as write_line_chart_png, per panel.
void write_line_charts_png(const std::string& path, const std::vector<LineChart>& panels);

// A scalar field as a PNG heat map (src/core/heatmap.cpp): `values` is [rows, cols] row-major
// (row 0 at the top, north), each cell drawn as a block of pixels (at least 1, chosen so the map
// is about 512 px on its longer side), coloured by a perceptual ramp (viridis key points,
// linearly interpolated) from its minimum to its maximum, with the title above and a colour bar
// on the right with about five labelled ticks in `unit`. With a physical extent (width_mm,
// height_mm > 0) the map gets x and y axes in mm, the origin at the south-west corner offset by
// (x0_mm, y0_mm) (a cropped view of a larger die). `marks` outline cells (e.g. hotspots) in
// white; `labels` put a text in a white box beside a cell; `note` is a line under the map.
// DataError naming `path` for an empty or mis-sized grid, non-finite values, or a file that
// cannot be written.
struct HeatLabel {
  int row = 0, col = 0;
  std::string text;
};
struct HeatMap {
  std::string title;
  std::string unit;  // colour-bar label, e.g. "K"
  int rows = 0, cols = 0;
  std::vector<double> values;
  std::vector<std::pair<int, int>> marks;  // (row, col)
  double width_mm = 0, height_mm = 0;      // extent of the grid; 0: no axes
  double x0_mm = 0, y0_mm = 0;             // axis value at the grid's west and south edges
  std::vector<HeatLabel> labels;
  std::string note;
};
void write_heatmap_png(const std::string& path, const HeatMap& map);
// The ramp itself, for t in [0, 1].
Rgb heat_color(double t);

// A colour-blind-safe palette (Okabe-Ito without black and yellow) for series i.
Rgb palette_color(size_t i);

}  // namespace cimkit
