// `cimkit run` end to end on a small slice of the real Fashion-MNIST (Debian's
// dataset-fashion-mnist): the run folder, exactness on an ideal chip, refusing to clobber a run,
// resuming, re-running from resolved_config.yaml, and config errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/run_cimkit.hpp"
#include "data/dataset.hpp"

namespace fs = std::filesystem;

namespace {

using cimkit::testing::CliRun;

CliRun cimkit(const std::string& args) { return cimkit::testing::run_cimkit(args); }

std::string fresh(const std::string& name) { return cimkit::testing::cli_tmp_dir(name); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small, fast job: an MLP on 512 training and 200 test images, one epoch, 2 device instances.
std::string write_config(const std::string& dir, const std::string& chip, const std::string& extra = "") {
  const std::string path = dir + "/job.yaml";
  std::ofstream(path) << "seed: 3\nthreads: 2\nout: " << dir << "/run\n"
                      << "chip: " << chip << "\n"
                      << "model: {name: mlp, width: 0.5, weight_bits: 6, act_bits: 6, adc_bits: 8, first_last_bits: 8}\n"
                      << "data: {name: fashion_mnist, train_limit: 512, test_limit: 200, val_fraction: 0.25}\n"
                      << "train: {epochs: 2, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0, progress: plain}\n"
                      << "eval: {device_seeds: 2}\n"
                      << extra;
  return path;
}

bool have_fashion_mnist() { return fs::exists(cimkit::data::default_data_dir("fashion_mnist")); }

TEST(RunJob, WritesTheRunFolderAndIsExactOnAnIdealChip) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = fresh("run_ideal");
  const std::string cfg = write_config(dir, "{preset: ideal}");
  CliRun r = cimkit("run " + cfg);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("analog on the chip"), std::string::npos) << r.output;
  for (const char* f : {"summary.txt", "stats.json", "layers.csv", "resolved_config.yaml", "model.pt", "metrics.csv",
                        "plots/training_curve.png", "checkpoints/last.pt"}) {
    EXPECT_TRUE(fs::exists(dir + "/run/" + f)) << f;
  }
  const auto stats = nlohmann::json::parse(read(dir + "/run/stats.json"));
  const double digital = stats["accuracy"]["digital"], analog = stats["accuracy"]["analog_mean"];
  EXPECT_DOUBLE_EQ(analog, digital);  // ideal cells and a lossless ADC: bit-exact
  EXPECT_DOUBLE_EQ(stats["accuracy"]["analog_std"].get<double>(), 0.0);
  EXPECT_GT(digital, 0.3);  // two epochs on 384 images learn something (chance: 0.1)
  EXPECT_EQ(stats["data"]["train"].get<int>(), 384);
  EXPECT_EQ(stats["data"]["val"].get<int>(), 128);
  EXPECT_EQ(stats["chip_eval"]["layers"].size(), 3u);
  // layers.csv: a header and one row per analog layer.
  std::istringstream csv(read(dir + "/run/layers.csv"));
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 4);
  EXPECT_EQ(read(dir + "/run/summary.txt").find("cimkit run"), 0u);
  // The hardware cost of the trained network, with the engine's measured array read energy.
  EXPECT_NE(r.output.find("energy / inference"), std::string::npos) << r.output;
  const auto& cost = stats["cost"];
  EXPECT_EQ(cost["layers"].size(), 3u);
  EXPECT_EQ(cost["totals"]["n_arrays"], stats["chip_eval"]["n_arrays"]);
  EXPECT_GT(cost["totals"]["energy_j"].get<double>(), 0.0);
  EXPECT_GT(cost["totals"]["tops_per_w"].get<double>(), 0.0);
  EXPECT_EQ(cost["layers"][0]["read_energy"], "measured");
  EXPECT_TRUE(fs::exists(dir + "/run/cost_reference.json"));
  EXPECT_NE(read(dir + "/run/layers.csv").find(",energy_j,latency_s,area_m2"), std::string::npos);
  // The chip's temperature from that power, and the accuracy with every array at its own.
  const auto& th = stats["thermal"];
  EXPECT_GE(th["peak_k"].get<double>(), th["mean_k"].get<double>());
  EXPECT_GT(th["peak_k"].get<double>(), 300.0);  // ambient = operating temperature (300 K)
  EXPECT_NEAR(th["heat_out_w"].get<double>(), th["power_on_map_w"].get<double>(), 1e-6 * th["power_on_map_w"].get<double>());
  EXPECT_EQ(th["layers"].size(), 3u);
  EXPECT_TRUE(stats["accuracy"].contains("analog_with_heat_mean"));
  EXPECT_TRUE(fs::exists(dir + "/run/thermal_grid.csv"));
  EXPECT_TRUE(fs::exists(dir + "/run/plots/thermal_map.png"));
  EXPECT_NE(r.output.find("analog accuracy with the heat"), std::string::npos) << r.output;

  // The folder holds a checkpoint: a second run refuses, --resume continues (nothing left to
  // train) and evaluates the same model to the same figures.
  CliRun again = cimkit("run " + cfg);
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  CliRun resumed = cimkit("run " + cfg + " --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  const auto stats2 = nlohmann::json::parse(read(dir + "/run/stats.json"));
  EXPECT_EQ(stats2["accuracy"]["digital"], stats["accuracy"]["digital"]);

  // resolved_config.yaml re-runs the job exactly (into another folder).
  CliRun rerun = cimkit("run " + dir + "/run/resolved_config.yaml --out " + dir + "/rerun");
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  const auto stats3 = nlohmann::json::parse(read(dir + "/rerun/stats.json"));
  EXPECT_EQ(stats3["accuracy"]["digital"], stats["accuracy"]["digital"]);
  EXPECT_EQ(stats3["training"].size(), stats["training"].size());
}

TEST(RunJob, NoisyChipReportsSpreadOverDeviceInstances) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = fresh("run_noisy");
  const std::string cfg = write_config(
      dir, "{preset: default, device: {preset: realistic_reram, d2d_std: 0.2, stuck_on_rate: 0.01}, adc: {bits: 5}}");
  CliRun r = cimkit("run " + cfg + " --set eval.device_seeds=3");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto stats = nlohmann::json::parse(read(dir + "/run/stats.json"));
  const auto per_seed = stats["accuracy"]["analog_per_device_seed"].get<std::vector<double>>();
  ASSERT_EQ(per_seed.size(), 3u);
  EXPECT_LT(stats["accuracy"]["analog_mean"].get<double>(), stats["accuracy"]["digital"].get<double>());
  EXPECT_FALSE(stats["chip_eval"]["worst_layer"].get<std::string>().empty());
  // model.adc_bits (8) sets the layers' ADC over the chip's 5 bits, and the summary says so.
  EXPECT_NE(r.output.find("5-bit ADC (full_scale), the layers' at 8 bits (model.adc_bits)"), std::string::npos) << r.output;
  EXPECT_NE(read(dir + "/run/layers.csv").find(",6,6,8,"), std::string::npos);
  EXPECT_EQ(stats["cost"]["layers"][1]["adc_bits"], 8);  // priced at the bits the layers use
}

TEST(RunJob, ConfigErrorsNameTheKey) {
  const std::string dir = fresh("run_errors");
  const std::string cfg = write_config(dir, "{preset: ideal}");
  CliRun bad_model = cimkit("run " + cfg + " --set model.name=lenet6");
  EXPECT_EQ(bad_model.code, 2);
  EXPECT_NE(bad_model.output.find("lenet5"), std::string::npos) << bad_model.output;
  CliRun bad_key = cimkit("run " + cfg + " --set train.epoch=2");
  EXPECT_EQ(bad_key.code, 2);
  EXPECT_NE(bad_key.output.find("epochs"), std::string::npos) << bad_key.output;
  CliRun bad_mode = cimkit("run " + cfg + " --set train.mode=analogue");
  EXPECT_EQ(bad_mode.code, 2);
  EXPECT_NE(bad_mode.output.find("train.mode"), std::string::npos) << bad_mode.output;
  // Bits asked of an ADC that has none: an error at the key, not silently ignored.
  CliRun ideal_adc = cimkit("run " + cfg + " --set 'chip.adc={impl: ideal}'");
  EXPECT_EQ(ideal_adc.code, 2);
  EXPECT_NE(ideal_adc.output.find("model.adc_bits"), std::string::npos) << ideal_adc.output;
  CliRun no_ckpt = cimkit("run " + cfg + " --resume");
  EXPECT_EQ(no_ckpt.code, 2);
  EXPECT_NE(no_ckpt.output.find("no checkpoint"), std::string::npos) << no_ckpt.output;
}

}  // namespace
