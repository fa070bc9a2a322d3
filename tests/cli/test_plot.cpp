// `cimkit plot`: JSON chart descriptions to PNG, and the errors for bad descriptions.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/scratch.hpp"
#include "cli/commands.hpp"

namespace {

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string png_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(8, '\0');
  in.read(&head[0], 8);
  return head;
}

TEST(PlotCommand, PanelsWithLinesDotsAndGapsBecomeOnePng) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "plot_ok");
  const std::string spec = write(dir, "spec.json", R"({"panels": [
    {"title": "a", "x_label": "episode", "y_label": "reward", "width": 400, "height": 300, "y_min": 0,
     "series": [{"name": "line", "x": [0, 1, 2, 3], "y": [0.1, null, 0.3, 0.4]},
                {"name": "dots", "x": [0, 1], "y": [1, 2], "style": "dots", "color": [10, 20, 30]}]},
    {"title": "b", "series": [{"name": "s", "x": [1, 2], "y": [3, 4], "color": 2}]}]})");
  std::ostringstream out;
  EXPECT_EQ(cimkit::cli::plot_command(spec, dir + "/chart.png", out), 0);
  EXPECT_EQ(png_signature(dir + "/chart.png"), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_NE(out.str().find("2 panels"), std::string::npos);
  // A single panel without the "panels" wrapper.
  const std::string one = write(dir, "one.json", R"({"series": [{"name": "s", "x": [1, 2], "y": [3, 4]}]})");
  EXPECT_EQ(cimkit::cli::plot_command(one, dir + "/one.png", out), 0);
}

TEST(PlotCommand, BadDescriptionsNameTheFileAndTheKey) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "plot_bad");
  auto error = [&](const std::string& text) {
    const std::string spec = write(dir, "bad.json", text);
    std::ostringstream out;
    return cimkit::testing::error_of([&] { cimkit::cli::plot_command(spec, dir + "/x.png", out); });
  };
  std::string e = error(R"({"panels": [{"series": [{"name": "s", "x": [1, 2], "y": [3]}]}]})");
  EXPECT_NE(e.find("bad.json"), std::string::npos) << e;
  EXPECT_NE(e.find("panels[0].series[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("as long"), std::string::npos) << e;
  e = error(R"({"panels": [{"series": [{"name": "s", "x": [1], "y": [3], "colour": 1}]}]})");
  EXPECT_NE(e.find("panels[0].series[0].colour: unknown key; allowed: name, x, y, color, style"), std::string::npos) << e;
  e = error(R"({"series": [{"name": "s", "x": [1], "y": ["3"]}]})");
  EXPECT_NE(e.find("(panel).series[0].y[0]: expected a number or null"), std::string::npos) << e;
  e = error(R"({"series": [{"name": "s", "x": [1], "y": [3], "color": [1, 2, 300]}]})");
  EXPECT_NE(e.find("color: expected [r, g, b]"), std::string::npos) << e;
  e = error(R"({"series": [{"name": "s", "x": [1], "y": [3], "style": "bars"}]})");
  EXPECT_NE(e.find("'bars' is not a style; allowed: line, dots"), std::string::npos) << e;
  e = error(R"({"width": 10, "series": [{"name": "s", "x": [1], "y": [3]}]})");
  EXPECT_NE(e.find("(panel).width: expected pixels in [160, 8192]"), std::string::npos) << e;
  e = error(R"({"panels": []})");
  EXPECT_NE(e.find("panels: expected a non-empty array"), std::string::npos) << e;
  e = error("{not json");
  EXPECT_NE(e.find("is not valid JSON"), std::string::npos) << e;
  e = cimkit::testing::error_of([&] {
    std::ostringstream out;
    cimkit::cli::plot_command(dir + "/missing.json", dir + "/x.png", out);
  });
  EXPECT_NE(e.find("missing.json"), std::string::npos) << e;
}

}  // namespace
