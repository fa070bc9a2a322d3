// core/plot: PNG line charts written with libpng, decoded back with libpng.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "core/plot.hpp"
#include "fixtures.hpp"

using namespace cimkit;
using cimkit::train_test::decode_png;
using cimkit::train_test::fresh_dir;
using cimkit::train_test::has_png_signature;

namespace {

const Rgb kRed{220, 20, 30}, kBlue{10, 40, 200};

LineChart two_flat_lines() {
  LineChart c;
  c.title = "Flat lines";
  c.x_label = "x";
  c.y_label = "value";
  c.y_min = 0.0, c.y_max = 1.0;
  std::vector<double> xs;
  for (int i = 0; i <= 10; ++i) xs.push_back(i);
  c.series.push_back({"low", xs, std::vector<double>(xs.size(), 0.25), kRed});
  c.series.push_back({"high", xs, std::vector<double>(xs.size(), 0.75), kBlue});
  return c;
}

// Rows of column x whose pixel is exactly `c`.
std::vector<int> rows_with(const train_test::DecodedPng& img, int x, Rgb c) {
  std::vector<int> rows;
  for (int y = 0; y < img.height; ++y) {
    const auto p = img.at(x, y);
    if (p[0] == c.r && p[1] == c.g && p[2] == c.b) rows.push_back(y);
  }
  return rows;
}

bool is_black(const train_test::DecodedPng& img, int x, int y) {
  return img.at(x, y) == std::array<uint8_t, 3>{0, 0, 0};
}

// The frame's rows crossing column x: black over 21 pixels around x (text and ticks are not).
std::vector<int> frame_rows(const train_test::DecodedPng& img, int x) {
  std::vector<int> rows;
  for (int y = 0; y < img.height; ++y) {
    bool all = true;
    for (int k = -10; k <= 10 && all; ++k) all = is_black(img, x + k, y);
    if (all) rows.push_back(y);
  }
  return rows;
}

// The frame's columns crossing row y.
std::vector<int> frame_cols(const train_test::DecodedPng& img, int y) {
  std::vector<int> cols;
  for (int x = 0; x < img.width; ++x) {
    bool all = true;
    for (int k = -10; k <= 10 && all; ++k) all = is_black(img, x, y + k);
    if (all) cols.push_back(x);
  }
  return cols;
}

}  // namespace

TEST(PlotPng, WritesAPngOfTheDeclaredSize) {
  const std::string path = fresh_dir("plot_size") + "/chart.png";
  LineChart c = two_flat_lines();
  c.width_px = 640, c.height_px = 360;
  write_line_chart_png(path, c);
  EXPECT_TRUE(has_png_signature(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const auto img = decode_png(path);
  EXPECT_EQ(img.width, 640);
  EXPECT_EQ(img.height, 360);
  EXPECT_EQ(img.at(0, 0), (std::array<uint8_t, 3>{255, 255, 255}));  // background
}

// A horizontal series is drawn in its exact colour at the height its value maps to (y fixed to
// [0, 1] between the frame's bottom and top rows).
TEST(PlotPng, HorizontalSeriesHasItsColourAtItsHeight) {
  const std::string path = fresh_dir("plot_colour") + "/chart.png";
  write_line_chart_png(path, two_flat_lines());
  const auto img = decode_png(path);
  ASSERT_EQ(img.width, 800);
  ASSERT_EQ(img.height, 500);
  const int x = img.width / 2;
  const std::vector<int> red = rows_with(img, x, kRed), blue = rows_with(img, x, kBlue);
  ASSERT_FALSE(red.empty());
  ASSERT_FALSE(blue.empty());
  EXPECT_LE(red.size(), 4u);  // a line about 2 px wide, not a filled area
  EXPECT_LE(blue.size(), 4u);
  // The frame's rows bound the plot area: top = value 1, bottom = value 0.
  const std::vector<int> black = frame_rows(img, x);
  ASSERT_EQ(black.size(), 2u);
  const double top = black.front(), bottom = black.back();
  const double red_y = (red.front() + red.back()) / 2.0,
               blue_y = (blue.front() + blue.back()) / 2.0;
  EXPECT_NEAR((bottom - red_y) / (bottom - top), 0.25, 0.01);
  EXPECT_NEAR((bottom - blue_y) / (bottom - top), 0.75, 0.01);
}

TEST(PlotPng, NonFinitePointsBreakTheLine) {
  const std::string path = fresh_dir("plot_nan") + "/chart.png";
  LineChart c;
  c.y_min = 0.0, c.y_max = 1.0, c.x_min = 0.0, c.x_max = 10.0;
  std::vector<double> xs, ys;
  for (int i = 0; i <= 10; ++i) xs.push_back(i), ys.push_back(i >= 4 && i <= 6 ? NAN : 0.5);
  ys[1] = INFINITY;  // isolated point 0 is drawn as a dot, 2-3 as a segment
  c.series.push_back({"", xs, ys, kRed});
  write_line_chart_png(path, c);
  const auto img = decode_png(path);
  // Find the plot area from the frame on the middle row.
  const std::vector<int> frame = frame_cols(img, img.height / 2);
  ASSERT_EQ(frame.size(), 2u);
  const double left = frame.front(), right = frame.back();
  auto col = [&](double xv) { return int(std::lround(left + xv / 10.0 * (right - left))); };
  EXPECT_FALSE(rows_with(img, col(2.5), kRed).empty());      // segment 2-3
  EXPECT_FALSE(rows_with(img, col(8.5), kRed).empty());      // segment 8-9
  EXPECT_TRUE(rows_with(img, col(5.0), kRed).empty());       // gap of NaNs
  EXPECT_TRUE(rows_with(img, col(1.0), kRed).empty());       // the infinite point
  EXPECT_FALSE(rows_with(img, col(0.0) + 1, kRed).empty());  // the dot at x = 0
}

TEST(PlotPng, PanelsSitSideBySide) {
  const std::string path = fresh_dir("plot_panels") + "/chart.png";
  LineChart a = two_flat_lines(), b = two_flat_lines();
  a.width_px = 400, b.width_px = 500, b.height_px = 300;
  write_line_charts_png(path, {a, b});
  const auto img = decode_png(path);
  EXPECT_EQ(img.width, 900);
  EXPECT_EQ(img.height, 500);
  EXPECT_FALSE(rows_with(img, 200, kRed).empty());
  EXPECT_FALSE(rows_with(img, 650, kRed).empty());
}

TEST(PlotPng, AllNaNSeriesAndConstantDataStillDraw) {
  const std::string path = fresh_dir("plot_degenerate") + "/chart.png";
  LineChart c;
  c.series.push_back({"nan", {1, 2}, {NAN, NAN}, kRed});
  c.series.push_back({"one", {3}, {7}, kBlue});
  write_line_chart_png(path, c);
  EXPECT_TRUE(has_png_signature(path));
}

TEST(PlotPng, BadChartsNameTheFile) {
  const std::string dir = fresh_dir("plot_errors");
  const std::string path = dir + "/chart.png";
  auto message = [&](const LineChart& c, const std::string& p) -> std::string {
    try {
      write_line_chart_png(p, c);
    } catch (const DataError& e) {
      return e.what();
    }
    return "(no error)";
  };
  LineChart empty;
  empty.title = "T";
  EXPECT_EQ(message(empty, path), path + ": chart 'T' has no series");
  LineChart no_points;
  no_points.series.push_back({"s", {}, {}, kRed});
  EXPECT_EQ(message(no_points, path), path + ": chart: series 's' has no points");
  LineChart mismatch;
  mismatch.series.push_back({"s", {1, 2, 3}, {1, 2}, kRed});
  EXPECT_EQ(message(mismatch, path), path + ": chart: series 's' has 3 x values but 2 y values");
  LineChart bad_range = two_flat_lines();
  bad_range.title = "";
  bad_range.y_min = 2.0;
  EXPECT_EQ(message(bad_range, path),
            path + ": chart: y range [2, 1] is not an interval of finite numbers");
  const std::string nowhere = dir + "/missing_dir/chart.png";
  EXPECT_EQ(message(two_flat_lines(), nowhere).rfind(nowhere + ": cannot open for writing: ", 0),
            0u);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// With fixed ranges, a segment to a point far outside keeps its visible part.
TEST(PlotPng, FixedRangesClipFarPoints) {
  const std::string path = fresh_dir("plot_clip") + "/chart.png";
  LineChart c;
  c.x_min = 0.0, c.x_max = 1.0, c.y_min = 0.0, c.y_max = 1.0;
  c.series.push_back({"", {-1e300, 0.5}, {0.5, 0.5}, kRed});
  write_line_chart_png(path, c);
  const auto img = decode_png(path);
  const std::vector<int> frame = frame_cols(img, img.height / 2 - 40);
  ASSERT_EQ(frame.size(), 2u);
  const int x = int(std::lround(frame[0] + 0.25 * (frame[1] - frame[0])));
  EXPECT_FALSE(rows_with(img, x, kRed).empty());
  const int beyond = int(std::lround(frame[0] + 0.75 * (frame[1] - frame[0])));
  EXPECT_TRUE(rows_with(img, beyond, kRed).empty());
}
