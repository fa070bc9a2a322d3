#include "cli/search_plots.hpp"

#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/plot.hpp"
#include "search/plateau.hpp"

namespace cimkit::cli {

namespace {

std::vector<double> bits_of(const std::string& s) {
  std::vector<double> v;
  std::istringstream is(s);
  for (double b; is >> b;) v.push_back(b);
  return v;
}

// Points drawn as dots: a NaN between every two (core/plot.hpp breaks the line there).
LineChart chart(std::string title, std::string x, std::string y, int w, int h, std::vector<Series> series) {
  LineChart c;
  c.title = std::move(title);
  c.x_label = std::move(x);
  c.y_label = std::move(y);
  c.width_px = w;
  c.height_px = h;
  c.series = std::move(series);
  return c;
}

Series dots(std::string name, const std::vector<double>& x, const std::vector<double>& y, Rgb c) {
  Series s{std::move(name), {}, {}, c};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < x.size(); ++i) {
    if (i) {
      s.xs.push_back(nan);
      s.ys.push_back(nan);
    }
    s.xs.push_back(x[i]);
    s.ys.push_back(y[i]);
  }
  return s;
}

}  // namespace

std::vector<std::string> write_search_plots(const std::string& dir, const std::vector<nlohmann::ordered_json>& records,
                                            int64_t best, const std::vector<std::string>& layer_names) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  if (records.empty()) return written;
  fs::create_directories(dir);
  std::vector<double> ep, reward, best_so_far, acc, mean_w;
  double top = -std::numeric_limits<double>::infinity();
  for (const auto& r : records) {
    ep.push_back(r["episode"].get<double>());
    reward.push_back(r["reward"].get<double>());
    top = std::max(top, reward.back());
    best_so_far.push_back(top);
    acc.push_back(r.contains("acc_heat_pct") ? r["acc_heat_pct"].get<double>() : std::numeric_limits<double>::quiet_NaN());
    const auto w = bits_of(r.contains("refined_weight_bits") ? r["refined_weight_bits"].get<std::string>()
                                                             : r["weight_bits"].get<std::string>());
    mean_w.push_back(w.empty() ? 0.0 : std::accumulate(w.begin(), w.end(), 0.0) / static_cast<double>(w.size()));
  }
  const Rgb blue{31, 119, 180}, orange{255, 127, 14}, green{44, 160, 44}, grey{127, 127, 127};
  LineChart r1 = chart("Reward per episode", "episode", "reward", 800, 450,
                        {dots("reward", ep, reward, blue), {"best so far", ep, best_so_far, orange},
                         {"moving average (20)", ep, search::find_plateau(reward).moving, grey}});
  LineChart r2 = chart("Accuracy with heat per episode", "episode", "accuracy with heat (%)", 800, 450,
                       {dots("candidate", ep, acc, green)});
  const std::string progress = (fs::path(dir) / "search_progress.png").string();
  write_line_charts_png(progress, {r1, r2});
  written.push_back(progress);

  const auto& b = records[static_cast<size_t>(best)];
  const auto w = bits_of(b.contains("refined_weight_bits") ? b["refined_weight_bits"].get<std::string>() : b["weight_bits"].get<std::string>());
  const auto a = bits_of(b.contains("refined_act_bits") ? b["refined_act_bits"].get<std::string>() : b["act_bits"].get<std::string>());
  std::vector<double> idx(w.size());
  std::iota(idx.begin(), idx.end(), 0.0);
  std::string names;
  for (size_t i = 0; i < layer_names.size(); ++i) names += (i ? " " : "") + std::to_string(i) + "=" + layer_names[i];
  LineChart bits = chart("Best candidate's bits per layer (episode " + std::to_string(b["episode"].get<int64_t>()) + ")",
                         "layer (" + names + ")", "bits", 900, 450,
                         {{"weight bits", idx, w, blue}, {"activation bits", idx, a, orange},
                          {"fixed 8-bit", idx, std::vector<double>(w.size(), 8.0), grey}});
  bits.y_min = 0;
  bits.y_max = 9;
  const std::string per_layer = (fs::path(dir) / "bits_per_layer.png").string();
  write_line_chart_png(per_layer, bits);
  written.push_back(per_layer);

  LineChart scatter = chart("Every candidate: mean weight bits against accuracy with heat", "mean weight bits",
                            "accuracy with heat (%)", 800, 500, {dots("candidate", mean_w, acc, green)});
  const std::string sc = (fs::path(dir) / "bits_vs_accuracy.png").string();
  write_line_chart_png(sc, scatter);
  written.push_back(sc);
  return written;
}

void write_temperature_boxes(const std::string& path, const std::vector<std::string>& names,
                             const std::vector<nlohmann::ordered_json>& records) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LineChart boxes = chart("Array temperatures (box 25-75 %, median, min-max)", "model",
                          "array temperature (K)", 800, 500, {});
  std::string axis;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (size_t m = 0; m < records.size(); ++m) {
    const auto& r = records[m];
    const double x = static_cast<double>(m), h = 0.3;
    const double t0 = r["array_t_min_k"].get<double>(), t25 = r["array_t_p25_k"].get<double>();
    const double t50 = r["array_t_median_k"].get<double>(), t75 = r["array_t_p75_k"].get<double>();
    const double t100 = r["array_t_max_k"].get<double>();
    lo = std::min(lo, t0);
    hi = std::max(hi, t100);
    // One polyline, broken by NaN: the box, the median, the two whiskers with their caps.
    boxes.series.push_back({names[m],
                            {x - h, x + h, x + h, x - h, x - h, nan, x - h, x + h, nan, x, x, nan, x, x, nan,
                             x - h / 2, x + h / 2, nan, x - h / 2, x + h / 2},
                            {t25, t25, t75, t75, t25, nan, t50, t50, nan, t75, t100, nan, t25, t0, nan, t100, t100,
                             nan, t0, t0},
                            palette_color(m)});
    axis += (m ? " " : "") + std::to_string(m) + "=" + names[m];
  }
  boxes.x_label = "model (" + axis + ")";
  boxes.x_min = -0.75;
  boxes.x_max = static_cast<double>(records.size()) - 0.25;
  const double pad = std::max(0.05 * (hi - lo), 0.05);
  boxes.y_min = lo - pad;
  boxes.y_max = hi + pad;
  write_line_chart_png(path, boxes);
}

}  // namespace cimkit::cli
