#include "cli/search_plots.hpp"

#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/plot.hpp"

namespace cimkit::cli {

namespace {

std::vector<double> bits_of(const std::string& s) {
  std::vector<double> v;
  std::istringstream is(s);
  for (double b; is >> b;) v.push_back(b);
  return v;
}

// Points drawn as dots: a NaN between every two (core/plot.hpp breaks the line there).
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
  LineChart r1{"Reward per episode", "episode", "reward", 800, 450, {dots("reward", ep, reward, blue), {"best so far", ep, best_so_far, orange}}};
  LineChart r2{"Accuracy with heat per episode", "episode", "accuracy with heat (%)", 800, 450, {dots("candidate", ep, acc, green)}};
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
  LineChart bits{"Best candidate's bits per layer (episode " + std::to_string(b["episode"].get<int64_t>()) + ")",
                 "layer (" + names + ")", "bits", 900, 450,
                 {{"weight bits", idx, w, blue}, {"activation bits", idx, a, orange},
                  {"fixed 8-bit", idx, std::vector<double>(w.size(), 8.0), grey}}};
  bits.y_min = 0;
  bits.y_max = 9;
  const std::string per_layer = (fs::path(dir) / "bits_per_layer.png").string();
  write_line_chart_png(per_layer, bits);
  written.push_back(per_layer);

  LineChart scatter{"Every candidate: mean weight bits against accuracy with heat", "mean weight bits",
                    "accuracy with heat (%)", 800, 500, {dots("candidate", mean_w, acc, green)}};
  const std::string sc = (fs::path(dir) / "bits_vs_accuracy.png").string();
  write_line_chart_png(sc, scatter);
  written.push_back(sc);
  return written;
}

}  // namespace cimkit::cli
