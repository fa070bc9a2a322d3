// `cimkit search`: a small search end to end (an MLP on 512 images, 3 episodes), resumed with a
// larger budget, and its configuration errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/dataset.hpp"
#include "run_cimkit.hpp"

namespace fs = std::filesystem;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string search_config(const std::string& dir, const std::string& search) {
  const std::string path = dir + "/search.yaml";
  std::ofstream(path) << "seed: 3\nthreads: 2\nout: " << dir << "/run\n"
                      << "chip: {preset: default}\n"
                      << "model: {name: mlp, width: 0.5, weight_bits: 8, act_bits: 8, adc_bits: 8, first_last_bits: 8}\n"
                      << "data: {name: fashion_mnist, train_limit: 512, test_limit: 128, val_fraction: 0.25}\n"
                      << "train: {epochs: 1, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0, progress: plain}\n"
                      << "eval: {device_seeds: 1, sqnr: false}\n"
                      << "arch: {preset: thermal_quant}\n"
                      << "search: " << search << "\n";
  return path;
}

}  // namespace

TEST(SearchJob, SearchesResumesAndReportsAgainstFixed8Bit) {
  if (!fs::exists(cimkit::data::default_data_dir("fashion_mnist"))) GTEST_SKIP() << "no dataset-fashion-mnist";
  const std::string dir = cimkit::testing::cli_tmp_dir("search_job");
  const std::string cfg = search_config(dir, "{strategy: {impl: random}, episodes: 3, finalists: 1}");
  auto r = cimkit::testing::run_cimkit("search " + cfg);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"summary.txt", "stats.json", "candidates.csv", "checkpoint.pt", "model.pt", "resolved_config.yaml",
                        "plots/search_progress.png", "plots/bits_per_layer.png", "plots/bits_vs_accuracy.png"}) {
    EXPECT_TRUE(fs::exists(dir + "/run/" + f)) << f;
  }
  EXPECT_NE(r.output.find("fixed 8-bit"), std::string::npos) << r.output;
  // A larger budget, resumed: the base model is reused, the 3 episodes kept, one more evaluated.
  r = cimkit::testing::run_cimkit("search " + cfg + " --resume --set search.episodes=4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(reused)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("episode    3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("episode    2"), std::string::npos) << r.output;
  const auto stats = nlohmann::json::parse(read(dir + "/run/stats.json"));
  EXPECT_EQ(stats["episodes"], 4);
  ASSERT_EQ(stats["finalists"].size(), 1u);
  EXPECT_EQ(stats["finalists"][0]["bit_exact"]["fidelity"], "bit_exact");
  EXPECT_EQ(stats["candidates"][0]["fidelity"], "tile");
  EXPECT_GT(stats["fixed_8bit_bit_exact"]["peak_k"].get<double>(), 300.0);
  EXPECT_EQ(stats["reward_images"], "validation");  // the search never reads the test set
  EXPECT_EQ(stats["reward_images_count"], 128);      // 512 x val_fraction 0.25
  // A new run over the folder without --resume is refused; so is another strategy on resume.
  r = cimkit::testing::run_cimkit("search " + cfg);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + cfg + " --resume --set search.strategy.impl=fixed --set search.episodes=5");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("another search"), std::string::npos) << r.output;
}

TEST(SearchJob, ConfigErrorsNameTheKey) {
  const std::string dir = cimkit::testing::cli_tmp_dir("search_errors");
  auto r = cimkit::testing::run_cimkit("search " + search_config(dir, "{strategy: {impl: evolutin}}"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("search.strategy"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{episodes: 0}"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("search.episodes"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{late_conv_min_bits: 5, late_conv_max_bits: 3}"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("late_conv_min_bits"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{episodes: 2}") + " --resume");
  EXPECT_NE(r.code, 0);  // nothing to resume: refused before any training
  EXPECT_NE(r.output.find("no search checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("training the base model"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{episodes: 2}") + " --set data.val_fraction=0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("search.reward_images"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{overrides: {fc9: {weight_min_bits: 2, weight_max_bits: 4}}}"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("fc9"), std::string::npos) << r.output;
}
