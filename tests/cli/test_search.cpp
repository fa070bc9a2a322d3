// `cimkit search`: a small search end to end (an MLP on 512 images, 3 episodes), resumed with a
// larger budget, its configuration errors, and the same search on two processes over loopback.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "data/dataset.hpp"
#include "cli/run_config.hpp"
#include "dist/process_group.hpp"
#include "run_cimkit.hpp"
#include "support/free_port.hpp"

namespace fs = std::filesystem;

namespace {

std::string search_config(const std::string& dir, const std::string& search, int threads = 2) {
  const std::string path = dir + "/search.yaml";
  std::ofstream(path) << "seed: 3\nthreads: " << threads << "\nout: " << dir << "/run\n"
                      << "chip: {preset: default}\n"
                      << "model: {name: mlp, width: 0.5, weight_bits: 8, act_bits: 8, adc_bits: 8, first_last_bits: 8}\n"
                      << "data: {name: fashion_mnist, train_limit: 512, test_limit: 128, val_fraction: 0.25}\n"
                      << "train: {epochs: 1, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0, progress: plain}\n"
                      << "eval: {device_seeds: 1, sqnr: false}\n"
                      << "arch: {preset: thermal_quant}\n"
                      << "search: " << search << "\n";
  return path;
}

// candidates.csv without its evaluation-time column.
std::vector<std::string> log_without_times(const std::string& path) {
  std::vector<std::string> rows;
  std::istringstream in(cimkit::testing::read_text(path));
  std::string line;
  size_t col = std::string::npos;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    for (std::string c; std::getline(l, c, ',');) cells.push_back(c);
    if (col == std::string::npos) col = std::find(cells.begin(), cells.end(), "eval_s") - cells.begin();
    if (col < cells.size()) cells.erase(cells.begin() + col);
    std::string row;
    for (const auto& c : cells) row += c + ",";
    rows.push_back(row);
  }
  return rows;
}

// Rank 0 and rank 1 of a two-process search started together; {rank 0's run, rank 1's run}.
std::pair<cimkit::testing::CliRun, cimkit::testing::CliRun> two_ranks(const std::string& cfg, const std::string& out,
                                                                       const std::string& rank1_extra = "") {
  const std::string common = fmt::format(" --world-size 2 --master-addr 127.0.0.1 --master-port {} --dist-timeout 120",
                                         cimkit::testing::free_port());
  auto rank1 = std::async(std::launch::async, [&] {
    return cimkit::testing::run_cimkit("search " + cfg + common + " --rank 1" + rank1_extra);
  });
  auto rank0 = cimkit::testing::run_cimkit("search " + cfg + " --out " + out + common + " --rank 0");
  return {rank0, rank1.get()};
}

}  // namespace

TEST(SearchJob, SearchesResumesAndReportsAgainstFixed8Bit) {
  if (!fs::exists(cimkit::data::default_data_dir("fashion_mnist"))) GTEST_SKIP() << "no dataset-fashion-mnist";
  const std::string dir = cimkit::testing::cli_tmp_dir("search_job");
  const std::string cfg = search_config(dir, "{strategy: {impl: random}, episodes: 3, finalists: 1}");
  auto r = cimkit::testing::run_cimkit("search " + cfg);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"summary.txt", "stats.json", "candidates.csv", "checkpoint.pt", "model.pt", "resolved_config.yaml",
                        "plots/search_progress.png", "plots/bits_per_layer.png", "plots/bits_vs_accuracy.png",
                        "plots/temperature_boxes.png"}) {
    EXPECT_TRUE(fs::exists(dir + "/run/" + f)) << f;
  }
  EXPECT_NE(r.output.find("fixed 8-bit"), std::string::npos) << r.output;
  // A larger budget, resumed: the base model is reused, the 3 episodes kept, one more evaluated.
  r = cimkit::testing::run_cimkit("search " + cfg + " --resume --set search.episodes=4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(reused)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("episode    3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("episode    2"), std::string::npos) << r.output;
  const auto stats = nlohmann::json::parse(cimkit::testing::read_text(dir + "/run/stats.json"));
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
  EXPECT_NE(r.output.find("search.strategy.impl: random -> fixed"), std::string::npos) << r.output;
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
  EXPECT_NE(r.output.find("search.yaml:10: search.late_conv_min_bits: late_conv_min_bits = 5 is above late_conv_max_bits = 3"),
            std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{episodes: 2}") + " --resume");
  EXPECT_NE(r.code, 0);  // nothing to resume: refused before any training
  EXPECT_NE(r.output.find("no search checkpoint"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("training the base model"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{episodes: 2}") + " --set data.val_fraction=0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("search.reward_images"), std::string::npos) << r.output;
  r = cimkit::testing::run_cimkit("search " + search_config(dir, "{overrides: {fc9: {weight_min_bits: 2, weight_max_bits: 4}}}"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("search.yaml:10: search.overrides.fc9: no layer 'fc9'"), std::string::npos) << r.output;
}

// issue 13 §6: rank 0 runs the strategy, both ranks evaluate (DDPG's warm-up in parallel), and the
// log equals the one-process run's; a rank with another config is refused by name.
TEST(SearchJob, TwoProcessesOnLoopbackEqualOneProcess) {
  if (!fs::exists(cimkit::data::default_data_dir("fashion_mnist"))) GTEST_SKIP() << "no dataset-fashion-mnist";
  if (!cimkit::dist::available()) GTEST_SKIP() << "built without c10d's Gloo (libgloo-dev)";
  const std::string dir = cimkit::testing::cli_tmp_dir("search_two_ranks");
  const std::string cfg = search_config(
      dir, "{strategy: {impl: ddpg, warmup_episodes: 3, hidden1: 32, hidden2: 16, batch_size: 4}, episodes: 5, finalists: 1}",
      /*threads=*/1);
  auto one = cimkit::testing::run_cimkit("search " + cfg + " --out " + dir + "/one");
  ASSERT_EQ(one.code, 0) << one.output;
  auto [r0, r1] = two_ranks(cfg, dir + "/two");
  ASSERT_EQ(r0.code, 0) << r0.output << "\n--- rank 1:\n" << r1.output;
  ASSERT_EQ(r1.code, 0) << r1.output;
  EXPECT_NE(r0.output.find("2 processes"), std::string::npos) << r0.output;
  EXPECT_NE(r1.output.find("rank 1 of 2 ready"), std::string::npos) << r1.output;
  const auto a = log_without_times(dir + "/one/candidates.csv");
  const auto b = log_without_times(dir + "/two/candidates.csv");
  ASSERT_EQ(a.size(), 6u);  // the header and 5 episodes
  EXPECT_EQ(a, b);
  EXPECT_FALSE(fs::exists(dir + "/run"));  // rank 1 wrote nothing to its own out

  auto [e0, e1] = two_ranks(cfg, dir + "/three", " --set search.reward_lambda=0.2");
  EXPECT_NE(e0.code, 0);
  EXPECT_NE(e1.code, 0);
  EXPECT_NE(e0.output.find("rank 1 is not ready: its config differs from rank 0's"), std::string::npos) << e0.output;
}

// `extends: FILE` (issue 14: the HAQ config is paper 000's scenario with HAQ's search keys): the
// extended file's keys, this file's merged over them map by map; a missing file or a cycle is a
// config error naming the key. The shipped configs/search/haq.yaml resolves to HAQ's settings.
TEST(SearchJob, ConfigsExtendOtherConfigs) {
  const std::string dir = cimkit::testing::cli_tmp_dir("search_extends");
  std::ofstream(dir + "/base.yaml") << "seed: 4\nmodel: {name: mlp, width: 0.5}\nsearch: {episodes: 7, finalists: 2}\n";
  std::ofstream(dir + "/child.yaml") << "extends: base.yaml\nsearch: {finalists: 1}\n";
  const cimkit::RunConfig rc = cimkit::RunConfig::load(dir + "/child.yaml", {});
  EXPECT_EQ(rc.seed, 4u);
  EXPECT_EQ(rc.sections.at("search").find("episodes")->value(), "7");
  EXPECT_EQ(rc.sections.at("search").find("finalists")->value(), "1");
  EXPECT_EQ(rc.sections.at("model").find("name")->value(), "mlp");
  std::ofstream(dir + "/missing.yaml") << "extends: nowhere.yaml\n";
  try {
    cimkit::RunConfig::load(dir + "/missing.yaml", {});
    FAIL() << "no error";
  } catch (const cimkit::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.yaml:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nowhere.yaml"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/a.yaml") << "extends: b.yaml\n";
  std::ofstream(dir + "/b.yaml") << "extends: a.yaml\n";
  EXPECT_THROW(cimkit::RunConfig::load(dir + "/a.yaml", {}), cimkit::ConfigError);
  const cimkit::RunConfig haq = cimkit::RunConfig::load(cimkit::testing::kCliSource + "/configs/search/haq.yaml", {});
  const cimkit::ConfigNode& s = haq.sections.at("search");
  EXPECT_EQ(s.find("reward_form")->value(), "accuracy");
  EXPECT_EQ(s.find("budget_metric")->value(), "energy");
  EXPECT_EQ(s.find("late_conv_max_bits")->value(), "8");
  EXPECT_EQ(s.find("fidelity")->value(), "tile");             // from thermal_quant.yaml
  EXPECT_EQ(haq.operating.temperature_k, 358.15);              // the same hot scenario
}

// issue 14 §5: the comparison's table writer (scripts/thermal_quant_results.py) on a fixture of two
// seeds: every method's row with the mean ± standard deviation over the seeds.
TEST(SearchJob, ComparisonTableWriter) {
  if (std::system("python3 -c 'import json' > /dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  const std::string dir = cimkit::testing::cli_tmp_dir("comparison_writer");
  auto rec = [](double acc_heat, int crossbars) {
    return nlohmann::json{{"refined_weight_bits", "8 8"}, {"refined_act_bits", "8 8"}, {"acc_pct", 90.0},
                          {"acc_heat_pct", acc_heat}, {"energy_j", 2e-6}, {"tops_per_w", 0.5},
                          {"crossbars", crossbars}, {"peak_k", 360.0}};
  };
  for (int seed : {1, 2}) {
    const std::string d = dir + "/out/lenet5/seed" + std::to_string(seed);
    for (const char* m : {"thermal", "thermal_pretrain", "haq"}) {
      fs::create_directories(d + "/" + m);
      nlohmann::json s{{"episodes", 10},
                       {"elapsed_s", 5.0 * seed},
                       {"plateau", {{"episode", 3 + seed}}},
                       {"finalists", {{{"bit_exact", rec(seed == 1 ? 80.0 : 82.0, 40)}}}},
                       {"fixed_8bit_bit_exact", rec(70.0 + seed, 73)}};
      std::ofstream(d + "/" + m + "/stats.json") << s.dump();
    }
    fs::create_directories(d + "/bsq");
    nlohmann::json b{{"cost", {{"totals", {{"energy_j", 1e-6}, {"tops_per_w", 1.0}}}}},
                     {"pretrain", {{"weight_bits", {6, 7}}}},
                     {"accuracy", {{"analog_mean", 0.85}, {"analog_with_heat_mean", 0.84}}},
                     {"chip_eval", {{"n_arrays", 50}}},
                     {"thermal", {{"peak_k", 361.0}}}};
    std::ofstream(d + "/bsq/stats.json") << b.dump();
    std::ofstream(d + "/bsq/layers.csv") << "layer,weight_bits,act_bits\nconv1,6,8\nfc1,7,8\n";
  }
  const std::string cmd = "python3 " + cimkit::testing::kCliSource + "/scripts/thermal_quant_results.py " + dir + "/out " +
                          dir + " --networks lenet5 --seeds '1 2' --seconds 42 > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string page = cimkit::testing::read_text(dir + "/thermal_quant.md");
  EXPECT_NE(page.find("| fixed 8-bit | 8 8 | 8 8 | 73 ± 0 | 2.000 ± 0.000 | 500 ± 0 | 90.00 ± 0.00 | 71.50 ± 0.71 |"),
            std::string::npos) << page;
  EXPECT_NE(page.find("| thermal-aware search | 8 8 | 8 8 | 40 ± 0 | 2.000 ± 0.000 | 500 ± 0 | 90.00 ± 0.00 | 81.00 ± 1.41 |"),
            std::string::npos) << page;
  EXPECT_NE(page.find("| BSQ | 6 7 | 8 8 | 50 ± 0 | 1.000 ± 0.000 | 1000 ± 0 | 85.00 ± 0.00 | 84.00 ± 0.00 | 361.00 ± 0.00 |"),
            std::string::npos) << page;
  EXPECT_NE(page.find("| HAQ | 10 | 4 ± 1 | – | 8 ± 4 |"), std::string::npos) << page;
  // Against fixed 8-bit, per seed: (80 - 71, 82 - 72) pt, the same efficiency, 40 / 73 crossbars.
  EXPECT_NE(page.find("| thermal-aware search | +9.50 ± 0.71 | 1.00 ± 0.00 | 0.55 ± 0.00 | +0.00 ± 0.00 |"),
            std::string::npos) << page;
  EXPECT_NE(page.find("took 42 s"), std::string::npos) << page;
}
