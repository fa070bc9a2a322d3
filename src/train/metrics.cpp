#include "train/metrics.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/plot.hpp"
#include "core/text.hpp"
#include "core/files.hpp"

namespace cimkit::train {
namespace {

std::string csv_real(double v) {
  return std::isnan(v) ? "nan" : format_double(v);
}

nlohmann::json real_json(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

double json_real(const nlohmann::json& j) {
  return j.is_null() ? NAN : j.get<double>();
}

}  // namespace

void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& history) {
  std::ostringstream out;
  out << "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds,images_per_s";
  if (!history.empty())
    for (const auto& [name, value] : history.front().terms) out << ',' << name;
  out << '\n';
  for (const EpochMetrics& m : history) {
    out << m.epoch << ',' << csv_real(m.lr) << ',' << csv_real(m.train_loss) << ','
        << csv_real(m.train_acc) << ',' << csv_real(m.val_loss) << ',' << csv_real(m.val_acc) << ','
        << csv_real(m.seconds) << ',' << csv_real(m.images_per_s);
    for (const auto& [name, value] : m.terms) out << ',' << csv_real(value);
    out << '\n';
  }
  write_file_atomic(path, out.str());
}

void write_training_curve_png(const std::string& path, const std::vector<EpochMetrics>& history) {
  if (history.empty()) throw DataError(path, "no epoch to plot");
  std::vector<double> epoch, tl, vl, ta, va;
  bool any_val = false;
  for (const EpochMetrics& m : history) {
    epoch.push_back(double(m.epoch));
    tl.push_back(m.train_loss), vl.push_back(m.val_loss);
    ta.push_back(100 * m.train_acc), va.push_back(100 * m.val_acc);
    any_val = any_val || std::isfinite(m.val_loss) || std::isfinite(m.val_acc);
  }
  const Rgb train_c = palette_color(0), val_c = palette_color(1);
  LineChart loss{"Loss", "epoch", "cross-entropy", 640, 440, {}, {}, {}, {}, {}};
  loss.series.push_back({"train", epoch, tl, train_c});
  if (any_val) loss.series.push_back({"val", epoch, vl, val_c});
  LineChart acc{"Accuracy", "epoch", "accuracy (%)", 640, 440, {}, {}, {}, {}, {}};
  acc.series.push_back({"train", epoch, ta, train_c});
  if (any_val) acc.series.push_back({"val", epoch, va, val_c});
  write_line_charts_png(path, {loss, acc});
}

std::string history_to_json(const std::vector<EpochMetrics>& history) {
  nlohmann::json arr = nlohmann::json::array();
  for (const EpochMetrics& m : history) {
    nlohmann::json terms = nlohmann::json::array();
    for (const auto& [name, value] : m.terms) terms.push_back({name, real_json(value)});
    arr.push_back({{"epoch", m.epoch},
                   {"lr", real_json(m.lr)},
                   {"train_loss", real_json(m.train_loss)},
                   {"train_acc", real_json(m.train_acc)},
                   {"val_loss", real_json(m.val_loss)},
                   {"val_acc", real_json(m.val_acc)},
                   {"seconds", real_json(m.seconds)},
                   {"images_per_s", real_json(m.images_per_s)},
                   {"terms", terms}});
  }
  return arr.dump();
}

std::vector<EpochMetrics> history_from_json(const std::string& text, const std::string& file) {
  std::vector<EpochMetrics> out;
  try {
    const nlohmann::json arr = nlohmann::json::parse(text);
    if (!arr.is_array()) throw DataError(file, "metrics history is not a JSON array");
    for (const nlohmann::json& j : arr) {
      EpochMetrics m;
      m.epoch = j.at("epoch").get<int64_t>();
      m.lr = json_real(j.at("lr"));
      m.train_loss = json_real(j.at("train_loss"));
      m.train_acc = json_real(j.at("train_acc"));
      m.val_loss = json_real(j.at("val_loss"));
      m.val_acc = json_real(j.at("val_acc"));
      m.seconds = json_real(j.at("seconds"));
      m.images_per_s = json_real(j.at("images_per_s"));
      for (const nlohmann::json& t : j.at("terms"))
        m.terms.emplace_back(t.at(0).get<std::string>(), json_real(t.at(1)));
      out.push_back(std::move(m));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(file, std::string("corrupt metrics history: ") + e.what());
  }
  return out;
}

}  // namespace cimkit::train
