// `cimkit plot SPEC.json OUT.png`: line charts from a JSON description, for the scripts that write
// the results pages (docs/results/) on machines without a Python plotting library. The charts
// are core/plot.hpp's: one panel, or several side by side.
//
// SPEC: {"panels": [PANEL, ...]} or one PANEL, where PANEL is
//   {"title", "x_label", "y_label": strings; "width", "height": pixels;
//    "x_min", "x_max", "y_min", "y_max": numbers (optional);
//    "series": [{"name": string, "x": [numbers], "y": [numbers],
//                "color": [r, g, b] or a palette index (default: its position),
//                "style": "line" (default) or "dots"}]}
// A null in x or y is a gap (the line breaks there). Every other value is checked, and an error
// names the file, the key and what is allowed.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/plot.hpp"

namespace cimkit::cli {
namespace {

using nlohmann::json;

struct SpecReader {
  std::string file;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError(file, fmt::format("{}: {}", key, what));
  }

  std::string text(const json& o, const char* name, const std::string& key) const {
    if (!o.contains(name)) return "";
    if (!o[name].is_string()) fail(key + "." + name, "expected a string");
    return o[name].get<std::string>();
  }

  std::optional<double> number(const json& o, const char* name, const std::string& key) const {
    if (!o.contains(name) || o[name].is_null()) return std::nullopt;
    if (!o[name].is_number()) fail(key + "." + name, "expected a number");
    return o[name].get<double>();
  }

  std::vector<double> values(const json& o, const char* name, const std::string& key) const {
    if (!o.contains(name) || !o[name].is_array() || o[name].empty()) {
      fail(key + "." + name, "expected a non-empty array of numbers (null for a gap)");
    }
    std::vector<double> v;
    for (size_t i = 0; i < o[name].size(); ++i) {
      const json& e = o[name][i];
      if (e.is_null()) {
        v.push_back(std::numeric_limits<double>::quiet_NaN());
      } else if (e.is_number()) {
        v.push_back(e.get<double>());
      } else {
        fail(fmt::format("{}.{}[{}]", key, name, i), "expected a number or null");
      }
    }
    return v;
  }

  Rgb color(const json& s, size_t index, const std::string& key) const {
    if (!s.contains("color")) return palette_color(index);
    const json& c = s["color"];
    if (c.is_number_integer() && c.get<int64_t>() >= 0) return palette_color(c.get<size_t>());
    if (c.is_array() && c.size() == 3) {
      Rgb rgb;
      uint8_t* parts[3] = {&rgb.r, &rgb.g, &rgb.b};
      for (size_t i = 0; i < 3; ++i) {
        if (!c[i].is_number_integer() || c[i].get<int64_t>() < 0 || c[i].get<int64_t>() > 255) {
          fail(key + ".color", "expected [r, g, b] with integers in [0, 255], or a palette index >= 0");
        }
        *parts[i] = static_cast<uint8_t>(c[i].get<int64_t>());
      }
      return rgb;
    }
    fail(key + ".color", "expected [r, g, b] with integers in [0, 255], or a palette index >= 0");
  }

  Series series(const json& s, size_t index, const std::string& key) const {
    if (!s.is_object()) fail(key, "expected an object with name, x, y");
    for (const auto& item : s.items()) {
      const std::string& k = item.key();
      if (k != "name" && k != "x" && k != "y" && k != "color" && k != "style") {
        fail(key + "." + k, "unknown key; allowed: name, x, y, color, style");
      }
    }
    Series out{text(s, "name", key), values(s, "x", key), values(s, "y", key), color(s, index, key)};
    if (out.xs.size() != out.ys.size()) {
      fail(key, fmt::format("x has {} values and y {}; they must be as long", out.xs.size(), out.ys.size()));
    }
    const std::string style = s.contains("style") ? text(s, "style", key) : "line";
    if (style == "dots") {  // a gap between every two points
      Series d{out.name, {}, {}, out.color};
      for (size_t i = 0; i < out.xs.size(); ++i) {
        if (i) {
          d.xs.push_back(std::numeric_limits<double>::quiet_NaN());
          d.ys.push_back(std::numeric_limits<double>::quiet_NaN());
        }
        d.xs.push_back(out.xs[i]);
        d.ys.push_back(out.ys[i]);
      }
      return d;
    }
    if (style != "line") fail(key + ".style", "'" + style + "' is not a style; allowed: line, dots");
    return out;
  }

  LineChart panel(const json& p, const std::string& key) const {
    if (!p.is_object()) fail(key, "expected an object (a panel)");
    static const char* kKeys[] = {"title", "x_label", "y_label", "width", "height", "x_min",
                                  "x_max", "y_min", "y_max", "series"};
    for (const auto& item : p.items()) {
      if (std::find(std::begin(kKeys), std::end(kKeys), item.key()) == std::end(kKeys)) {
        fail(key + "." + item.key(),
             "unknown key; allowed: title, x_label, y_label, width, height, x_min, x_max, y_min, y_max, series");
      }
    }
    LineChart c;
    c.title = text(p, "title", key);
    c.x_label = text(p, "x_label", key);
    c.y_label = text(p, "y_label", key);
    const auto w = number(p, "width", key), h = number(p, "height", key);
    if (w && (*w < 160 || *w > 8192)) fail(key + ".width", "expected pixels in [160, 8192]");
    if (h && (*h < 120 || *h > 8192)) fail(key + ".height", "expected pixels in [120, 8192]");
    if (w) c.width_px = static_cast<int>(*w);
    if (h) c.height_px = static_cast<int>(*h);
    c.x_min = number(p, "x_min", key);
    c.x_max = number(p, "x_max", key);
    c.y_min = number(p, "y_min", key);
    c.y_max = number(p, "y_max", key);
    if (!p.contains("series") || !p["series"].is_array() || p["series"].empty()) {
      fail(key + ".series", "expected a non-empty array of series");
    }
    for (size_t i = 0; i < p["series"].size(); ++i) {
      c.series.push_back(series(p["series"][i], i, fmt::format("{}.series[{}]", key, i)));
    }
    return c;
  }
};

}  // namespace

int plot_command(const std::string& spec_path, const std::string& png_path, std::ostream& out) {
  std::ifstream in(spec_path);
  if (!in) throw DataError(spec_path, "cannot be opened (a JSON chart description)");
  json spec;
  try {
    spec = json::parse(in);
  } catch (const json::parse_error& e) {
    throw DataError(spec_path, std::string("is not valid JSON: ") + e.what());
  }
  const SpecReader r{spec_path};
  std::vector<LineChart> panels;
  if (spec.is_object() && spec.contains("panels")) {
    if (spec.size() != 1) r.fail("(top level)", "a description with panels has no other key");
    if (!spec["panels"].is_array() || spec["panels"].empty()) r.fail("panels", "expected a non-empty array of panels");
    for (size_t i = 0; i < spec["panels"].size(); ++i) {
      panels.push_back(r.panel(spec["panels"][i], fmt::format("panels[{}]", i)));
    }
  } else {
    panels.push_back(r.panel(spec, "(panel)"));
  }
  write_line_charts_png(png_path, panels);
  out << "wrote " << png_path << " (" << panels.size() << (panels.size() == 1 ? " panel)\n" : " panels)\n");
  return 0;
}

void add_plot(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("plot", "Draw line charts described in a JSON file as a PNG (for results scripts; see src/cli/cmd_plot.cpp)");
  auto spec = std::make_shared<std::string>();
  auto png = std::make_shared<std::string>();
  cmd->add_option("spec", *spec, "JSON chart description: {\"panels\": [{title, x_label, y_label, series: [{name, x, y}]}]}")
      ->required();
  cmd->add_option("png", *png, "PNG file to write")->required();
  cmd->callback([&action, spec, png] { action = [spec, png] { return plot_command(*spec, *png, std::cout); }; });
}

}  // namespace cimkit::cli
