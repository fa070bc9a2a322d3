// The command line and PyTorch file interop: tensors Python's torch.save wrote, `cimkit mvm`
// end to end (exact with --integer, re-runnable from resolved_config.yaml), error messages,
// and docs/config.md matching the parameter declarations.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/run_cimkit.hpp"
#include "cli/tensor_io.hpp"
#include "support/scratch.hpp"
#include "core/error.hpp"

using namespace cimkit;
namespace fs = std::filesystem;

namespace {

const std::string& kData = cimkit::testing::kCliData;
const std::string& kSource = cimkit::testing::kCliSource;

using cimkit::testing::CliRun;
using cimkit::testing::run_cimkit;

std::string tmp_dir(const std::string& name) { return cimkit::testing::cli_tmp_dir(name); }

std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(TensorFiles, ReadsWhatPythonWrote) {
  const torch::Tensor w = load_tensor_file(kData + "/w_codes.pt");
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{10, 300}));
  EXPECT_EQ(w.scalar_type(), torch::kFloat32);
  EXPECT_EQ(load_tensor_file(kData + "/two_tensors.pt", "weight").size(1), 300);
}

TEST(TensorFiles, ClearErrors) {
  EXPECT_EQ(data_error([] { load_tensor_file(kData + "/two_tensors.pt"); }),
            kData + "/two_tensors.pt: holds a dict with 2 tensors (keys: weight, bias); save a single tensor");
  EXPECT_EQ(data_error([] { load_tensor_file(kData + "/two_tensors.pt", "bias2"); }),
            kData + "/two_tensors.pt: has no tensor named 'bias2' (keys: weight, bias)");
  EXPECT_EQ(data_error([] { load_tensor_file(kData + "/not_a_tensor.pt"); }),
            kData + "/not_a_tensor.pt: holds a list, expected a tensor (or a dict holding one tensor)");
  EXPECT_EQ(data_error([] { load_tensor_file("/nonexistent/w.pt"); }),
            "/nonexistent/w.pt: no such file (expected a tensor file)");
  const std::string garbage = data_error([] { load_tensor_file(kData + "/garbage.pt"); });
  EXPECT_EQ(garbage.rfind(kData + "/garbage.pt: is not a tensor file (a .pt file is the zip archive torch.save writes", 0), 0u) << garbage;
}

TEST(TensorFiles, WritesWhatItReads) {
  const std::string dir = tmp_dir("roundtrip");
  const torch::Tensor t = torch::arange(12, torch::kFloat64).view({3, 4});
  save_tensor_file(dir + "/t.pt", t);
  EXPECT_TRUE(torch::equal(load_tensor_file(dir + "/t.pt"), t));
  save_tensor_dict(dir + "/d.pt", {{"a", t}, {"b", torch::tensor(int64_t{7})}});
  EXPECT_TRUE(torch::equal(load_tensor_file(dir + "/d.pt", "a"), t));
  EXPECT_EQ(load_tensor_file(dir + "/d.pt", "b").item<int64_t>(), 7);
}

TEST(Mvm, IntegerCodesGiveTheExactProduct) {
  const std::string dir = tmp_dir("mvm_exact");
  const CliRun r = run_cimkit("mvm --config " + kSource + "/configs/examples/mvm_lossless.yaml --weights " + kData +
                       "/w_codes.pt --inputs " + kData + "/x_codes.pt --out " + dir + "/y.pt --integer");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(torch::equal(load_tensor_file(dir + "/y.pt"), load_tensor_file(kData + "/y_exact.pt")));
  // 300 inputs over 128-row tiles: 3 tiles; 7 inputs x 8 slices x 3 tiles x 14 groups x 10 outputs.
  EXPECT_EQ(load_tensor_file(dir + "/y.counts.pt", "adc_conversions").item<int64_t>(), 7 * 8 * 3 * 14 * 10);
  EXPECT_EQ(load_tensor_file(dir + "/y.counts.pt", "row_tiles").item<int64_t>(), 3);
  EXPECT_TRUE(fs::exists(dir + "/y.resolved_config.yaml"));
}

TEST(Mvm, ResolvedConfigReRunsIdentically) {
  // The realistic chip draws variation, faults and read noise; the resolved config must
  // reproduce the same output bit for bit.
  const std::string a = tmp_dir("mvm_run_a"), b = tmp_dir("mvm_run_b");
  const std::string io = " --weights " + kData + "/w_codes.pt --inputs " + kData + "/x_codes.pt --integer";
  const CliRun r1 = run_cimkit("mvm --config " + kSource + "/configs/examples/mvm_realistic.yaml" + io + " --out " + a + "/y.pt");
  ASSERT_EQ(r1.code, 0) << r1.output;
  const CliRun r2 = run_cimkit("mvm --config " + a + "/y.resolved_config.yaml" + io + " --out " + b + "/y.pt");
  ASSERT_EQ(r2.code, 0) << r2.output;
  const torch::Tensor y1 = load_tensor_file(a + "/y.pt"), y2 = load_tensor_file(b + "/y.pt");
  EXPECT_TRUE(torch::equal(y1, y2));
  EXPECT_FALSE(torch::equal(y1, load_tensor_file(kData + "/y_exact.pt")));  // the chip is not ideal
  std::ifstream f1(a + "/y.resolved_config.yaml"), f2(b + "/y.resolved_config.yaml");
  std::stringstream s1, s2;
  s1 << f1.rdbuf();
  s2 << f2.rdbuf();
  EXPECT_EQ(s1.str(), s2.str());
  // --set changes the run and is recorded.
  const CliRun r3 = run_cimkit("mvm --config " + a + "/y.resolved_config.yaml" + io + " --out " + b + "/y.pt --set chip.adc.bits=4");
  ASSERT_EQ(r3.code, 0) << r3.output;
  std::ifstream f3(b + "/y.resolved_config.yaml");
  std::stringstream s3;
  s3 << f3.rdbuf();
  EXPECT_NE(s3.str().find("bits: 4"), std::string::npos);
}

TEST(Mvm, BadInputsGiveClearMessages) {
  const std::string dir = tmp_dir("mvm_errors");
  CliRun r = run_cimkit("mvm --weights " + kData + "/w_3d.pt --inputs " + kData + "/x_codes.pt --out " + dir + "/y.pt");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "cimkit: error: " + kData + "/w_3d.pt: weights must be a 2-D tensor [out, in], got shape [3, 4, 5]\n");
  r = run_cimkit("mvm --weights " + kData + "/w_codes.pt --inputs " + kData + "/w_codes.pt --out " + dir + "/y.pt --integer");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "cimkit: error: " + kData + "/w_codes.pt: inputs (unsigned 8-bit codes): 1521 value(s) are not integer codes in [0, 255] (first: -73.000000)\n");
  r = run_cimkit("mvm --weights " + kData + "/w_codes.pt --inputs " + kData + "/x_codes.pt --out " + dir + "/y.pt --set chip.adc.bitz=4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--set: chip.adc.bitz: unknown key 'bitz' (did you mean 'bits'?)"), std::string::npos) << r.output;
}

TEST(Info, ListAndDescribeComeFromTheRegistry) {
  CliRun r = run_cimkit("list adc");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("impl    linear"), std::string::npos) << r.output;
  r = run_cimkit("describe device.reram");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("temp_coeff_lrs_per_k"), std::string::npos) << r.output;
  r = run_cimkit("describe adc.flsh");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "cimkit: error: unknown adc 'flsh'; known: linear, ideal\n");
  r = run_cimkit("mvm --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("--integer"), std::string::npos);
}

TEST(Cost, JsonTotalsAndLayers) {
  // A zoo network on a preset, every figure as JSON.
  CliRun r = run_cimkit("cost --network resnet18 --arch isaac --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  for (const char* k : {"n_arrays", "n_pes", "n_tiles", "energy_j", "latency_s", "area_m2", "edp_js", "tops_per_w"}) {
    ASSERT_TRUE(j["totals"].contains(k)) << k;
    EXPECT_GT(j["totals"][k].get<double>(), 0.0) << k;
  }
  EXPECT_EQ(j["layers"].size(), 21u);  // 17 convs + 3 projections + fc
  for (const char* k : {"n_arrays", "n_pes", "n_tiles", "energy_j", "latency_s", "area_m2", "edp_js", "tops_per_w"}) {
    EXPECT_TRUE(j["layers"][0].contains(k)) << k;
  }
  EXPECT_EQ(j["layers"][0]["weight_bits"], 16);  // the isaac chip's widths
  EXPECT_FALSE(j["reference"]["sources"].empty());
  // The MNSIM example config with one of MNSIM's layer lists.
  CliRun m = run_cimkit("cost " + std::string(CIMKIT_SOURCE_DIR) + "/configs/examples/mnsim_isaac.yaml --json");
  ASSERT_EQ(m.code, 0) << m.output;
  const auto mj = nlohmann::json::parse(m.output);
  EXPECT_EQ(mj["conventions"], "mnsim");
  EXPECT_EQ(mj["network"], "vgg8");
  EXPECT_EQ(mj["reference"]["chip"]["rows"], 128);
  // The terminal form, and errors that say what is allowed.
  CliRun t = run_cimkit("cost -n lenet5 --input 1x28x28");
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("TOPS/W"), std::string::npos) << t.output;
  CliRun bad = run_cimkit("cost --arch isac");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("isaac"), std::string::npos) << bad.output;
  CliRun badnet = run_cimkit("cost -n resnet19");
  EXPECT_NE(badnet.code, 0);
  EXPECT_NE(badnet.output.find("did you mean 'resnet18'"), std::string::npos) << badnet.output;
}

TEST(Thermal, FloorplanCommand) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "thermal");
  const std::string fp = std::string(CIMKIT_SOURCE_DIR) + "/configs/examples/thermal_hotspot_package.yaml";
  CliRun r = run_cimkit("thermal -f " + fp + " --json --grid-csv " + dir + "/g.csv --heatmap " + dir + "/m.png");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_NEAR(j["heat_out_w"].get<double>(), 44.0, 1e-5);  // every watt leaves through the sink
  EXPECT_EQ(j["blocks"].size(), 16u);
  EXPECT_GT(j["peak_k"].get<double>(), j["mean_k"].get<double>());
  EXPECT_GT(j["mean_k"].get<double>(), 318.15);
  // The hottest block is in the busy 5 W column.
  std::string hottest;
  double t = 0;
  for (const auto& b : j["blocks"])
    if (b["max_k"].get<double>() > t) t = b["max_k"], hottest = b["name"];
  EXPECT_EQ(hottest.substr(2), "2") << hottest;
  EXPECT_FALSE(j["hotspots"].empty());
  std::ifstream csv(dir + "/g.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 64);
  EXPECT_TRUE(std::filesystem::exists(dir + "/m.png"));
  CliRun text = run_cimkit("thermal -f " + fp);
  EXPECT_NE(text.output.find("hotspots"), std::string::npos) << text.output;
  CliRun bad = run_cimkit("thermal -f " + std::string(CIMKIT_SOURCE_DIR) + "/configs/quickstart.yaml");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("quickstart.yaml"), std::string::npos) << bad.output;
  CliRun none = run_cimkit("thermal");
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.output.find("--floorplan"), std::string::npos) << none.output;
}

TEST(Thermal, NetworkOnAChip) {
  // A network's chip from its cost: power on the map = heat out; ambient = 300 K by default,
  // a config knob through --set.
  CliRun r = run_cimkit("thermal -n " + std::string(CIMKIT_SOURCE_DIR) + "/networks/mnsim/vgg8.yaml --arch thermal_quant --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_NEAR(j["heat_out_w"].get<double>(), j["power_on_map_w"].get<double>(), 1e-6 * j["power_on_map_w"].get<double>());
  EXPECT_DOUBLE_EQ(j["ambient_k"].get<double>(), 300.0);
  EXPECT_GT(j["peak_k"].get<double>(), 300.0);
  EXPECT_EQ(j["layers"].size(), 8u);
  EXPECT_EQ(j["grid"]["nx"], 128);
  // Worse cooling (10x the convection resistance) heats the chip more.
  CliRun hot = run_cimkit("thermal -n " + std::string(CIMKIT_SOURCE_DIR) +
                          "/networks/mnsim/vgg8.yaml --arch thermal_quant --json --set thermal.package.r_convec_k_w=1.0");
  ASSERT_EQ(hot.code, 0) << hot.output;
  EXPECT_GT(nlohmann::json::parse(hot.output)["mean_k"].get<double>(), j["mean_k"].get<double>());
}

TEST(Docs, ConfigReferenceIsCurrent) {
  std::ifstream in(kSource + "/docs/config.md");
  ASSERT_TRUE(in) << "docs/config.md is missing: run `make docs`";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(ss.str() == cli::config_reference_markdown())
      << "docs/config.md is stale: run `make docs` to regenerate it from the parameter declarations";
}

TEST(Python, TorchLoadReadsOurFiles) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "Python with torch not installed (Debian: python3-torch)";
  }
  const std::string dir = tmp_dir("python");
  const CliRun r = run_cimkit("mvm --config " + kSource + "/configs/examples/mvm_lossless.yaml --weights " + kData +
                       "/w_codes.pt --inputs " + kData + "/x_codes.pt --out " + dir + "/y.pt --integer");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string py = "import torch; y = torch.load('" + dir + "/y.pt'); e = torch.load('" + kData +
                         "/y_exact.pt'); c = torch.load('" + dir + "/y.counts.pt'); "
                         "assert torch.equal(y, e), 'output differs'; assert int(c['adc_conversions']) == 23520; print('ok')";
  EXPECT_EQ(std::system(("/usr/bin/python3 -c \"" + py + "\"").c_str()), 0);
}
