// `cimkit nas` end to end on a tiny space (issue 16 §5-6): every stage runs and writes its files,
// a run stopped after a stage and resumed ends as the uninterrupted run, a folder holding a run is
// not overwritten, a resume with other settings is refused, config errors name the file, line and
// key, and two processes on the loopback address search as one does.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "data/dataset.hpp"
#include "dist/process_group.hpp"
#include "run_cimkit.hpp"
#include "support/free_port.hpp"

namespace fs = std::filesystem;
using cimkit::testing::run_cimkit;

namespace {

std::string nas_config(const std::string& dir, const std::string& nas_extra = "", int threads = 2) {
  const std::string path = dir + "/nas.yaml";
  std::ofstream(path) << "seed: 5\nthreads: " << threads << "\nout: " << dir << "/run\n"
                      << "chip: {preset: crossnas}\n"
                      << "model: {name: lenet5, quant: ema, first_last_bits: 0, adc_bits: 0}\n"
                      << "data: {name: fashion_mnist, train_limit: 512, test_limit: 64, val_fraction: 0.25}\n"
                      << "train: {mode: quantised, epochs: 1, batch_size: 64, optimizer: adam, lr: 0.003, weight_decay: 0, "
                         "progress: plain}\n"
                      << "eval: {device_seeds: 1, sqnr: false}\n"
                      << "arch: {preset: crossnas}\n"
                      << "nas:\n"
                      << "  space: {max_depth: 2, channels: [4, 8]}\n"
                      << "  supernet: {epochs: 2, batch_size: 64}\n"
                      << "  arch_search: {population: 6, top_k: 3, mutations: 2, crossovers: 2, cycles: 2, "
                         "reference_arch: VGG4-VGG8, val_images: 64, recal_batches: 2}\n"
                      << "  chip_search: {population: 6, top_k: 3, mutations: 2, crossovers: 2, cycles: 2, val_images: 64, "
                         "xbar_sizes: [64, 128], adc_bits: [6, 8]}\n"
                      << "  finetune: {epochs: 1, final_fidelity: tile}\n"
                      << nas_extra;
  return path;
}

// final.json without its timings.
nlohmann::json final_of(const std::string& run) {
  nlohmann::json j = nlohmann::json::parse(cimkit::testing::read_text(run + "/final.json"));
  j.erase("seconds");
  return j;
}

bool have_data() { return fs::exists(cimkit::data::default_data_dir("fashion_mnist")); }

}  // namespace

TEST(NasJob, RunsEveryStageAndResumesAfterAStage) {
  if (!have_data()) GTEST_SKIP() << "no dataset-fashion-mnist";
  const std::string dir = cimkit::testing::cli_tmp_dir("nas_job");
  const std::string cfg = nas_config(dir);
  auto r = run_cimkit("nas " + cfg);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"summary.txt", "final.json", "arch_candidates.csv", "chip_candidates.csv", "model.pt",
                        "supernet/checkpoint.pt", "arch_search.pt", "quant/checkpoints/last.pt", "chip_search.pt",
                        "finetune/checkpoints/last.pt", "resolved_config.yaml"}) {
    EXPECT_TRUE(fs::exists(dir + "/run/" + f)) << f;
  }
  const nlohmann::json whole = final_of(dir + "/run");
  EXPECT_EQ(whole["arch_search"]["reference_arch"], "VGG4-VGG8");
  EXPECT_GT(whole["arch_search"]["candidates"].get<int>(), 6);
  EXPECT_EQ(whole["final"]["test_images"], 64);
  EXPECT_GT(whole["final"]["edp_js"].get<double>(), 0.0);
  const int xbar = whole["chip_search"]["xbar"];
  EXPECT_TRUE(xbar == 64 || xbar == 128) << xbar;
  for (const auto& p : whole["chip_search"]["precisions"]) {
    const int w = p["weight_bits"];
    EXPECT_TRUE(w == 5 || w == 7 || w == 9) << w;
  }
  EXPECT_NE(r.output.find("cycle  1"), std::string::npos) << r.output;

  // Stopped after the architecture search, then resumed: the same result.
  r = run_cimkit("nas " + cfg + " --out " + dir + "/parts --until arch_search");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("stopped after the arch_search stage"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/parts/quant"));
  r = run_cimkit("nas " + cfg + " --out " + dir + "/parts --resume");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed after epoch 2"), std::string::npos) << r.output;
  EXPECT_EQ(cimkit::testing::read_text(dir + "/parts/arch_candidates.csv"), cimkit::testing::read_text(dir + "/run/arch_candidates.csv"));
  EXPECT_EQ(final_of(dir + "/parts").dump(1), whole.dump(1));

  // A folder holding a run is not started over; a resume with other search settings is refused.
  r = run_cimkit("nas " + cfg);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  fs::remove_all(dir + "/run/chip_search.pt");
  r = run_cimkit("nas " + cfg + " --resume --set nas.arch_search.w_acc=0.7");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("another architecture search"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nas.arch_search.w_acc: 0.5 -> 0.7"), std::string::npos) << r.output;
}

TEST(NasJob, ConfigErrorsNameFileLineAndKey) {
  const std::string dir = cimkit::testing::cli_tmp_dir("nas_errors");
  auto r = run_cimkit("nas " + nas_config(dir, "  quant: {bits: []}\n"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("nas.yaml:16: nas.quant.bits: the list is empty"), std::string::npos) << r.output;
  r = run_cimkit("nas " + nas_config(dir) + " --set nas.space.max_depth=0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("nas.space.max_depth"), std::string::npos) << r.output;
  if (!have_data()) return;  // the checks below read the data set first
  r = run_cimkit("nas " + nas_config(dir) + " --set nas.arch_search.reference_arch=VGG16-VGG8");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--set: nas.arch_search.reference_arch: not a network of the space: VGG16-VGG8 is not in the search "
                          "space: 16 channels is not one of the space's choices"),
            std::string::npos)
      << r.output;
  r = run_cimkit("nas " + nas_config(dir) + " --set data.val_fraction=0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("data.val_fraction"), std::string::npos) << r.output;
  r = run_cimkit("nas " + nas_config(dir) + " --resume");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("holds no CrossNAS run"), std::string::npos) << r.output;
}

// Issue 16 §5: the supernet trained data-parallel over two processes and every cycle's candidates
// scored between them; rank 1 writes nothing. The first cycle's architectures (drawn before any
// score) are the one-process run's; the scores agree to the float rounding of the training.
TEST(NasJob, TwoProcessesOnLoopback) {
  if (!have_data()) GTEST_SKIP() << "no dataset-fashion-mnist";
  if (!cimkit::dist::available()) GTEST_SKIP() << "built without c10d's Gloo (libgloo-dev)";
  const std::string dir = cimkit::testing::cli_tmp_dir("nas_two_ranks");
  const std::string cfg = nas_config(dir, "", /*threads=*/1);
  auto one = run_cimkit("nas " + cfg + " --out " + dir + "/one --until arch_search");
  ASSERT_EQ(one.code, 0) << one.output;
  const std::string common =
      fmt::format(" --world-size 2 --master-addr 127.0.0.1 --master-port {} --dist-timeout 120 --until arch_search",
                  cimkit::testing::free_port());
  auto rank1 = std::async(std::launch::async, [&] { return run_cimkit("nas " + cfg + " --out " + dir + "/two" + common + " --rank 1"); });
  auto r0 = run_cimkit("nas " + cfg + " --out " + dir + "/two" + common + " --rank 0");
  auto r1 = rank1.get();
  ASSERT_EQ(r0.code, 0) << r0.output << "\n--- rank 1:\n" << r1.output;
  ASSERT_EQ(r1.code, 0) << r1.output;
  EXPECT_NE(r0.output.find("data-parallel over 2 ranks"), std::string::npos) << r0.output;
  EXPECT_EQ(r1.output.find("cycle"), std::string::npos) << "rank 1 printed the log:\n" << r1.output;
  auto rows_of = [](const std::string& csv) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells;
      std::istringstream l(line);
      for (std::string c; std::getline(l, c, ',');) cells.push_back(c);
      rows.push_back(cells);
    }
    return rows;
  };
  const auto a = rows_of(cimkit::testing::read_text(dir + "/one/arch_candidates.csv")), b = rows_of(cimkit::testing::read_text(dir + "/two/arch_candidates.csv"));
  ASSERT_GT(a.size(), 7u);
  ASSERT_EQ(a[0], b[0]);  // cycle, genome, fitness, arch, depth, accuracy_pct, ...
  int compared = 0;
  for (size_t i = 1; i < std::min(a.size(), b.size()); ++i) {
    if (a[i][0] != "0") break;  // cycle 0: drawn before any score
    EXPECT_EQ(a[i][3], b[i][3]);
    EXPECT_NEAR(std::stod(a[i][5]), std::stod(b[i][5]), 3.2) << a[i][3];  // two of 64 images
    ++compared;
  }
  EXPECT_EQ(compared, 6);
}
